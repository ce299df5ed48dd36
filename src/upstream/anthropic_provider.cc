// Provider for the Anthropic Messages API: POST {base_url}/messages with x-api-key and
// anthropic-version. Requests from OpenAI clients are translated; Anthropic ones pass through.
#include "dialect/translate.h"
#include "upstream/provider.h"

namespace triage::upstream {
namespace {

// The API version triage speaks; the Messages API has been stable under it.
constexpr const char* kAnthropicVersion = "2023-06-01";

class AnthropicProvider final : public Provider {
 public:
  AnthropicProvider(const config::Deployment& d, Url url, std::shared_ptr<net::ssl::context> tls,
                    std::string key)
      : d_(d),
        shape_(MakeShape(d)),
        url_(std::move(url)),
        tls_(std::move(tls)),
        key_(std::move(key)) {
    target_ = url_.path + "/messages";
    check_target_ = d_.HealthCheckTarget();
  }

  dialect::Dialect wire() const override { return dialect::Dialect::kAnthropic; }

  net::awaitable<Status> Call(const dialect::ChatRequest& request, Sink& sink, CancelHook* cancel,
                              std::vector<std::string>* dropped) override {
    Exchange ex;
    ex.target = target_;
    ex.body =
        dialect::AnthropicRequestBody(request, d_.model, dropped, shape_ ? &*shape_ : nullptr);
    ex.headers.emplace_back("anthropic-version", kAnthropicVersion);
    ex.headers.emplace_back("accept", request.stream ? "text/event-stream" : "application/json");
    if (!key_.empty()) ex.headers.emplace_back("x-api-key", key_);
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
    ex.headers.emplace_back("anthropic-version", kAnthropicVersion);
    if (!key_.empty()) ex.headers.emplace_back("x-api-key", key_);
    CheckResult r = co_await SendCheck(url_, tls_.get(), ex, timeout, max_body, cancel);
    co_return r;
  }

 private:
  config::Deployment d_;
  std::optional<dialect::RequestShape> shape_;  // the `request:` section; nullopt: none
  Url url_;
  std::shared_ptr<net::ssl::context> tls_;
  std::string key_;  // never logged
  std::string target_;
  std::string check_target_;  // GET for health checks
};

}  // namespace

Result<std::unique_ptr<Provider>> MakeAnthropicProvider(const config::Deployment& d,
                                                        std::shared_ptr<net::ssl::context> tls) {
  auto ep = MakeEndpoint(d, std::move(tls));
  if (!ep) return ep.error();
  std::string auth = ep->key;
  return std::unique_ptr<Provider>(
      new AnthropicProvider(d, std::move(ep->url), std::move(ep->tls), std::move(auth)));
}

}  // namespace triage::upstream
