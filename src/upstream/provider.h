#pragma once
// One Provider per deployment: turns the client's request into the upstream's dialect and
// streams the upstream's raw response bytes (status, then body) into a Sink. Providers are
// built once at start and shared by all threads: Call is thread-safe (per-thread state lives
// in HttpClient::ForThisThread()).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "dialect/shape.h"
#include "dialect/types.h"
#include "upstream/http_client.h"

namespace triage::upstream {

// What one active health check saw.
struct CheckResult {
  bool passed = false;
  int status = 0;     // the HTTP status; 0 when no response arrived
  std::string error;  // why it failed ("" when it passed); free of secrets
};

class Provider {
 public:
  virtual ~Provider() = default;
  // The dialect of the response bytes delivered to the sink.
  virtual dialect::Dialect wire() const = 0;
  // True for the in-process simulator.
  virtual bool simulated() const { return false; }
  // The most stop sequences the upstream takes; 0 for no known limit. OpenAI's own API (and
  // Azure OpenAI) refuse more than 4 with a 400, where vLLM, llama.cpp and Ollama take more.
  virtual size_t max_stop_sequences() const { return 0; }
  // `dropped` (may be null) receives, before anything reaches the sink, the names of the
  // request's parameters that wire() cannot carry, and those the deployment's `request:`
  // section removed or clamped (for x-triage-dropped-params): the request is translated and
  // shaped once per call, and this is the list that made.
  virtual net::awaitable<Status> Call(const dialect::ChatRequest& request, Sink& sink,
                                      CancelHook* cancel, std::vector<std::string>* dropped) = 0;
  // Active health check: GET of the deployment's HealthCheckTarget() with the headers Call
  // sends (auth, API version); a 2xx passes, anything else fails. The body is read and
  // discarded, at most `max_body` bytes. `timeout` bounds the whole check. The simulator is
  // never checked: its Check passes without doing anything.
  virtual net::awaitable<CheckResult> Check(config::Millis timeout, int64_t max_body,
                                            CancelHook* cancel);
};

// One health-check exchange (a GET through this thread's pooled HttpClient), for the HTTP
// providers' Check.
net::awaitable<CheckResult> SendCheck(const Url& url, net::ssl::context* tls,
                                      const Exchange& exchange, config::Millis timeout,
                                      int64_t max_body, CancelHook* cancel);

// Builds the provider of a validated deployment. Reads the API key from the environment
// variable named by api_key_env once, now. `tls`: the TLS context of an https deployment when
// already made (MakeTlsContext of its ca_file and tls_verify), else made here.
Result<std::unique_ptr<Provider>> MakeProvider(const config::Deployment& deployment,
                                               std::shared_ptr<net::ssl::context> tls = nullptr);

// What every HTTP provider needs of its deployment: the parsed base URL, a TLS context for
// https (nullptr for http), and the API key read once from `api_key_env` ("" when unset).
struct Endpoint {
  Url url;
  std::shared_ptr<net::ssl::context> tls;
  std::string key;  // never logged
};
Result<Endpoint> MakeEndpoint(const config::Deployment& deployment,
                              std::shared_ptr<net::ssl::context> tls = nullptr);

// The stop-sequence limit of the OpenAI API itself (4) when `host` is api.openai.com or an
// Azure OpenAI resource (*.openai.azure.com); 0 (no known limit) otherwise.
size_t OpenAIHostMaxStop(std::string_view host);

// The deployment's `request:` section as the dialect writers take it; nullopt without one.
std::optional<dialect::RequestShape> MakeShape(const config::Deployment& deployment);

// Provider constructors (one file each).
Result<std::unique_ptr<Provider>> MakeOpenAIProvider(const config::Deployment& deployment,
                                                     std::shared_ptr<net::ssl::context> tls);
Result<std::unique_ptr<Provider>> MakeAnthropicProvider(const config::Deployment& deployment,
                                                        std::shared_ptr<net::ssl::context> tls);
std::unique_ptr<Provider> MakeSimProvider(const config::Deployment& deployment);

}  // namespace triage::upstream
