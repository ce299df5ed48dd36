// The `sim` provider: an in-process OpenAI-compatible fake with configurable latency, time to
// first token, tokens per second, output length and error rate. Its answers say they are
// simulated (text prefix, system_fingerprint "triage-sim"). Used by `triage demo` and tests.
// It answers OpenAI's `n` with n choices, and a request with tools the way a model in a tool
// loop does: it calls a tool (arguments sampled from the tool's JSON schema) unless the
// conversation ends with a tool result or tool_choice says none.
#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <random>
#include <string>
#include <vector>

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
  int64_t out_tokens = 0;  // of all choices together
  std::string finish;
  int choices = 1;  // OpenAI `n`
  // The tool call every choice makes, when it makes one: name and JSON arguments.
  std::string tool_name, tool_args;
  bool tool_call() const { return !tool_name.empty(); }
};

// A value of the type a JSON schema asks for: the first `enum` value, "sample", 1, 1.5, true,
// [] or an object of sampled properties.
json SampleValue(const json& schema, int depth);
json SampleArgs(const json& schema, int depth) {
  json out = json::object();
  if (!schema.is_object() || depth > 8) return out;
  auto props = schema.find("properties");
  if (props == schema.end() || !props->is_object()) return out;
  for (const auto& [k, v] : props->items()) out[k] = SampleValue(v, depth + 1);
  return out;
}
json SampleValue(const json& schema, int depth) {
  if (!schema.is_object()) return "sample";
  if (auto e = schema.find("enum"); e != schema.end() && e->is_array() && !e->empty())
    return e->front();
  auto t = schema.find("type");
  const std::string type = t != schema.end() && t->is_string() ? t->get<std::string>() : "";
  if (type == "integer") return 1;
  if (type == "number") return 1.5;
  if (type == "boolean") return true;
  if (type == "array") return json::array();
  if (type == "object") return SampleArgs(schema, depth);
  if (type == "null") return nullptr;
  return "sample";
}

// The tool the simulated model calls, or nullptr when it answers in text: the named one, else
// the first function tool, unless tool_choice is none or the last message is a tool result
// (OpenAI `tool`/`function` messages; Anthropic user turns with tool_result blocks). In the
// client's dialect: the sim reads the request as the client sent it.
const json* ToolToCall(const dialect::ChatRequest& r, std::string* name) {
  const json& b = r.body;
  auto tools = b.find("tools");
  if (tools == b.end() || !tools->is_array() || tools->empty()) return nullptr;
  const bool openai = r.dialect == dialect::Dialect::kOpenAI;
  std::string wanted;
  bool forced = false;
  if (auto tc = b.find("tool_choice"); tc != b.end() && !tc->is_null()) {
    if (tc->is_string()) {
      if (*tc == "none") return nullptr;
      forced = *tc == "required";
    } else if (tc->is_object()) {
      const std::string type = tc->value("type", "");
      if (type == "none") return nullptr;
      forced = type != "auto";
      if (openai) {
        if (auto f = tc->find("function"); f != tc->end() && f->is_object())
          wanted = f->value("name", "");
      } else {
        wanted = tc->value("name", "");
      }
    }
  }
  if (!forced) {
    auto msgs = b.find("messages");
    if (msgs != b.end() && msgs->is_array() && !msgs->empty()) {
      const json& last = msgs->back();
      const std::string role = last.value("role", "");
      if (role == "tool" || role == "function") return nullptr;
      if (auto c = last.find("content"); !openai && c != last.end() && c->is_array())
        for (const auto& block : *c)
          if (block.is_object() && block.value("type", "") == "tool_result") return nullptr;
    }
  }
  for (const auto& t : *tools) {
    if (!t.is_object()) continue;
    const json* fn = &t;
    if (openai) {
      auto f = t.find("function");
      if (t.value("type", "") != "function" || f == t.end() || !f->is_object()) continue;
      fn = &*f;
    } else if (!t.contains("input_schema")) {
      continue;  // a server tool (web search, ...): not the model's to call
    }
    const std::string n = fn->value("name", "");
    if (n.empty() || (!wanted.empty() && n != wanted)) continue;
    *name = n;
    auto schema = fn->find(openai ? "parameters" : "input_schema");
    return schema != fn->end() ? &*schema : fn;
  }
  return nullptr;
}

// Fills reply.tool_name / tool_args when the simulated model calls a tool.
void PlanToolCall(const dialect::ChatRequest& r, SimReply* reply) {
  std::string name;
  const json* schema = ToolToCall(r, &name);
  if (schema == nullptr) return;
  reply->tool_name = name;
  reply->tool_args = SampleArgs(*schema, 0).dump();
}

json ToolCallJson(const SimReply& r, int choice, bool with_args) {
  json fn = {{"name", r.tool_name}, {"arguments", with_args ? r.tool_args : std::string()}};
  return {{"index", 0},
          {"id", "call_" + r.id.substr(r.id.find('-') + 1) + "_" + std::to_string(choice)},
          {"type", "function"},
          {"function", std::move(fn)}};
}

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

// texts: one per choice (unused for a tool call).
std::string CompletionBody(const SimReply& r, const std::vector<std::string>& texts) {
  json choices = json::array();
  for (int i = 0; i < r.choices; ++i) {
    json message = {{"role", "assistant"}, {"content", nullptr}};
    if (r.tool_call()) {
      json call = ToolCallJson(r, i, true);
      call.erase("index");
      message["tool_calls"] = json::array({std::move(call)});
      message["refusal"] = nullptr;
    } else {
      message["content"] = texts[i];
    }
    choices.push_back({{"index", i},
                       {"message", std::move(message)},
                       {"logprobs", nullptr},
                       {"finish_reason", r.finish}});
  }
  json body = {
      {"id", r.id},           {"object", "chat.completion"},        {"created", r.created},
      {"model", r.model},     {"system_fingerprint", "triage-sim"}, {"choices", std::move(choices)},
      {"usage", UsageJson(r)}};
  return body.dump();
}

// One SSE frame for a tool call of choice `choice`: its head (id, type, name, empty arguments)
// or an argument fragment.
std::string ToolFrame(const SimReply& r, int choice, bool role, const std::string* fragment) {
  json delta = json::object();
  if (role) {
    delta["role"] = "assistant";
    delta["content"] = nullptr;
  }
  json call = fragment ? json{{"index", 0}, {"function", {{"arguments", *fragment}}}}
                       : ToolCallJson(r, choice, false);
  delta["tool_calls"] = json::array({std::move(call)});
  json c = {
      {"id", r.id},
      {"object", "chat.completion.chunk"},
      {"created", r.created},
      {"model", r.model},
      {"system_fingerprint", "triage-sim"},
      {"choices",
       {{{"index", choice}, {"delta", delta}, {"logprobs", nullptr}, {"finish_reason", nullptr}}}}};
  return dialect::SseFrame(c.dump());
}

// One SSE frame of choice `choice`: a chunk with `content` (role chunk when first), or the finish
// chunk.
std::string ChunkFrame(const SimReply& r, const std::string* content, bool role, bool finish,
                       int choice = 0) {
  json delta = json::object();
  if (role) delta["role"] = "assistant";
  if (content) delta["content"] = *content;
  json c = {{"id", r.id},
            {"object", "chat.completion.chunk"},
            {"created", r.created},
            {"model", r.model},
            {"system_fingerprint", "triage-sim"},
            {"choices",
             {{{"index", choice},
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
    PlanToolCall(request, &reply);
    if (auto it = request.body.find("n"); request.dialect == dialect::Dialect::kOpenAI &&
                                          it != request.body.end() && it->is_number_integer())
      reply.choices = static_cast<int>(std::clamp<int64_t>(it->get<int64_t>(), 1, 128));
    if (reply.tool_call()) {
      out_tokens = std::max<int64_t>(1, (static_cast<int64_t>(reply.tool_args.size()) + 3) / 4);
      truncated = false;
    }
    reply.in_tokens = EstimatePromptTokens(request);
    reply.out_tokens = out_tokens * reply.choices;
    reply.id = "chatcmpl-sim" + std::to_string(n);
    reply.model = d_.model;
    reply.created = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    reply.finish = reply.tool_call() ? "tool_calls" : truncated ? "length" : "stop";
    // Choice c's i-th word; choices differ by where they start in the word list.
    auto word = [&](int64_t i, int c) -> std::string {
      if (i == 0) return "[simulated " + d_.catalog + "]";
      return std::string(" ") + kWords[(n + i + 7 * c) % kWordCount];
    };

    if (!request.stream || fail) {
      if (!co_await sleep(d_.sim.latency)) co_return cancelled();
      if (fail) {
        const Head head = JsonHead(500);
        if (!co_await sink.on_head(head)) co_return cancelled();
        co_await sink.on_data(ErrorBody());
        co_return Ok{};
      }
      std::vector<std::string> texts(reply.choices);
      if (!reply.tool_call())
        for (int c = 0; c < reply.choices; ++c)
          for (int64_t i = 0; i < out_tokens; ++i) texts[c] += word(i, c);
      const Head head = JsonHead(200);
      if (!co_await sink.on_head(head)) co_return cancelled();
      if (!co_await sink.on_data(CompletionBody(reply, texts))) co_return cancelled();
      co_return Ok{};
    }

    if (!co_await sleep(d_.sim.ttft)) co_return cancelled();
    const Head head = SseHead();
    if (!co_await sink.on_head(head)) co_return cancelled();
    const auto per_token = std::chrono::nanoseconds(
        d_.sim.tokens_per_second > 0 ? static_cast<int64_t>(1e9 / d_.sim.tokens_per_second) : 0);
    const std::string empty;
    if (reply.tool_call()) {
      // The call's head, then its arguments in two fragments, for every choice.
      const std::string& args = reply.tool_args;
      const std::string first = args.substr(0, args.size() / 2),
                        second = args.substr(args.size() / 2);
      for (int c = 0; c < reply.choices; ++c) {
        if (!co_await sink.on_data(ToolFrame(reply, c, true, nullptr))) co_return cancelled();
        if (!co_await sleep(per_token)) co_return cancelled();
        if (!co_await sink.on_data(ToolFrame(reply, c, false, &first))) co_return cancelled();
        if (!co_await sink.on_data(ToolFrame(reply, c, false, &second))) co_return cancelled();
      }
    } else {
      for (int c = 0; c < reply.choices; ++c)
        if (!co_await sink.on_data(ChunkFrame(reply, &empty, true, false, c)))
          co_return cancelled();
      for (int64_t i = 0; i < out_tokens; ++i) {
        if (i > 0 && !co_await sleep(per_token)) co_return cancelled();
        for (int c = 0; c < reply.choices; ++c) {
          std::string w = word(i, c);
          if (!co_await sink.on_data(ChunkFrame(reply, &w, false, false, c))) co_return cancelled();
        }
      }
    }
    // Like an OpenAI upstream asked for stream_options.include_usage (triage always asks).
    std::string tail;
    for (int c = 0; c < reply.choices; ++c) tail += ChunkFrame(reply, nullptr, false, true, c);
    tail += UsageFrame(reply) + dialect::SseFrame("[DONE]");
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
