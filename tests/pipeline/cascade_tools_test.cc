// The live cascade's structural check of tool calls (routing.cascade_tool_calls): extracting
// the calls of a held answer in both dialects, streamed or not, checking them against the
// request, the decision, and the whole cascade with sim deployments that call tools.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "dialect/anthropic.h"
#include "dialect/openai.h"
#include "pipeline/cascade.h"
#include "pipeline/gateway.h"
#include "recording_writer.h"

namespace triage::pipeline {
namespace {

namespace net = boost::asio;
using dialect::Dialect;
using nlohmann::json;

// SSE frames of these JSON events, each as one `data:` frame (Anthropic's with its event name).
std::string Sse(const std::vector<json>& events, bool done = true) {
  std::string out;
  for (const auto& e : events) {
    if (e.contains("type")) out += "event: " + e["type"].get<std::string>() + "\n";
    out += "data: " + e.dump() + "\n\n";
  }
  if (done) out += "data: [DONE]\n\n";
  return out;
}

json OpenAIChunk(size_t choice, json delta, json finish = nullptr) {
  return {
      {"object", "chat.completion.chunk"},
      {"choices", {{{"index", choice}, {"delta", std::move(delta)}, {"finish_reason", finish}}}}};
}

// A tool-call argument fragment of an OpenAI stream.
json ArgsDelta(size_t index, const std::string& fragment) {
  return {{"tool_calls", {{{"index", index}, {"function", {{"arguments", fragment}}}}}}};
}
json CallHead(size_t index, const std::string& id, const std::string& name) {
  return {{"tool_calls",
           {{{"index", index},
             {"id", id},
             {"type", "function"},
             {"function", {{"name", name}, {"arguments", ""}}}}}}};
}

std::vector<std::pair<std::string, std::string>> Calls(const AnswerChoice& c) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& t : c.tool_calls) out.emplace_back(t.name, t.arguments);
  return out;
}
using CallList = std::vector<std::pair<std::string, std::string>>;

TEST(AnswerChoices, OpenAIToolCallsNotStreamed) {
  const auto choices = AnswerChoices(Dialect::kOpenAI, false, R"({"choices":[
    {"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
      {"id":"a","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}},
      {"id":"b","type":"function","function":{"name":"time","arguments":""}}]},
     "finish_reason":"tool_calls"},
    {"index":1,"message":{"role":"assistant","content":"Sunny."},"finish_reason":"stop"}]})");
  ASSERT_EQ(choices.size(), 2u);
  EXPECT_EQ(choices[0].text, "");
  EXPECT_EQ(Calls(choices[0]), (CallList{{"weather", R"({"city":"Paris"})"}, {"time", ""}}));
  EXPECT_FALSE(choices[0].cut);
  EXPECT_EQ(choices[1].text, "Sunny.");
  EXPECT_TRUE(choices[1].tool_calls.empty());
}

TEST(AnswerChoices, OpenAIStreamAssemblesFragmentsByIndexAndChoice) {
  // Two calls of choice 0 and one of choice 1, interleaved, arguments split mid-token
  // (inside a key, inside a string, between an escape and its character).
  const std::string body = Sse({
      OpenAIChunk(0, {{"role", "assistant"}, {"content", nullptr}}),
      OpenAIChunk(0, CallHead(0, "a", "weather")),
      OpenAIChunk(1, CallHead(0, "c", "time")),
      OpenAIChunk(0, ArgsDelta(0, "{\"ci")),
      OpenAIChunk(0, CallHead(1, "b", "time")),
      OpenAIChunk(1, ArgsDelta(0, "{\"tz\":\"Europe")),
      OpenAIChunk(0, ArgsDelta(0, "ty\":\"Pa\\")),
      OpenAIChunk(0, ArgsDelta(1, "{}")),
      OpenAIChunk(0, ArgsDelta(0, "\"ris\"}")),
      OpenAIChunk(1, ArgsDelta(0, "/Paris\"}")),
      OpenAIChunk(0, json::object(), "tool_calls"),
      OpenAIChunk(1, json::object(), "tool_calls"),
  });
  const auto choices = AnswerChoices(Dialect::kOpenAI, true, body);
  ASSERT_EQ(choices.size(), 2u);
  EXPECT_EQ(Calls(choices[0]), (CallList{{"weather", "{\"city\":\"Pa\\\"ris\"}"}, {"time", "{}"}}));
  EXPECT_EQ(Calls(choices[1]), (CallList{{"time", R"({"tz":"Europe/Paris"})"}}));
  EXPECT_TRUE(json::parse(choices[0].tool_calls[0].arguments).is_object());
}

// OpenAI-compatible servers that stream each parallel call whole, in its own chunk, with its own
// id but no `index` (Gemini's OpenAI-compatible API), or all at index 0 (some gateways in front
// of it): a head with another id than the call at that index is a new call, not a fragment of
// it. Fragments without an id, or repeating the call's id, still continue it.
TEST(AnswerChoices, OpenAIStreamParallelCallsWithoutDistinctIndexes) {
  auto whole = [](const char* id, const char* name, const char* args, bool indexed) {
    json tc = {
        {"id", id}, {"type", "function"}, {"function", {{"name", name}, {"arguments", args}}}};
    if (indexed) tc["index"] = 0;
    return json{{"role", "assistant"}, {"tool_calls", json::array({tc})}};
  };
  for (bool indexed : {false, true}) {
    const auto choices = AnswerChoices(
        Dialect::kOpenAI, true,
        Sse({OpenAIChunk(0, whole("function-call-1", "weather", "{\"city\":\"Paris\"}", indexed)),
             OpenAIChunk(0, whole("function-call-2", "time", "{}", indexed)),
             OpenAIChunk(0, json::object(), "stop")}));
    ASSERT_EQ(choices.size(), 1u);
    EXPECT_EQ(Calls(choices[0]), (CallList{{"weather", R"({"city":"Paris"})"}, {"time", "{}"}}))
        << "indexed " << indexed;
  }
  // Indexless fragments of one call: the head with its id, then arguments without one, then a
  // fragment repeating the same id and name.
  json head = {
      {"id", "x1"}, {"type", "function"}, {"function", {{"name", "weather"}, {"arguments", ""}}}};
  json part = {{"function", {{"arguments", "{\"city\":"}}}};
  json same = {{"id", "x1"}, {"function", {{"name", "weather"}, {"arguments", "\"Paris\"}"}}}};
  const auto one = AnswerChoices(
      Dialect::kOpenAI, true,
      Sse({OpenAIChunk(0, {{"tool_calls", {head}}}), OpenAIChunk(0, {{"tool_calls", {part}}}),
           OpenAIChunk(0, {{"tool_calls", {same}}})}));
  EXPECT_EQ(Calls(one[0]), (CallList{{"weather", R"({"city":"Paris"})"}}));
}

TEST(AnswerChoices, OpenAIStreamCutAtTheTokenLimit) {
  const auto choices = AnswerChoices(Dialect::kOpenAI, true,
                                     Sse({OpenAIChunk(0, CallHead(0, "a", "weather")),
                                          OpenAIChunk(0, ArgsDelta(0, "{\"city\":\"Pa")),
                                          OpenAIChunk(0, json::object(), "length")}));
  ASSERT_EQ(choices.size(), 1u);
  EXPECT_TRUE(choices[0].cut);
  EXPECT_EQ(Calls(choices[0]), (CallList{{"weather", "{\"city\":\"Pa"}}));
}

TEST(AnswerChoices, AnthropicToolUseNotStreamed) {
  const auto choices = AnswerChoices(Dialect::kAnthropic, false, R"({"type":"message",
    "content":[{"type":"text","text":"Let me look."},
               {"type":"tool_use","id":"t1","name":"weather","input":{"city":"Paris"}},
               {"type":"tool_use","id":"t2","name":"time","input":{}}],
    "stop_reason":"tool_use"})");
  ASSERT_EQ(choices.size(), 1u);
  EXPECT_EQ(choices[0].text, "Let me look.");
  EXPECT_EQ(Calls(choices[0]), (CallList{{"weather", R"({"city":"Paris"})"}, {"time", "{}"}}));
  EXPECT_FALSE(choices[0].cut);
}

json BlockStart(int index, json block) {
  return {{"type", "content_block_start"}, {"index", index}, {"content_block", std::move(block)}};
}
json PartialJson(int index, const std::string& fragment) {
  return {{"type", "content_block_delta"},
          {"index", index},
          {"delta", {{"type", "input_json_delta"}, {"partial_json", fragment}}}};
}

std::string AnthropicStream(const std::vector<json>& blocks_events, const std::string& stop) {
  std::vector<json> events = {
      {{"type", "message_start"},
       {"message", {{"type", "message"}, {"content", json::array()}, {"stop_reason", nullptr}}}}};
  for (const auto& e : blocks_events) events.push_back(e);
  events.push_back({{"type", "message_delta"}, {"delta", {{"stop_reason", stop}}}});
  events.push_back({{"type", "message_stop"}});
  return Sse(events, false);
}

TEST(AnswerChoices, AnthropicStreamAssemblesPartialJson) {
  const std::string body = AnthropicStream(
      {BlockStart(0, {{"type", "text"}, {"text", ""}}),
       {{"type", "content_block_delta"},
        {"index", 0},
        {"delta", {{"type", "text_delta"}, {"text", "Checking."}}}},
       {{"type", "content_block_stop"}, {"index", 0}},
       BlockStart(
           1, {{"type", "tool_use"}, {"id", "t1"}, {"name", "weather"}, {"input", json::object()}}),
       PartialJson(1, ""),
       PartialJson(1, "{\"ci"),
       PartialJson(1, "ty\": \"Par"),
       PartialJson(1, "is\"}"),
       {{"type", "content_block_stop"}, {"index", 1}},
       // No input_json_delta at all: the empty input.
       BlockStart(
           2, {{"type", "tool_use"}, {"id", "t2"}, {"name", "time"}, {"input", json::object()}}),
       {{"type", "content_block_stop"}, {"index", 2}}},
      "tool_use");
  const auto choices = AnswerChoices(Dialect::kAnthropic, true, body);
  ASSERT_EQ(choices.size(), 1u);
  EXPECT_EQ(choices[0].text, "Checking.");
  EXPECT_EQ(Calls(choices[0]), (CallList{{"weather", R"({"city": "Paris"})"}, {"time", ""}}));
  EXPECT_FALSE(choices[0].cut);
  const auto cut = AnswerChoices(Dialect::kAnthropic, true,
                                 AnthropicStream({BlockStart(0, {{"type", "tool_use"},
                                                                 {"id", "t1"},
                                                                 {"name", "weather"},
                                                                 {"input", json::object()}}),
                                                  PartialJson(0, "{\"city\": \"Pa")},
                                                 "max_tokens"));
  EXPECT_TRUE(cut[0].cut);
  EXPECT_EQ(Calls(cut[0]), (CallList{{"weather", "{\"city\": \"Pa"}}));
}

// Anthropic's stop_reason "model_context_window_exceeded" cuts an answer like "max_tokens",
// streamed or not: its last tool call may be incomplete.
TEST(AnswerChoices, AnthropicContextWindowExceededIsACut) {
  const json block = {
      {"type", "tool_use"}, {"id", "t1"}, {"name", "time"}, {"input", json::object()}};
  EXPECT_TRUE(
      AnswerChoices(Dialect::kAnthropic, true,
                    AnthropicStream({BlockStart(0, block)}, "model_context_window_exceeded"))[0]
          .cut);
  const json unary = {{"type", "message"},
                      {"role", "assistant"},
                      {"content", {block}},
                      {"stop_reason", "model_context_window_exceeded"}};
  EXPECT_TRUE(AnswerChoices(Dialect::kAnthropic, false, unary.dump())[0].cut);
}

// An upstream's answer may hold anything: odd shapes are read as well as they can be, never
// thrown on.
TEST(AnswerChoices, OddShapesDoNotThrow) {
  std::vector<AnswerChoice> c;
  EXPECT_NO_THROW(
      c = AnswerChoices(Dialect::kOpenAI, true,
                        Sse({{{"choices",
                               {{{"delta",
                                  {{"tool_calls",
                                    {{{"index", "x"},
                                      {"type", 5},
                                      {"function", {{"name", 5}, {"arguments", {{"a", 1}}}}}},
                                     7,
                                     {{"index", 0}, {"function", "f"}}}}}}}}}},
                             {{"choices", {{{"index", -1}, {"message", 5}}}}},
                             {{"choices", "x"}}})));
  ASSERT_EQ(c.size(), 1u);
  ASSERT_EQ(c[0].tool_calls.size(), 1u);  // the two fragments at index 0 (by position, by index)
  EXPECT_EQ(c[0].tool_calls[0].arguments, R"({"a":1})");
  auto req = dialect::ParseOpenAIChat(
      R"({"model":"auto","messages":[{"role":"user","content":"x"}]})", 64);
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(CheckToolCall(*req, c[0].tool_calls[0]), "unknown tool \"\"");
  EXPECT_NO_THROW(
      c = AnswerChoices(
          Dialect::kAnthropic, false,
          R"({"content":[{"type":5},7,{"type":"tool_use","name":7,"input":"s"}],"stop_reason":1})"));
  ASSERT_EQ(c[0].tool_calls.size(), 1u);
  EXPECT_EQ(c[0].tool_calls[0].arguments, R"("s")");
  EXPECT_NO_THROW(
      c = AnswerChoices(
          Dialect::kAnthropic, true,
          AnthropicStream({PartialJson(3, "{}"),
                           {{"type", "content_block_start"}, {"index", "a"}, {"content_block", 5}},
                           {{"type", "content_block_delta"}, {"delta", {{"type", 5}}}}},
                          "end_turn")));
  EXPECT_TRUE(c[0].tool_calls.empty());
  EXPECT_NO_THROW(c = AnswerChoices(Dialect::kOpenAI, false, "not json"));
  EXPECT_EQ(c.size(), 1u);
}

// Parsed requests with a weather tool (city required) and a time tool (nothing required).
dialect::ChatRequest OpenAIRequest(json extra = json::object()) {
  json b = {{"model", "auto"},
            {"messages", {{{"role", "user"}, {"content", "Weather in Paris?"}}}},
            {"tools",
             {{{"type", "function"},
               {"function",
                {{"name", "weather"},
                 {"parameters",
                  {{"type", "object"},
                   {"properties", {{"city", {{"type", "string"}}}, {"unit", {{"type", "string"}}}}},
                   {"required", {"city"}}}}}}},
              {{"type", "function"}, {"function", {{"name", "time"}}}}}}};
  b.update(extra);
  auto r = dialect::ParseOpenAIChat(b.dump(), 64);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return *r;
}
dialect::ChatRequest AnthropicRequest(json extra = json::object()) {
  json b = {{"model", "auto"},
            {"max_tokens", 100},
            {"messages", {{{"role", "user"}, {"content", "Weather in Paris?"}}}},
            {"tools",
             {{{"name", "weather"},
               {"input_schema",
                {{"type", "object"},
                 {"properties", {{"city", {{"type", "string"}}}}},
                 {"required", {"city"}}}}},
              {{"name", "time"}, {"input_schema", {{"type", "object"}}}}}}};
  b.update(extra);
  auto r = dialect::ParseAnthropicMessages(b.dump(), 64);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return *r;
}

AnswerToolCall Call(const std::string& name, const std::string& args) {
  AnswerToolCall c;
  c.name = name;
  c.arguments = args;
  return c;
}

TEST(CheckToolCall, BothDialects) {
  for (const auto& req : {OpenAIRequest(), AnthropicRequest()}) {
    EXPECT_EQ(CheckToolCall(req, Call("weather", R"({"city":"Paris"})")), "");
    EXPECT_EQ(CheckToolCall(req, Call("weather", R"( {"city":"Paris","unit":"C"} )")), "");
    EXPECT_EQ(CheckToolCall(req, Call("time", "")), "");  // empty arguments: {}
    EXPECT_EQ(CheckToolCall(req, Call("time", " \n")), "");
    EXPECT_EQ(CheckToolCall(req, Call("time", "{}")), "");
    EXPECT_EQ(CheckToolCall(req, Call("foo", "{}")), "unknown tool \"foo\"");
    EXPECT_EQ(CheckToolCall(req, Call("weather", R"({"city":"Pa)")),
              "arguments are not a JSON object");
    EXPECT_EQ(CheckToolCall(req, Call("weather", R"(["Paris"])")),
              "arguments are not a JSON object");
    EXPECT_EQ(CheckToolCall(req, Call("weather", R"("Paris")")), "arguments are not a JSON object");
    EXPECT_EQ(CheckToolCall(req, Call("weather", "")), "missing required \"city\"");
    EXPECT_EQ(CheckToolCall(req, Call("weather", R"({"unit":"C"})")), "missing required \"city\"");
  }
  // Names are shown, cut and cleaned; argument values never.
  const std::string why =
      CheckToolCall(OpenAIRequest(), Call(std::string(100, 'x') + "\r\n", "{}"));
  EXPECT_EQ(why, "unknown tool \"" + std::string(64, 'x') + "...\"");
  const std::string secret =
      CheckToolCall(OpenAIRequest(), Call("weather", R"({"unit":"s3cr3t"})"));
  EXPECT_EQ(secret.find("s3cr3t"), std::string::npos);
  // An OpenAI answer's arguments that are no object, translated for an Anthropic client.
  EXPECT_EQ(CheckToolCall(AnthropicRequest(), Call("time", R"({"_raw":"[1,2]"})")),
            "arguments are not a JSON object");
  EXPECT_EQ(CheckToolCall(OpenAIRequest(), Call("time", R"({"_raw":"[1,2]"})")), "");
  // No tools in the request: every call is unknown.
  auto bare = dialect::ParseOpenAIChat(
      R"({"model":"auto","messages":[{"role":"user","content":"x"}]})", 64);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(CheckToolCall(*bare, Call("weather", "{}")), "unknown tool \"weather\"");
}

TEST(CheckToolCall, ForcedToolChoice) {
  const auto openai =
      OpenAIRequest({{"tool_choice", {{"type", "function"}, {"function", {{"name", "weather"}}}}}});
  EXPECT_EQ(CheckToolCall(openai, Call("weather", R"({"city":"Paris"})")), "");
  EXPECT_EQ(CheckToolCall(openai, Call("time", "{}")), "tool_choice asks for weather");
  const auto anthropic = AnthropicRequest({{"tool_choice", {{"type", "tool"}, {"name", "time"}}}});
  EXPECT_EQ(CheckToolCall(anthropic, Call("time", "{}")), "");
  EXPECT_EQ(CheckToolCall(anthropic, Call("weather", R"({"city":"Paris"})")),
            "tool_choice asks for time");
  // auto / required / any force no particular tool.
  EXPECT_EQ(CheckToolCall(OpenAIRequest({{"tool_choice", "required"}}), Call("time", "")), "");
  EXPECT_EQ(CheckToolCall(AnthropicRequest({{"tool_choice", {{"type", "any"}}}}), Call("time", "")),
            "");
  EXPECT_EQ(CheckToolCall(OpenAIRequest({{"tool_choice", "none"}}), Call("time", "")),
            "tool_choice is none");
}

// OpenAI's tool_choice {"type": "allowed_tools"} narrows `tools` to a subset (mode auto or
// required): a call outside it is invalid, one inside is not forced to a particular tool.
TEST(CheckToolCall, AllowedToolsChoice) {
  for (const char* mode : {"auto", "required"}) {
    const auto req = OpenAIRequest(
        {{"tool_choice",
          {{"type", "allowed_tools"},
           {"allowed_tools",
            {{"mode", mode},
             {"tools", {{{"type", "function"}, {"function", {{"name", "time"}}}}}}}}}}});
    EXPECT_EQ(CheckToolCall(req, Call("time", "{}")), "");
    EXPECT_EQ(CheckToolCall(req, Call("weather", R"({"city":"Paris"})")),
              "tool_choice does not allow weather");
  }
}

TEST(CheckToolCall, CutAnswers) {
  AnswerChoice c;
  c.tool_calls.push_back(Call("weather", R"({"city":"Pa)"));
  c.cut = true;
  EXPECT_EQ(CheckToolCalls(OpenAIRequest(), c), "arguments are not a JSON object");
  // Cut right after a complete call: its arguments parse, but the answer is still incomplete.
  c.tool_calls[0].arguments = R"({"city":"Paris"})";
  EXPECT_EQ(CheckToolCalls(OpenAIRequest(), c), "cut at the token limit");
  c.cut = false;
  EXPECT_EQ(CheckToolCalls(OpenAIRequest(), c), "");
  // The first invalid call is reported.
  c.tool_calls.push_back(Call("foo", "{}"));
  c.tool_calls.push_back(Call("weather", "{}"));
  EXPECT_EQ(CheckToolCalls(OpenAIRequest(), c), "unknown tool \"foo\"");
}

// Decide, with a judge that records what it was asked.
struct Judged {
  std::vector<std::string> texts;
  Gateway::Routing routing;
  explicit Judged(bool check, double score = 0.9) {
    routing.check_tool_calls = check;
    routing.judge_threshold = 0.5;
    routing.judge = [this, score](const RequestContext&, std::string_view a) {
      texts.emplace_back(a);
      return a.empty() ? 0.95 : score;
    };
  }
};

AnswerChoice Choice(const std::string& text, std::vector<AnswerToolCall> calls) {
  AnswerChoice c;
  c.text = text;
  c.tool_calls = std::move(calls);
  return c;
}

TEST(CascadeDecide, ValidToolCallsAreReleasedWithoutTheJudge) {
  RequestContext cheap;
  cheap.req = OpenAIRequest();
  Judged j(true);
  auto v =
      Gateway::Decide(j.routing, cheap, {Choice("", {Call("weather", R"({"city":"Paris"})")})});
  EXPECT_FALSE(v.escalate);
  EXPECT_FALSE(v.judged);
  EXPECT_EQ(v.basis, "tool call checked");
  EXPECT_TRUE(j.texts.empty());
  v = Gateway::Decide(j.routing, cheap,
                      {Choice(" \n", {Call("weather", R"({"city":"Paris"})"), Call("time", "")})});
  EXPECT_FALSE(v.escalate);
  EXPECT_EQ(v.basis, "tool calls checked");
  EXPECT_TRUE(j.texts.empty());
}

TEST(CascadeDecide, InvalidToolCallEscalates) {
  RequestContext cheap;
  cheap.req = AnthropicRequest();
  Judged j(true);
  auto v = Gateway::Decide(j.routing, cheap, {Choice("", {Call("weather", "{}")})});
  EXPECT_TRUE(v.escalate);
  EXPECT_FALSE(v.judged);
  EXPECT_EQ(v.basis, "tool call invalid (missing required \"city\")");
  // Text and calls: the text is judged as well; a good text does not save a bad call...
  Judged good(true, 0.2);
  v = Gateway::Decide(good.routing, cheap, {Choice("Let me look.", {Call("foo", "{}")})});
  EXPECT_TRUE(v.escalate);
  EXPECT_TRUE(v.judged);
  EXPECT_EQ(v.score, 0.2);
  EXPECT_EQ(v.basis, "score=0.20 < 0.50; tool call invalid (unknown tool \"foo\")");
  // ... and good calls do not save a bad text.
  v = Gateway::Decide(j.routing, cheap,
                      {Choice("Let me look.", {Call("weather", R"({"city":"Paris"})")})});
  EXPECT_TRUE(v.escalate);
  EXPECT_EQ(v.basis, "score=0.90 >= 0.50; tool call checked");
  v = Gateway::Decide(good.routing, cheap,
                      {Choice("Let me look.", {Call("weather", R"({"city":"Paris"})")})});
  EXPECT_FALSE(v.escalate);
  EXPECT_EQ(v.basis, "score=0.20 < 0.50; tool call checked");
}

TEST(CascadeDecide, EveryChoiceIsChecked) {
  RequestContext cheap;
  cheap.req = OpenAIRequest({{"n", 2}});
  Judged j(true, 0.2);
  auto v = Gateway::Decide(j.routing, cheap,
                           {Choice("", {Call("weather", R"({"city":"Paris"})")}),
                            Choice("", {Call("weather", R"({"city":)")})});
  EXPECT_TRUE(v.escalate);
  EXPECT_EQ(v.basis, "tool call invalid (arguments are not a JSON object)");
  // A text choice next to a tool-call choice: the text is judged, the calls checked.
  v = Gateway::Decide(j.routing, cheap, {Choice("Sunny.", {}), Choice("", {Call("time", "")})});
  EXPECT_FALSE(v.escalate);
  EXPECT_EQ(v.basis, "score=0.20 < 0.50; tool call checked");
  EXPECT_EQ(j.texts, (std::vector<std::string>{"Sunny."}));
}

TEST(CascadeDecide, EscalateSettingJudgesTheTextOnly) {
  RequestContext cheap;
  cheap.req = OpenAIRequest();
  Judged j(false);
  auto v =
      Gateway::Decide(j.routing, cheap, {Choice("", {Call("weather", R"({"city":"Paris"})")})});
  EXPECT_TRUE(v.escalate);
  EXPECT_TRUE(v.judged);
  EXPECT_EQ(v.basis, "score=0.95 >= 0.50");
  EXPECT_EQ(j.texts, (std::vector<std::string>{""}));
}

// The whole cascade with sim deployments, which call the first tool with arguments sampled
// from its schema's properties.
std::unique_ptr<Gateway> Make(const std::string& tool_calls) {
  auto cfg = config::LoadString(R"(
tiers:
  - name: open
    deployments:
      - {name: cheap, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 1, ttft_ms: 1, output_tokens: 5, tokens_per_second: 100000}}
  - name: frontier
    deployments:
      - {name: strong, provider: sim, catalog: claude-opus-4.7, sim: {latency_ms: 1, ttft_ms: 1, output_tokens: 5, tokens_per_second: 100000}}
storage: {ledger: "sqlite::memory:"}
routing: {cascade_tool_calls: )" +
                                tool_calls + "}\n");
  EXPECT_TRUE(cfg.ok()) << cfg.error().message;
  auto ledger = store::OpenLedger("sqlite::memory:");
  auto g = Gateway::Create(*cfg, std::move(*ledger));
  EXPECT_TRUE(g.ok()) << g.error().message;
  return std::move(*g);
}

RecordingWriter Serve(Gateway& g, Dialect d, const std::string& body) {
  RecordingWriter w;
  net::io_context io;
  auto cancel = std::make_shared<upstream::CancelHook>();
  if (d == Dialect::kOpenAI)
    net::co_spawn(io, g.ChatCompletions(body, w, cancel), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  else
    net::co_spawn(io, g.Messages(body, w, cancel), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  io.run();
  return w;
}

// A request whose first tool requires `required` (a key the sim samples only when the schema
// lists it among the properties).
std::string ToolRequest(Dialect d, bool stream, const std::string& required) {
  json schema = {{"type", "object"},
                 {"properties", {{"city", {{"type", "string"}}}}},
                 {"required", {required}}};
  json b = {{"model", "auto"},
            {"stream", stream},
            {"messages", {{{"role", "user"}, {"content", "Weather in Paris?"}}}}};
  if (d == Dialect::kOpenAI) {
    b["tools"] = {
        {{"type", "function"}, {"function", {{"name", "weather"}, {"parameters", schema}}}}};
  } else {
    b["max_tokens"] = 100;
    b["tools"] = {{{"name", "weather"}, {"input_schema", schema}}};
  }
  return b.dump();
}

TEST(CascadeToolCalls, ValidCallIsReleasedInvalidEscalates) {
  auto g = Make("check");
  int judged = 0;
  g->SetAnswerJudge(
      [&](const RequestContext&, std::string_view) {
        ++judged;
        return 0.9;
      },
      0.5);
  // SetAnswerJudge keeps the configured check.
  ASSERT_TRUE(g->routing()->check_tool_calls);
  for (Dialect d : {Dialect::kOpenAI, Dialect::kAnthropic})
    for (bool stream : {false, true}) {
      SCOPED_TRACE(std::string(dialect::DialectName(d)) + (stream ? " stream" : ""));
      RecordingWriter ok = Serve(*g, d, ToolRequest(d, stream, "city"));
      ASSERT_EQ(ok.status, 200) << ok.body;
      EXPECT_EQ(ok.Header("x-triage-tier"), "open");
      EXPECT_EQ(ok.Header("x-triage-route"), "cascade tool call checked \u2192 open");
      EXPECT_NE(ok.body.find("weather"), std::string::npos) << ok.body;
      RecordingWriter bad = Serve(*g, d, ToolRequest(d, stream, "zip"));
      ASSERT_EQ(bad.status, 200) << bad.body;
      EXPECT_EQ(bad.Header("x-triage-tier"), "frontier");
      EXPECT_EQ(bad.Header("x-triage-route"),
                "cascade tool call invalid (missing required \"zip\") \u2192 frontier");
    }
  EXPECT_EQ(judged, 0);
  g->ledger().Flush();
  auto rows = *g->ledger().ReadAll();
  ASSERT_EQ(rows.size(), 8u);
  for (const auto& r : rows) {
    EXPECT_EQ(r.route_score, -1) << r.route;  // no judge score: NULL in the ledger
    EXPECT_EQ(r.attempts, r.tier == "open" ? 1 : 2) << r.route;
  }
  const auto m = g->stats().Prometheus();
  EXPECT_NE(m.find("triage_route_decisions_total{decision=\"cascade_released\",tier=\"open\"} 4"),
            std::string::npos)
      << m;
  EXPECT_NE(
      m.find("triage_route_decisions_total{decision=\"cascade_escalated\",tier=\"frontier\"} 4"),
      std::string::npos)
      << m;
}

TEST(CascadeToolCalls, EscalateSettingKeepsTheOldBehaviour) {
  auto g = Make("escalate");
  int judged = 0;
  g->SetAnswerJudge(
      [&](const RequestContext&, std::string_view a) {
        ++judged;
        return a.empty() ? 0.9 : 0.1;
      },
      0.5);
  RecordingWriter w = Serve(*g, Dialect::kOpenAI, ToolRequest(Dialect::kOpenAI, false, "city"));
  ASSERT_EQ(w.status, 200) << w.body;
  EXPECT_EQ(w.Header("x-triage-tier"), "frontier");
  EXPECT_EQ(w.Header("x-triage-route"), "cascade score=0.90 >= 0.50 \u2192 frontier");
  EXPECT_EQ(judged, 1);
}

}  // namespace
}  // namespace triage::pipeline
