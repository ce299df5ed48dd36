// The `sim` provider: an in-process OpenAI-compatible fake with configurable latency, time to
// first token, tokens per second, output length and error rate. Its answers say they are
// simulated (text prefix, system_fingerprint "triage-sim"). Used by `triage demo` and tests.
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <random>

#include "dialect/sse.h"
#include "dialect/translate.h"
#include "upstream/provider.h"

namespace triage::upstream {
namespace {

using nlohmann::json;

constexpr const char* kWords[] = {
    "the",  "gateway", "routes", "each",    "request", "to",    "the",      "cheapest",
    "tier", "that",    "is",     "good",    "enough",  "while", "every",    "token",
    "and",  "cent",    "is",     "counted", "against", "the",   "frontier", "baseline",
    "so",   "teams",   "keep",   "quality", "and",     "spend", "less",     "money"};
constexpr size_t kWordCount = sizeof(kWords) / sizeof(kWords[0]);

int64_t EstimatePromptTokens(const dialect::ChatRequest& r) {
  return (r.prompt_chars + 3) / 4 + 3 * r.message_count + 3;
}

// JSON is built in plain functions: g++ 12 miscompiles brace-initialised JSON with string
// literals inside coroutines ("array used as initializer").
struct SimReply {
  std::string id;
  std::string model;
  int64_t created = 0;
  int64_t in_tokens = 0;
  int64_t out_tokens = 0;
  std::string finish;
};

json UsageJson(const SimReply& r) {
  return {{"prompt_tokens", r.in_tokens},
          {"completion_tokens", r.out_tokens},
          {"total_tokens", r.in_tokens + r.out_tokens}};
}

std::string ErrorBody() {
  json err = {{"error",
               {{"message", "simulated upstream failure (sim.error_rate)"},
                {"type", "server_error"},
                {"param", nullptr},
                {"code", nullptr}}}};
  return err.dump();
}

std::string CompletionBody(const SimReply& r, const std::string& text) {
  json body = {{"id", r.id},
               {"object", "chat.completion"},
               {"created", r.created},
               {"model", r.model},
               {"system_fingerprint", "triage-sim"},
               {"choices",
                {{{"index", 0},
                  {"message", {{"role", "assistant"}, {"content", text}}},
                  {"logprobs", nullptr},
                  {"finish_reason", r.finish}}}},
               {"usage", UsageJson(r)}};
  return body.dump();
}

// One SSE frame: a chunk with `content` (role chunk when first), or the finish chunk.
std::string ChunkFrame(const SimReply& r, const std::string* content, bool role, bool finish) {
  json delta = json::object();
  if (role) delta["role"] = "assistant";
  if (content) delta["content"] = *content;
  json c = {{"id", r.id},
            {"object", "chat.completion.chunk"},
            {"created", r.created},
            {"model", r.model},
            {"system_fingerprint", "triage-sim"},
            {"choices",
             {{{"index", 0},
               {"delta", delta},
               {"logprobs", nullptr},
               {"finish_reason", finish ? json(r.finish) : json(nullptr)}}}}};
  return dialect::SseFrame(c.dump());
}

// Named values, never temporaries, go into co_await expressions: g++ 12 frees temporaries
// of class type there twice.
Head JsonHead(int status) {
  Head h;
  h.status = status;
  h.content_type = "application/json";
  return h;
}

Head SseHead() {
  Head h;
  h.status = 200;
  h.content_type = "text/event-stream";
  return h;
}

std::string UsageFrame(const SimReply& r) {
  json u = {
      {"id", r.id},           {"object", "chat.completion.chunk"},  {"created", r.created},
      {"model", r.model},     {"system_fingerprint", "triage-sim"}, {"choices", json::array()},
      {"usage", UsageJson(r)}};
  return dialect::SseFrame(u.dump());
}

class SimProvider final : public Provider {
 public:
  explicit SimProvider(const config::Deployment& d) : d_(d) {}
  dialect::Dialect wire() const override { return dialect::Dialect::kOpenAI; }
  bool simulated() const override { return true; }

  net::awaitable<Status> Call(const dialect::ChatRequest& request, Sink& sink, CancelHook* cancel,
                              std::vector<std::string>* dropped) override {
    // Nothing is sent anywhere, but the answer is as an OpenAI upstream's: report what such an
    // upstream would not have received.
    if (dropped && request.dialect != dialect::Dialect::kOpenAI)
      (void)dialect::ToOpenAIRequest(request, d_.model, dropped);
    auto ex = co_await net::this_coro::executor;
    net::steady_timer timer(ex);
    if (cancel) cancel->Set([&timer] { timer.cancel(); });
    auto sleep = [&](std::chrono::nanoseconds d) -> net::awaitable<bool> {
      if (d.count() <= 0) co_return !(cancel && cancel->fired());
      timer.expires_after(d);
      auto [ec] = co_await timer.async_wait(net::as_tuple(net::use_awaitable));
      co_return !ec && !(cancel && cancel->fired());
    };
    auto cancelled = [] {
      return Error::Make(ErrorKind::kUpstream, "cancelled", "upstream call cancelled");
    };
    const uint64_t n = counter_.fetch_add(1, std::memory_order_relaxed);
    std::mt19937_64 rng(d_.sim.seed * 0x9E3779B97F4A7C15ULL + n);
    const bool fail = std::uniform_real_distribution<double>(0, 1)(rng) < d_.sim.error_rate;

    int64_t out_tokens = d_.sim.output_tokens;
    bool truncated = false;
    static constexpr std::array<const char*, 2> kLimits = {"max_completion_tokens", "max_tokens"};
    for (const char* k : kLimits) {
      auto it = request.body.find(k);
      if (it != request.body.end() && it->is_number_integer() && it->get<int64_t>() > 0 &&
          it->get<int64_t>() < out_tokens) {
        out_tokens = it->get<int64_t>();
        truncated = true;
      }
    }
    SimReply reply;
    reply.in_tokens = EstimatePromptTokens(request);
    reply.out_tokens = out_tokens;
    reply.id = "chatcmpl-sim" + std::to_string(n);
    reply.model = d_.model;
    reply.created = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    reply.finish = truncated ? "length" : "stop";
    auto word = [&](int64_t i) -> std::string {
      if (i == 0) return "[simulated " + d_.catalog + "]";
      return std::string(" ") + kWords[(n + i) % kWordCount];
    };

    if (!request.stream || fail) {
      if (!co_await sleep(d_.sim.latency)) co_return cancelled();
      if (fail) {
        const Head head = JsonHead(500);
        if (!co_await sink.on_head(head)) co_return cancelled();
        co_await sink.on_data(ErrorBody());
        co_return Ok{};
      }
      std::string text;
      for (int64_t i = 0; i < out_tokens; ++i) text += word(i);
      const Head head = JsonHead(200);
      if (!co_await sink.on_head(head)) co_return cancelled();
      if (!co_await sink.on_data(CompletionBody(reply, text))) co_return cancelled();
      co_return Ok{};
    }

    if (!co_await sleep(d_.sim.ttft)) co_return cancelled();
    const Head head = SseHead();
    if (!co_await sink.on_head(head)) co_return cancelled();
    const auto per_token = std::chrono::nanoseconds(
        d_.sim.tokens_per_second > 0 ? static_cast<int64_t>(1e9 / d_.sim.tokens_per_second) : 0);
    const std::string empty;
    if (!co_await sink.on_data(ChunkFrame(reply, &empty, true, false))) co_return cancelled();
    for (int64_t i = 0; i < out_tokens; ++i) {
      if (i > 0 && !co_await sleep(per_token)) co_return cancelled();
      std::string w = word(i);
      if (!co_await sink.on_data(ChunkFrame(reply, &w, false, false))) co_return cancelled();
    }
    // Like an OpenAI upstream asked for stream_options.include_usage (triage always asks).
    std::string tail =
        ChunkFrame(reply, nullptr, false, true) + UsageFrame(reply) + dialect::SseFrame("[DONE]");
    if (!co_await sink.on_data(tail)) co_return cancelled();
    co_return Ok{};
  }

 private:
  config::Deployment d_;
  std::atomic<uint64_t> counter_{0};
};

}  // namespace

std::unique_ptr<Provider> MakeSimProvider(const config::Deployment& d) {
  return std::make_unique<SimProvider>(d);
}

}  // namespace triage::upstream
