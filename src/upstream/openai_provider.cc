// Provider for any OpenAI-compatible server (vLLM, llama.cpp server, Ollama, SGLang, TGI,
// Together, Fireworks, Groq, DeepSeek, OpenAI): POST {base_url}/chat/completions.
#include "dialect/translate.h"
#include "upstream/provider.h"

namespace triage::upstream {
namespace {

class OpenAIProvider final : public Provider {
 public:
  OpenAIProvider(const config::Deployment& d, Url url, std::shared_ptr<net::ssl::context> tls,
                 std::string auth)
      : d_(d),
        shape_(MakeShape(d)),
        url_(std::move(url)),
        tls_(std::move(tls)),
        auth_(std::move(auth)) {
    target_ = url_.path + "/chat/completions";
    max_stop_ = OpenAIHostMaxStop(url_.host);
    check_target_ = d_.HealthCheckTarget();
  }

  dialect::Dialect wire() const override { return dialect::Dialect::kOpenAI; }
  size_t max_stop_sequences() const override { return max_stop_; }

  net::awaitable<Status> Call(const dialect::ChatRequest& request, Sink& sink, CancelHook* cancel,
                              std::vector<std::string>* dropped) override {
    Exchange ex;
    ex.target = target_;
    // Same dialect: passed through with `model` replaced; from Anthropic: translated. Streams
    // always ask for usage (accounting needs it; the pipeline strips the usage chunk again when
    // the client did not ask for it).
    ex.body = dialect::OpenAIRequestBody(request, d_.model, dropped, shape_ ? &*shape_ : nullptr);
    ex.headers.emplace_back("accept", request.stream ? "text/event-stream" : "application/json");
    if (!auth_.empty()) ex.headers.emplace_back("authorization", auth_);
    Status st =
        co_await HttpClient::ForThisThread().Send(url_, tls_.get(), ex, d_.timeouts, sink, cancel);
    co_return st;
  }

  net::awaitable<CheckResult> Check(config::Millis timeout, int64_t max_body,
                                    CancelHook* cancel) override {
    Exchange ex;
    ex.method = "GET";
    ex.target = check_target_;
    ex.headers.emplace_back("accept", "application/json");
    if (!auth_.empty()) ex.headers.emplace_back("authorization", auth_);
    CheckResult r = co_await SendCheck(url_, tls_.get(), ex, timeout, max_body, cancel);
    co_return r;
  }

 private:
  config::Deployment d_;
  std::optional<dialect::RequestShape> shape_;  // the `request:` section; nullopt: none
  Url url_;
  std::shared_ptr<net::ssl::context> tls_;
  std::string auth_;  // "Bearer <key>"; never logged
  std::string target_;
  std::string check_target_;  // GET for health checks
  size_t max_stop_ = 0;       // OpenAIHostMaxStop of the host
};

}  // namespace

Result<std::unique_ptr<Provider>> MakeOpenAIProvider(const config::Deployment& d,
                                                     std::shared_ptr<net::ssl::context> tls) {
  auto ep = MakeEndpoint(d, std::move(tls));
  if (!ep) return ep.error();
  std::string auth = ep->key.empty() ? std::string() : "Bearer " + ep->key;
  return std::unique_ptr<Provider>(
      new OpenAIProvider(d, std::move(ep->url), std::move(ep->tls), std::move(auth)));
}

}  // namespace triage::upstream
