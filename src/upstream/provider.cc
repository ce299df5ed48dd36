#include "upstream/provider.h"

#include <cstdlib>

#include "common/secrets.h"

namespace triage::upstream {

Result<Endpoint> MakeEndpoint(const config::Deployment& d) {
  auto url = ParseUrl(d.base_url);
  if (!url) {
    Error e = url.error();
    e.message = "deployment " + d.name + ": " + e.message;
    return e;
  }
  Endpoint ep;
  ep.url = std::move(*url);
  if (ep.url.tls) {
    auto ctx = MakeTlsContext(d.ca_file, d.tls_verify);
    if (!ctx) return ctx.error();
    ep.tls = *ctx;
  }
  if (!d.api_key_env.empty()) {
    const char* key = std::getenv(d.api_key_env.c_str());
    if (key) ep.key = key;
    RegisterSecret(ep.key);  // masked by value in every error, log line and ledger row
  }
  return ep;
}

Result<std::unique_ptr<Provider>> MakeProvider(const config::Deployment& deployment) {
  if (deployment.provider == "sim") return MakeSimProvider(deployment);
  if (deployment.provider == "openai") return MakeOpenAIProvider(deployment);
  if (deployment.provider == "anthropic") return MakeAnthropicProvider(deployment);
  return Error::Make(ErrorKind::kInternal, "bad_provider",
                     "deployment " + deployment.name + ": provider '" + deployment.provider +
                         "' is not supported by this build");
}

}  // namespace triage::upstream
