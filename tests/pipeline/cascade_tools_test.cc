// The live cascade's structural check of tool calls (routing.cascade_tool_calls): extracting
// the calls of a held answer in both dialects, streamed or not, checking them against the
// request, the decision, and the whole cascade with sim deployments that call tools.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "dialect/anthropic.h"
#include "dialect/openai.h"
#include "pipeline/cascade.h"
#include "pipeline/gateway.h"
#include "pipeline/tool_schema.h"
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

// Anthropic's toolsets have no `name`; their members' tool_use blocks carry a toolset_name
// (browser_toolset_... calls `navigate` with toolset_name "browser"). Regression: a nameless
// tool made every call named "" known, and the parser refused such requests anyway.
TEST(CheckToolCall, AnthropicToolsetMembers) {
  const auto browser = AnthropicRequest(
      {{"tools",
        {{{"type", "browser_toolset_20260801"}},
         {{"name", "weather"},
          {"input_schema",
           {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}}}});
  AnswerToolCall nav = Call("navigate", R"({"url":"https://example.com"})");
  nav.toolset = "browser";
  EXPECT_EQ(CheckToolCall(browser, nav), "");
  AnswerToolCall computer = Call("left_click", "{}");
  computer.toolset = "computer";
  EXPECT_EQ(CheckToolCall(browser, computer), "unknown tool \"left_click\"");
  EXPECT_EQ(CheckToolCall(browser, Call("navigate", "{}")), "unknown tool \"navigate\"");
  EXPECT_EQ(CheckToolCall(browser, Call("", "{}")), "unknown tool \"\"");
  EXPECT_EQ(CheckToolCall(browser, Call("weather", R"({"city":1})")), "city: expected string");
  // An MCP toolset's tools and family are its server's: any toolset_name is plausible.
  const auto mcp =
      AnthropicRequest({{"tools", {{{"type", "mcp_toolset"}, {"mcp_server_name", "docs"}}}}});
  AnswerToolCall search = Call("search_docs", R"({"q":"x"})");
  search.toolset = "docs";
  EXPECT_EQ(CheckToolCall(mcp, search), "");
  EXPECT_EQ(CheckToolCall(mcp, Call("search_docs", "{}")), "unknown tool \"search_docs\"");
  // tool_choice still holds.
  auto forced = AnthropicRequest(
      {{"tools", {{{"type", "browser_toolset_20260801"}}}}, {"tool_choice", {{"type", "none"}}}});
  EXPECT_EQ(CheckToolCall(forced, nav), "tool_choice is none");
  // The answer's toolset_name is read, streamed or not.
  auto c = AnswerChoices(Dialect::kAnthropic, false, R"({"type":"message","content":[
    {"type":"tool_use","id":"t1","name":"navigate","toolset_name":"browser","input":{}}],
    "stop_reason":"tool_use"})");
  ASSERT_EQ(c[0].tool_calls.size(), 1u);
  EXPECT_EQ(c[0].tool_calls[0].toolset, "browser");
  EXPECT_EQ(CheckToolCalls(browser, c[0]), "");
  c = AnswerChoices(Dialect::kAnthropic, true,
                    AnthropicStream({BlockStart(0, {{"type", "tool_use"},
                                                    {"id", "t1"},
                                                    {"name", "navigate"},
                                                    {"toolset_name", "browser"},
                                                    {"input", json::object()}}),
                                     PartialJson(0, R"({"url":"x"})")},
                                    "tool_use"));
  ASSERT_EQ(c[0].tool_calls.size(), 1u);
  EXPECT_EQ(c[0].tool_calls[0].toolset, "browser");
  EXPECT_EQ(CheckToolCalls(browser, c[0]), "");
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

// The argument values against the tool's schema (CheckArguments through CheckToolCall): a
// request with one tool `t` of this schema, in either dialect.
std::string WhyOpenAI(const json& schema, const std::string& args) {
  json b = {
      {"model", "auto"},
      {"messages", {{{"role", "user"}, {"content", "x"}}}},
      {"tools", {{{"type", "function"}, {"function", {{"name", "t"}, {"parameters", schema}}}}}}};
  auto r = dialect::ParseOpenAIChat(b.dump(), 64);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return CheckToolCall(*r, Call("t", args));
}
std::string WhyAnthropic(const json& schema, const std::string& args) {
  json b = {{"model", "auto"},
            {"max_tokens", 10},
            {"messages", {{{"role", "user"}, {"content", "x"}}}},
            {"tools", {{{"name", "t"}, {"input_schema", schema}}}}};
  auto r = dialect::ParseAnthropicMessages(b.dump(), 64);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return CheckToolCall(*r, Call("t", args));
}
// Both dialects read the schema the same way: the reason of either, checked equal.
std::string Why(const std::string& schema, const std::string& args) {
  const json s = json::parse(schema);
  const std::string openai = WhyOpenAI(s, args), anthropic = WhyAnthropic(s, args);
  EXPECT_EQ(openai, anthropic) << schema << " " << args;
  return openai;
}

// Regression: a cheap model's call with wrongly typed values ({"city": 42}, a unit outside the
// enum) was released, and the agent's tool then failed: the values are read against the schema.
TEST(CheckToolSchema, Types) {
  const std::string s = R"({"type":"object","properties":{
      "city":{"type":"string"},"days":{"type":"integer"},"temp":{"type":"number"},
      "metric":{"type":"boolean"},"note":{"type":"null"},"tags":{"type":"array"},
      "where":{"type":"object"},"either":{"type":["string","null"]}}})";
  EXPECT_EQ(Why(s, R"({"city":"Paris","days":3,"temp":21.5,"metric":true,"note":null,)"
                   R"("tags":[],"where":{},"either":null})"),
            "");
  EXPECT_EQ(Why(s, R"({"city":42})"), "city: expected string");
  EXPECT_EQ(Why(s, R"({"city":null})"), "city: expected string");
  // JSON Schema semantics: an integer may be written 3.0, and a number may be an integer.
  EXPECT_EQ(Why(s, R"({"days":3.0})"), "");
  EXPECT_EQ(Why(s, R"({"days":1e2})"), "");
  EXPECT_EQ(Why(s, R"({"days":3.5})"), "days: expected integer");
  EXPECT_EQ(Why(s, R"({"days":"3"})"), "days: expected integer");
  EXPECT_EQ(Why(s, R"({"temp":21})"), "");
  EXPECT_EQ(Why(s, R"({"temp":"21"})"), "temp: expected number");
  EXPECT_EQ(Why(s, R"({"metric":1})"), "metric: expected boolean");
  EXPECT_EQ(Why(s, R"({"note":0})"), "note: expected null");
  EXPECT_EQ(Why(s, R"({"tags":"a,b"})"), "tags: expected array");
  EXPECT_EQ(Why(s, R"({"where":[]})"), "where: expected object");
  EXPECT_EQ(Why(s, R"({"either":"x"})"), "");
  EXPECT_EQ(Why(s, R"({"either":1})"), "either: expected string or null");
  // A key the schema does not list is not refused without additionalProperties: false.
  EXPECT_EQ(Why(s, R"({"other":1})"), "");
  // OpenAPI's nullable: true also takes null.
  EXPECT_EQ(Why(R"({"properties":{"a":{"type":"string","nullable":true}}})", R"({"a":null})"), "");
  // A type name not known here, or a list with one, accepts anything.
  EXPECT_EQ(Why(R"({"properties":{"a":{"type":"file"}}})", R"({"a":1})"), "");
  EXPECT_EQ(Why(R"({"properties":{"a":{"type":["string","any"]}}})", R"({"a":1})"), "");
}

TEST(CheckToolSchema, EnumAndConst) {
  const std::string s = R"({"type":"object","properties":{"unit":{"type":"string","enum":["c","f"]},
      "n":{"enum":[1,2,null]},"v":{"const":"v1"}},"required":["unit"]})";
  EXPECT_EQ(Why(s, R"({"unit":"c","n":2,"v":"v1"})"), "");
  EXPECT_EQ(Why(s, R"({"unit":"c","n":2.0})"), "");  // 2.0 is 2
  EXPECT_EQ(Why(s, R"({"unit":"c","n":null})"), "");
  EXPECT_EQ(Why(s, R"({"unit":"kelvin"})"), "unit: not one of the enum");
  EXPECT_EQ(Why(s, R"({"unit":"c","n":3})"), "n: not one of the enum");
  EXPECT_EQ(Why(s, R"({"unit":"c","v":"v2"})"), "v: not the const value");
  EXPECT_EQ(Why(s, R"({"n":1})"), "missing required \"unit\"");  // unchanged
}

TEST(CheckToolSchema, NestedObjectsAndAdditionalProperties) {
  const std::string s = R"({"type":"object","properties":{"location":{"type":"object",
      "properties":{"lat":{"type":"number"},"lon":{"type":"number"}},"required":["lat","lon"],
      "additionalProperties":false}},"required":["location"],"additionalProperties":false})";
  EXPECT_EQ(Why(s, R"({"location":{"lat":48.8,"lon":2.3}})"), "");
  EXPECT_EQ(Why(s, R"({"location":{"lat":"48.8","lon":2.3}})"), "location.lat: expected number");
  EXPECT_EQ(Why(s, R"({"location":{"lat":48.8}})"), "location: missing required \"lon\"");
  EXPECT_EQ(Why(s, R"({"location":{"lat":48.8,"lon":2.3,"alt":0}})"),
            "location: unexpected key \"alt\"");
  EXPECT_EQ(Why(s, R"({"location":{"lat":48.8,"lon":2.3},"foo":1})"), "unexpected key \"foo\"");
  // additionalProperties as a schema: the other keys' values.
  EXPECT_EQ(Why(R"({"additionalProperties":{"type":"integer"}})", R"({"a":1,"b":2})"), "");
  EXPECT_EQ(Why(R"({"additionalProperties":{"type":"integer"}})", R"({"a":1,"b":"2"})"),
            "b: expected integer");
  // patternProperties is not read: no key is refused then.
  EXPECT_EQ(Why(R"({"patternProperties":{"^x":{}},"additionalProperties":false})", R"({"y":1})"),
            "");
  // OpenAI strict schemas: every key required, optional ones nullable, no other key.
  const std::string strict = R"({"type":"object","properties":{"city":{"type":"string"},
      "unit":{"type":["string","null"],"enum":["c","f",null]}},"required":["city","unit"],
      "additionalProperties":false})";
  EXPECT_EQ(Why(strict, R"({"city":"Paris","unit":null})"), "");
  EXPECT_EQ(Why(strict, R"({"city":"Paris","unit":"k"})"), "unit: not one of the enum");
  EXPECT_EQ(Why(strict, R"({"city":"Paris","unit":"c","extra":true})"), "unexpected key \"extra\"");
  // Names in a path are shown like tool names; values never.
  EXPECT_EQ(Why(R"({"properties":{"a b":{"type":"integer"}}})", R"({"a b":"s3cr3t"})"),
            "a?b: expected integer");
  EXPECT_EQ(Why(R"({"additionalProperties":false})", R"({"s3cr3t\n":1})"),
            "unexpected key \"s3cr3t?\"");
}

TEST(CheckToolSchema, Arrays) {
  const std::string s = R"({"properties":{"cities":{"type":"array","items":{"type":"string"},
      "minItems":1,"maxItems":3},"points":{"type":"array","items":{"type":"object",
      "properties":{"x":{"type":"number"}},"required":["x"]}},
      "pair":{"type":"array","items":[{"type":"string"},{"type":"integer"}]}}})";
  EXPECT_EQ(Why(s, R"({"cities":["Paris","Rome"],"points":[{"x":1},{"x":2.5}],"pair":[1,"a"]})"),
            "");  // the tuple form of items is not read
  EXPECT_EQ(Why(s, R"({"cities":["Paris",7]})"), "cities[1]: expected string");
  EXPECT_EQ(Why(s, R"({"cities":[]})"), "cities: expected at least 1 item");
  EXPECT_EQ(Why(s, R"({"cities":["a","b","c","d"]})"), "cities: expected at most 3 items");
  EXPECT_EQ(Why(s, R"({"points":[{"x":1},{"y":2}]})"), "points[1]: missing required \"x\"");
  EXPECT_EQ(Why(s, R"({"points":[{"x":"1"}]})"), "points[0].x: expected number");
}

TEST(CheckToolSchema, LengthsAndBounds) {
  const std::string s = R"({"properties":{"code":{"type":"string","minLength":2,"maxLength":3},
      "pct":{"type":"number","minimum":0,"maximum":100},"n":{"exclusiveMinimum":0},
      "m":{"maximum":1,"exclusiveMaximum":true}}})";
  EXPECT_EQ(Why(s, R"({"code":"FR","pct":0,"n":0.5,"m":0.9})"), "");
  EXPECT_EQ(Why(s, R"({"code":"\u00e9t\u00e9"})"), "");  // 3 code points, 5 bytes
  EXPECT_EQ(Why(s, R"({"code":"F"})"), "code: expected at least 2 characters");
  EXPECT_EQ(Why(s, R"({"code":"FRAN"})"), "code: expected at most 3 characters");
  EXPECT_EQ(Why(s, R"({"pct":-1})"), "pct: expected >= 0");
  EXPECT_EQ(Why(s, R"({"pct":100.5})"), "pct: expected <= 100");
  EXPECT_EQ(Why(s, R"({"n":0})"), "n: expected > 0");
  EXPECT_EQ(Why(s, R"({"m":1})"), "m: expected < 1");
}

TEST(CheckToolSchema, AnyOfOneOfAllOf) {
  const std::string s = R"({"properties":{"when":{"anyOf":[{"type":"string"},{"type":"integer"}]},
      "shape":{"oneOf":[{"type":"object","properties":{"r":{"type":"number"}},"required":["r"],
      "additionalProperties":false},{"type":"object","properties":{"w":{"type":"number"}},
      "required":["w"],"additionalProperties":false}]},
      "both":{"allOf":[{"type":"object","properties":{"a":{"type":"string"}}},
      {"properties":{"b":{"type":"integer"}},"additionalProperties":false}]}}})";
  EXPECT_EQ(Why(s, R"({"when":"today","shape":{"r":1},"both":{"a":"x","b":2}})"), "");
  EXPECT_EQ(Why(s, R"({"when":3})"), "");
  EXPECT_EQ(Why(s, R"({"when":true})"), "when: matches none of anyOf");
  EXPECT_EQ(Why(s, R"({"shape":{"w":2}})"), "");
  EXPECT_EQ(Why(s, R"({"shape":{"r":1,"w":2}})"), "shape: matches none of oneOf");  // closed
  // oneOf is read as anyOf (lenient): a value that fits both branches is valid.
  EXPECT_EQ(Why(R"({"properties":{"s":{"oneOf":[{"required":["r"]},{"required":["w"]}]}}})",
                R"({"s":{"r":1,"w":2}})"),
            "");
  EXPECT_EQ(Why(s, R"({"shape":{"h":2}})"), "shape: matches none of oneOf");
  // allOf: every branch; an additionalProperties: false inside a branch is not read.
  EXPECT_EQ(Why(s, R"({"both":{"a":1}})"), "both.a: expected string");
  EXPECT_EQ(Why(s, R"({"both":{"b":"2"}})"), "both.b: expected integer");
  EXPECT_EQ(Why(s, R"({"both":[]})"), "both: expected object");
  // ... nor an additionalProperties schema there: the key may be another branch's.
  EXPECT_EQ(Why(R"({"allOf":[{"properties":{"a":{"type":"integer"}}},
      {"properties":{"b":{"type":"string"}},"additionalProperties":{"type":"string"}}]})",
                R"({"a":1,"b":"x"})"),
            "");
}

TEST(CheckToolSchema, LocalRefs) {
  const std::string s = R"({"$defs":{"Unit":{"type":"string","enum":["c","f"]},
      "Point":{"type":"object","properties":{"x":{"type":"number"}},"required":["x"]}},
      "definitions":{"Day":{"type":"integer"}},
      "properties":{"unit":{"$ref":"#/$defs/Unit"},"at":{"$ref":"#/$defs/Point"},
      "day":{"$ref":"#/definitions/Day"},"same":{"$ref":"#/properties/day"},
      "far":{"$ref":"https://example.com/schema.json"},"lost":{"$ref":"#/$defs/Nope"},
      "odd":{"$ref":"#/$defs/a~1b"}}})";
  EXPECT_EQ(Why(s, R"({"unit":"c","at":{"x":1},"day":3,"same":4,"far":1,"lost":1})"), "");
  EXPECT_EQ(Why(s, R"({"unit":"k"})"), "unit: not one of the enum");
  EXPECT_EQ(Why(s, R"({"at":{}})"), "at: missing required \"x\"");
  EXPECT_EQ(Why(s, R"({"at":{"x":"1"}})"), "at.x: expected number");
  EXPECT_EQ(Why(s, R"({"day":"3"})"), "day: expected integer");
  EXPECT_EQ(Why(s, R"({"same":"3"})"), "same: expected integer");
  // Pydantic v1's allOf around a $ref.
  EXPECT_EQ(Why(R"({"definitions":{"U":{"enum":["c","f"]}},"properties":{"u":{"allOf":[
      {"$ref":"#/definitions/U"}]}}})",
                R"({"u":"k"})"),
            "u: not one of the enum");
  // JSON pointer escapes: ~1 is '/'.
  EXPECT_EQ(Why(R"({"$defs":{"a/b":{"type":"string"}},"properties":{"p":{"$ref":"#/$defs/a~1b"}}})",
                R"({"p":1})"),
            "p: expected string");
}

// Schemas and arguments come from clients and upstreams: a self-referencing $ref, a schema that
// branches at every level, or arguments nested 1000 deep must neither loop nor overflow the
// stack. Past the bounds the rest is accepted.
TEST(CheckToolSchema, RecursionIsBounded) {
  EXPECT_EQ(Why(R"({"$ref":"#"})", R"({"a":1})"), "");
  EXPECT_EQ(
      Why(R"({"$defs":{"A":{"$ref":"#/$defs/B"},"B":{"$ref":"#/$defs/A"}},"$ref":"#/$defs/A"})",
          R"({"a":1})"),
      "");
  EXPECT_EQ(Why(R"({"anyOf":[{"$ref":"#"},{"$ref":"#"}],"type":"object"})", R"({"a":1})"), "");
  // A recursive tree schema: the checker follows it as deep as its bound, then accepts.
  const std::string tree =
      R"({"type":"object","properties":{"v":{"type":"integer"},"next":{"$ref":"#"}}})";
  std::string deep, close;
  for (int i = 0; i < 1000; ++i) {
    deep += R"({"v":1,"next":)";
    close += "}";
  }
  EXPECT_EQ(Why(tree, deep + "{}" + close), "");
  EXPECT_EQ(Why(tree, deep + R"({"v":"x"})" + close), "");  // past the bound: accepted
  EXPECT_EQ(Why(tree, R"({"v":1,"next":{"v":"x"}})"), "next.v: expected integer");
  // Arrays nested 1000 deep under items that refer to themselves.
  EXPECT_EQ(
      Why(R"({"properties":{"a":{"$defs":{},"type":"array","items":{"$ref":"#/properties/a"}}}})",
          R"({"a":)" + std::string(1000, '[') + std::string(1000, ']') + "}"),
      "");
  // Exponential branching (an anyOf of ten refs at each level, the innermost value failing
  // every branch: 10^15 paths) stops at the work bound.
  std::string branches;
  for (int i = 0; i < 10; ++i) branches += std::string(i ? "," : "") + R"({"$ref":"#"})";
  const std::string branchy =
      R"({"type":"object","properties":{"n":{"anyOf":[)" + branches + "]}}}";
  std::string nested = "1";
  for (int i = 0; i < 15; ++i) nested = R"({"n":)" + nested + "}";
  EXPECT_EQ(Why(branchy, nested), "");
  EXPECT_EQ(Why(branchy, R"({"n":1})"), "n: matches none of anyOf");
  // A long path is cut.
  std::string path_args = R"({"v":"x"})";
  const std::string long_key(60, 'k');
  std::string long_schema = R"({"properties":{"v":{"type":"integer"}}})";
  for (int i = 0; i < 4; ++i) {
    path_args = "{\"" + long_key + "\":" + path_args + "}";
    long_schema = R"({"properties":{")" + long_key + "\":" + long_schema + "}}";
  }
  const std::string why = Why(long_schema, path_args);
  EXPECT_EQ(why, long_key + "." + long_key + "." + long_key.substr(0, 6) + "...: expected integer");
}

// Regression: the work bound counted schema-value pairs, not the enum entries compared at each:
// a client's schema with an enum of a million entries that a $ref and an anyOf lead back to
// at every step (7 MB, under limits.max_body_bytes) kept the gateway's thread busy for
// seconds per call (10000 steps of a million comparisons). Enum entries are now bounded too.
TEST(CheckToolSchema, HugeEnumsAreBoundedWork) {
  json e = json::array({json::object()});
  for (int i = 0; i < 1000000; ++i) e.push_back(i);
  const json branch = {{"$ref", "#"}, {"type", "string"}};
  const json s = {{"type", "object"}, {"enum", e}, {"anyOf", {branch, branch}}};
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(CheckArguments(s, json::object()), "");
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  EXPECT_LT(ms, 1500) << "a bounded check reads the enum about once";
  // Enums are still read: a value not in one, and one that is (the scan stops at it).
  EXPECT_EQ(Why(R"({"properties":{"u":{"enum":["c","f"]}}})", R"({"u":"k"})"),
            "u: not one of the enum");
  EXPECT_EQ(CheckArguments({{"enum", e}}, json(999999)), "");
  EXPECT_EQ(CheckArguments({{"enum", e}}, json(-1)), "not one of the enum");
}

// Regression: an Anthropic answer whose tool input nested 200000 levels deep (a few hundred KB)
// crashed the gateway: the input was serialised with nlohmann's recursive dump(). It is now
// measured without recursion and refused, streamed or not.
TEST(CheckToolSchema, AnthropicInputTooDeepToRead) {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  auto c =
      AnswerChoices(Dialect::kAnthropic, false,
                    R"({"type":"message","content":[{"type":"tool_use","id":"t","name":"time",)"
                    R"("input":{"a":)" +
                        deep + R"(}}],"stop_reason":"tool_use"})");
  ASSERT_EQ(c[0].tool_calls.size(), 1u);
  EXPECT_TRUE(c[0].tool_calls[0].too_deep);
  EXPECT_EQ(CheckToolCalls(AnthropicRequest(), c[0]), "arguments nested too deep");
  const std::string stream =
      "event: content_block_start\ndata: "
      R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t",)"
      R"("name":"time","input":{"a":)" +
      deep + "}}}\n\n";
  c = AnswerChoices(Dialect::kAnthropic, true, stream);
  ASSERT_EQ(c[0].tool_calls.size(), 1u);
  EXPECT_EQ(CheckToolCalls(AnthropicRequest(), c[0]), "arguments nested too deep");
  // Deep but within the bound: read as before.
  c = AnswerChoices(Dialect::kAnthropic, false,
                    R"({"type":"message","content":[{"type":"tool_use","id":"t","name":"time",)"
                    R"("input":{"a":)" +
                        std::string(1000, '[') + std::string(1000, ']') +
                        R"(}}],"stop_reason":"tool_use"})");
  ASSERT_EQ(c[0].tool_calls.size(), 1u);
  EXPECT_FALSE(c[0].tool_calls[0].too_deep);
  EXPECT_EQ(CheckToolCalls(AnthropicRequest(), c[0]), "");
}

// Regression: an OpenAI answer whose `arguments` is no string but a JSON value nested 200000
// levels deep (OpenAI-to-OpenAI answers pass through unparsed) crashed the gateway as the
// Anthropic `input` did: the value was serialised with nlohmann's recursive dump(), and the
// deprecated `function_call` was copied (recursively too). Refused as too deep instead,
// streamed or not.
TEST(CheckToolSchema, OpenAIArgumentsValueTooDeepToRead) {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  auto c =
      AnswerChoices(Dialect::kOpenAI, false,
                    R"({"choices":[{"index":0,"message":{"role":"assistant","tool_calls":[)"
                    R"({"id":"c","type":"function","function":{"name":"time","arguments":{"a":)" +
                        deep + R"(}}}]},"finish_reason":"tool_calls"}]})");
  ASSERT_EQ(c[0].tool_calls.size(), 1u);
  EXPECT_EQ(CheckToolCalls(OpenAIRequest(), c[0]), "arguments nested too deep");
  c = AnswerChoices(Dialect::kOpenAI, false,
                    R"({"choices":[{"index":0,"message":{"role":"assistant","function_call":)"
                    R"({"name":"time","arguments":{"a":)" +
                        deep + R"(}}},"finish_reason":"function_call"}]})");
  ASSERT_EQ(c[0].tool_calls.size(), 1u);
  EXPECT_EQ(CheckToolCalls(OpenAIRequest(), c[0]), "arguments nested too deep");
  c = AnswerChoices(Dialect::kOpenAI, true,
                    Sse({OpenAIChunk(0, CallHead(0, "c", "time")),
                         OpenAIChunk(0, json::parse(R"({"tool_calls":[{"index":0,"function":)"
                                                    R"({"arguments":[[1]]}}]})")),
                         OpenAIChunk(0, json::object(), "tool_calls")}));
  ASSERT_EQ(c[0].tool_calls.size(), 1u);
  EXPECT_EQ(c[0].tool_calls[0].arguments, "[[1]]");  // shallow: read as before
  const std::string stream =
      "data: " + OpenAIChunk(0, CallHead(0, "c", "time")).dump() + "\n\ndata: " +
      R"({"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[)"
      R"({"index":0,"function":{"arguments":{"a":)" +
      deep + "}}}]}}]}\n\ndata: [DONE]\n\n";
  c = AnswerChoices(Dialect::kOpenAI, true, stream);
  ASSERT_EQ(c[0].tool_calls.size(), 1u);
  EXPECT_EQ(CheckToolCalls(OpenAIRequest(), c[0]), "arguments nested too deep");
}

// What the checker does not read is accepted: a schema it does not understand never makes a
// call invalid.
TEST(CheckToolSchema, UnknownKeywordsAreAccepted) {
  const std::string s = R"({"type":"object","properties":{
      "email":{"type":"string","format":"email","pattern":"^[a-z]+$"},
      "x":{"not":{"type":"string"}},"y":{"if":{"type":"string"},"then":{"minLength":5}},
      "z":true,"w":false,"u":{"type":7},"t":{"enum":"c"},"q":{"items":false,"minItems":-1},
      "r":{"minLength":"2","maximum":"3"},"p":{"unevaluatedProperties":false}},
      "dependentRequired":{"email":["x"]},"minProperties":5})";
  EXPECT_EQ(Why(s, R"({"email":"NOT AN EMAIL","x":"s","y":"ab","z":1,"w":1,"u":1,"t":"f",)"
                   R"("q":[1],"r":"a","p":{"k":1}})"),
            "");
  // A tool without a schema, or with one that is not an object, takes any object.
  EXPECT_EQ(CheckToolCall(OpenAIRequest(), Call("time", R"({"a":[1,{"b":null}]})")), "");
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

// Three tiers: the judge's score picks the tier with both thresholds, as ChooseTier does for
// the other routers; an invalid call alone goes to the second tier.
TEST(CascadeDecide, SecondThresholdPicksTheThirdTier) {
  RequestContext cheap;
  cheap.req = OpenAIRequest();
  for (auto [score, tier, basis] : {std::tuple{0.2, size_t{0}, "score=0.20 < 0.50"},
                                    std::tuple{0.5, size_t{1}, "score=0.50 >= 0.50"},
                                    std::tuple{0.7999, size_t{1}, "score=0.7999 >= 0.5000"},
                                    std::tuple{0.8, size_t{2}, "score=0.80 >= 0.80"},
                                    std::tuple{0.95, size_t{2}, "score=0.95 >= 0.80"}}) {
    Judged j(true, score);
    j.routing.thresholds = {0.5, 0.8};
    auto v = Gateway::Decide(j.routing, cheap, {Choice("Sunny.", {})});
    EXPECT_EQ(v.tier, tier) << score;
    EXPECT_EQ(v.escalate, tier > 0) << score;
    EXPECT_EQ(v.basis, basis);
  }
  Judged good(true, 0.2);
  good.routing.thresholds = {0.5, 0.8};
  auto v = Gateway::Decide(good.routing, cheap, {Choice("", {Call("foo", "{}")})});
  EXPECT_EQ(v.tier, 1u);
  EXPECT_TRUE(v.escalate);
  Judged bad(true, 0.9);
  bad.routing.thresholds = {0.5, 0.8};
  v = Gateway::Decide(bad.routing, cheap, {Choice("Hm.", {Call("foo", "{}")})});
  EXPECT_EQ(v.tier, 2u);
  EXPECT_EQ(v.basis, "score=0.90 >= 0.80; tool call invalid (unknown tool \"foo\")");
  // Two tiers (one threshold) never pick past the second.
  Judged two(true, 0.99);
  two.routing.thresholds = {0.5};
  EXPECT_EQ(Gateway::Decide(two.routing, cheap, {Choice("Hm.", {})}).tier, 1u);
}

// The threshold in the basis is the configured one, never rounded to the score's decimals:
// 0.999 used to print as "score=0.85 < 1.00", a calibrated 0.663335 as "0.66".
TEST(CascadeDecide, ThresholdIsPrintedAsConfigured) {
  RequestContext cheap;
  cheap.req = OpenAIRequest();
  for (auto [score, threshold, basis] : {std::tuple{0.85, 0.999, "score=0.85 < 0.999"},
                                         std::tuple{0.9995, 0.999, "score=1.000 >= 0.999"},
                                         std::tuple{0.79, 0.663335, "score=0.79 >= 0.663335"},
                                         std::tuple{0.6633, 0.663335, "score=0.66330 < 0.663335"},
                                         std::tuple{0.2, 0.5, "score=0.20 < 0.50"}}) {
    Judged j(true, score);
    j.routing.judge_threshold = threshold;
    EXPECT_EQ(Gateway::Decide(j.routing, cheap, {Choice("Sunny.", {})}).basis, basis);
  }
}

// A value that does not fit the schema escalates, with the path and the expectation in the
// basis (never the value).
TEST(CascadeDecide, WronglyTypedArgumentEscalates) {
  RequestContext cheap;
  cheap.req = OpenAIRequest();
  Judged j(true);
  auto v = Gateway::Decide(j.routing, cheap, {Choice("", {Call("weather", R"({"city":42})")})});
  EXPECT_TRUE(v.escalate);
  EXPECT_FALSE(v.judged);
  EXPECT_EQ(v.basis, "tool call invalid (city: expected string)");
  v = Gateway::Decide(j.routing, cheap, {Choice("", {Call("weather", R"({"city":"42"})")})});
  EXPECT_FALSE(v.escalate);
  EXPECT_EQ(v.basis, "tool call checked");
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
  // `io` must outlive the ledger writer's post that woke it (see RunAll in resilience_test.cc).
  g.ledger().Flush();
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
