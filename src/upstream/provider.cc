#include "upstream/provider.h"

#include <cctype>
#include <cstdlib>

#include "common/secrets.h"

namespace triage::upstream {

Result<Endpoint> MakeEndpoint(const config::Deployment& d, std::shared_ptr<net::ssl::context> tls) {
  auto url = ParseUrl(d.base_url);
  if (!url) {
    Error e = url.error();
    e.message = "deployment " + d.name + ": " + e.message;
    return e;
  }
  Endpoint ep;
  ep.url = std::move(*url);
  if (ep.url.tls && tls) {
    ep.tls = std::move(tls);
  } else if (ep.url.tls) {
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

size_t OpenAIHostMaxStop(std::string_view host) {
  std::string h(host);
  for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (h.ends_with('.')) h.pop_back();  // a fully qualified name
  return h == "api.openai.com" || h.ends_with(".openai.azure.com") ? 4 : 0;
}

std::optional<dialect::RequestShape> MakeShape(const config::Deployment& d) {
  if (!d.request) return std::nullopt;
  const config::RequestShaping& r = *d.request;
  // Values a provider takes in the body (a key, a token): masked by value wherever an upstream
  // echoes them, as the api keys are.
  for (const std::string& secret : r.ExtraBodySecrets()) RegisterSecret(secret);
  dialect::RequestShape s;
  s.drop_params = r.drop_params;
  s.extra_body = r.extra_body;
  if (r.max_tokens_field == "max_tokens")
    s.limit_field = dialect::RequestShape::LimitField::kMaxTokens;
  else if (r.max_tokens_field == "max_completion_tokens")
    s.limit_field = dialect::RequestShape::LimitField::kMaxCompletionTokens;
  s.max_output_tokens = r.max_output_tokens;
  return s;
}

net::awaitable<CheckResult> Provider::Check(config::Millis, int64_t, CancelHook*) {
  CheckResult r;
  r.passed = true;
  co_return r;
}

net::awaitable<CheckResult> SendCheck(const Url& url, net::ssl::context* tls,
                                      const Exchange& exchange, config::Millis timeout,
                                      int64_t max_body, CancelHook* cancel) {
  config::Timeouts t;
  t.connect = timeout;
  t.first_byte = timeout;
  t.idle = timeout;
  t.total = timeout;
  CheckResult r;
  int64_t received = 0;
  bool too_large = false;
  Sink sink;
  sink.on_head = [&r](const Head& head) -> net::awaitable<bool> {
    r.status = head.status;
    co_return true;
  };
  // Read to the end (so a kept-alive connection goes back to the pool), keep nothing.
  sink.on_data = [&received, &too_large, max_body](std::string_view data) -> net::awaitable<bool> {
    received += static_cast<int64_t>(data.size());
    if (received > max_body) too_large = true;
    co_return !too_large;
  };
  Status st = co_await HttpClient::ForThisThread().Send(url, tls, exchange, t, sink, cancel);
  if (too_large) {
    r.error = "response larger than " + std::to_string(max_body) + " bytes";
  } else if (!st.ok()) {
    r.error = MaskSecrets(st.error().message);
  } else if (r.status < 200 || r.status > 299) {
    r.error = "HTTP " + std::to_string(r.status);
  } else {
    r.passed = true;
  }
  co_return r;
}

Result<std::unique_ptr<Provider>> MakeProvider(const config::Deployment& deployment,
                                               std::shared_ptr<net::ssl::context> tls) {
  if (deployment.provider == "sim") return MakeSimProvider(deployment);
  if (deployment.provider == "openai") return MakeOpenAIProvider(deployment, std::move(tls));
  if (deployment.provider == "anthropic") return MakeAnthropicProvider(deployment, std::move(tls));
  return Error::Make(ErrorKind::kInternal, "bad_provider",
                     "deployment " + deployment.name + ": provider '" + deployment.provider +
                         "' is not supported by this build");
}

}  // namespace triage::upstream
