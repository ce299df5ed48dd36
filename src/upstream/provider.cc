#include "upstream/provider.h"

namespace triage::upstream {

Result<std::unique_ptr<Provider>> MakeProvider(const config::Deployment& deployment) {
  if (deployment.provider == "sim") return MakeSimProvider(deployment);
  if (deployment.provider == "openai") return MakeOpenAIProvider(deployment);
  if (deployment.provider == "anthropic") return MakeAnthropicProvider(deployment);
  return Error::Make(ErrorKind::kInternal, "bad_provider",
                     "deployment " + deployment.name + ": provider '" + deployment.provider +
                         "' is not supported by this build");
}

}  // namespace triage::upstream
