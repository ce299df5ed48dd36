// Cross-dialect translation against the providers' wire formats: cases that once came out wrong
// (named after what broke). Fixture-driven cases live in fixture_files_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "dialect/answer.h"
#include "dialect/anthropic.h"
#include "dialect/openai.h"
#include "dialect/sse.h"
#include "dialect/stream_translate.h"
#include "dialect/translate.h"

namespace triage::dialect {
namespace {

using json = nlohmann::json;

// Feeds the `events` to a translator and returns every frame's data, parsed (Finish included).
std::vector<json> Translate(Dialect up, Dialect client, const std::vector<SseEvent>& events,
                            bool include_usage = false) {
  auto t = MakeStreamTranslator(up, client, "m");
  std::string frames;
  for (const auto& ev : events) {
    auto step = t->Feed(ev);
    EXPECT_FALSE(step.error.has_value());
    frames += step.frames;
  }
  EXPECT_TRUE(t->complete());
  frames += t->Finish(json::object(), include_usage, "");
  SseParser parser;
  std::vector<SseEvent> out;
  EXPECT_TRUE(parser.Feed(frames, out));
  std::vector<json> data;
  for (const auto& e : out) data.push_back(json::parse(e.data, nullptr, false));
  return data;
}

SseEvent A(const char* type, json data) {
  data["type"] = type;
  return SseEvent{type, data.dump()};
}

std::vector<SseEvent> AnthropicToolStream(const std::vector<std::vector<std::string>>& inputs) {
  std::vector<SseEvent> ev;
  ev.push_back(A("message_start", {{"message",
                                    {{"id", "msg_1"},
                                     {"type", "message"},
                                     {"role", "assistant"},
                                     {"model", "claude"},
                                     {"content", json::array()},
                                     {"stop_reason", nullptr},
                                     {"stop_sequence", nullptr},
                                     {"usage", {{"input_tokens", 10}, {"output_tokens", 1}}}}}}));
  ev.push_back(A("ping", json::object()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    ev.push_back(A("content_block_start", {{"index", i},
                                           {"content_block",
                                            {{"type", "tool_use"},
                                             {"id", "toolu_" + std::to_string(i)},
                                             {"name", "f" + std::to_string(i)},
                                             {"input", json::object()}}}}));
    for (const auto& piece : inputs[i])
      ev.push_back(
          A("content_block_delta",
            {{"index", i}, {"delta", {{"type", "input_json_delta"}, {"partial_json", piece}}}}));
    ev.push_back(A("content_block_stop", {{"index", i}}));
  }
  ev.push_back(
      A("message_delta", {{"delta", {{"stop_reason", "tool_use"}, {"stop_sequence", nullptr}}},
                          {"usage", {{"output_tokens", 7}}}}));
  ev.push_back(A("message_stop", json::object()));
  return ev;
}

// Joined `arguments` per OpenAI tool_calls index, as an SDK accumulates them.
std::map<int64_t, std::string> JoinedArguments(const std::vector<json>& chunks) {
  std::map<int64_t, std::string> args;
  for (const auto& c : chunks) {
    if (!c.is_object() || !c.contains("choices") || c["choices"].empty()) continue;
    const json& d = c["choices"][0]["delta"];
    if (!d.contains("tool_calls")) continue;
    for (const auto& tc : d["tool_calls"])
      args[tc["index"].get<int64_t>()] += tc["function"].value("arguments", "");
  }
  return args;
}

// The Messages API streams a tool with no input as a tool_use block whose only input_json_delta
// is "" (or none at all); the OpenAI client must still get valid JSON arguments ("{}", as the
// non-streaming translation and OpenAI itself give), not "", which JSON.parse refuses.
TEST(AnthropicToOpenAIStream, ToolWithEmptyInputGetsEmptyObjectArguments) {
  for (const std::vector<std::string>& pieces :
       {std::vector<std::string>{""}, std::vector<std::string>{}}) {
    SCOPED_TRACE(pieces.size());
    auto chunks = Translate(Dialect::kAnthropic, Dialect::kOpenAI,
                            AnthropicToolStream({pieces, {"{\"a\":", " 1}"}, pieces}));
    auto args = JoinedArguments(chunks);
    ASSERT_EQ(args.size(), 3u);
    EXPECT_EQ(args[0], "{}");
    EXPECT_EQ(args[1], "{\"a\": 1}");
    EXPECT_EQ(args[2], "{}");
  }
}

// OpenAI streams a refusal as delta.refusal and finish_reason "stop"; the non-streaming
// translation reports stop_reason "refusal" for the same answer, so the stream must too.
TEST(OpenAIToAnthropicStream, StreamedRefusalStopsWithRefusal) {
  auto chunk = [](json delta, json finish) {
    return SseEvent{"", json{{"id", "chatcmpl-1"},
                             {"object", "chat.completion.chunk"},
                             {"created", 1},
                             {"model", "gpt"},
                             {"choices", json::array({json{{"index", 0},
                                                           {"delta", std::move(delta)},
                                                           {"finish_reason", std::move(finish)}}})}}
                            .dump()};
  };
  std::vector<SseEvent> in = {
      chunk({{"role", "assistant"}, {"content", nullptr}, {"refusal", ""}}, nullptr),
      chunk({{"refusal", "I can't "}}, nullptr), chunk({{"refusal", "help."}}, nullptr),
      chunk(json::object(), "stop"), SseEvent{"", "[DONE]"}};
  auto events = Translate(Dialect::kOpenAI, Dialect::kAnthropic, in);
  std::string text, stop;
  for (const auto& e : events) {
    if (e.value("type", "") == "content_block_delta") text += e["delta"].value("text", "");
    if (e.value("type", "") == "message_delta") stop = e["delta"].value("stop_reason", "");
  }
  EXPECT_EQ(text, "I can't help.");
  EXPECT_EQ(stop, "refusal");
  // The same answer, not streamed.
  auto unary = ParseOpenAIResponse(
      json::parse(R"({"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":null,)"
                  R"("refusal":"I can't help."},"finish_reason":"stop"}]})"));
  ASSERT_TRUE(unary.ok());
  EXPECT_EQ(RenderAnthropicResponse(*unary)["stop_reason"], stop);
}

json OpenAIChunk(json delta, json finish = nullptr) {
  return json{{"id", "chatcmpl-1"},
              {"object", "chat.completion.chunk"},
              {"created", 1},
              {"model", "gpt"},
              {"choices", json::array({json{{"index", 0},
                                            {"delta", std::move(delta)},
                                            {"finish_reason", std::move(finish)}}})}};
}

// A usage chunk the gateway writes itself (the upstream sent none) has the head of every other
// chunk of the stream: it used to have only `object`, `choices` and `usage`.
TEST(OpenAIPassThroughStream, WrittenUsageChunkHasTheStreamsHead) {
  json first = OpenAIChunk({{"role", "assistant"}, {"content", "hi"}});
  first["system_fingerprint"] = "fp_1";
  auto chunks =
      Translate(Dialect::kOpenAI, Dialect::kOpenAI,
                {SseEvent{"", first.dump()},
                 SseEvent{"", OpenAIChunk(json::object(), "stop").dump()}, SseEvent{"", "[DONE]"}},
                /*include_usage=*/true);
  ASSERT_GE(chunks.size(), 2u);
  const json& usage = chunks.at(chunks.size() - 2);
  EXPECT_EQ(usage["choices"], json::array());
  EXPECT_TRUE(usage.contains("usage"));
  for (const char* k : {"id", "object", "created", "model", "system_fingerprint"})
    EXPECT_EQ(usage[k], first[k]) << k;
}

// OpenAI ends a forced call (a named tool_choice) with finish_reason "stop", vLLM a named one:
// an Anthropic client got stop_reason end_turn next to its tool_use block, where the Messages
// API always says tool_use. A call cut short stays max_tokens.
TEST(OpenAIToAnthropic, ToolCallsEndingWithStopAreToolUse) {
  for (const std::string finish : {"stop", "tool_calls", "length", ""}) {
    SCOPED_TRACE(finish);
    const std::string want = finish == "length" ? "max_tokens" : "tool_use";
    json call = {{"index", 0},
                 {"id", "call_1"},
                 {"type", "function"},
                 {"function", {{"name", "f"}, {"arguments", R"({"a":1})"}}}};
    std::vector<SseEvent> in = {SseEvent{"", OpenAIChunk({{"tool_calls", {call}}}).dump()}};
    if (!finish.empty()) in.push_back(SseEvent{"", OpenAIChunk(json::object(), finish).dump()});
    in.push_back(SseEvent{"", "[DONE]"});
    std::string stop;
    for (const auto& e : Translate(Dialect::kOpenAI, Dialect::kAnthropic, in))
      if (e.value("type", "") == "message_delta") stop = e["delta"]["stop_reason"];
    EXPECT_EQ(stop, want);

    call.erase("index");
    json answer = {
        {"id", "c"},
        {"model", "m"},
        {"choices",
         {{{"index", 0},
           {"message", {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", {call}}}},
           {"finish_reason", finish.empty() ? json(nullptr) : json(finish)}}}}};
    for (const AnswerReading& read : {ReadAnswer(Dialect::kOpenAI, answer.dump()),
                                      ReadAnswerTree(Dialect::kOpenAI, answer.dump())}) {
      ASSERT_TRUE(read.response && read.response->ok());
      EXPECT_EQ(json::parse(WriteAnthropicResponse(**read.response))["stop_reason"], want);
    }
  }
  // Text alone that ends with "stop" is still end_turn, and so is text that ends with
  // "tool_calls" (vLLM, tool_choice "required" without a tool parser): no tool_use block, no
  // tool_use stop.
  for (const char* finish : {"stop", "tool_calls"}) {
    SCOPED_TRACE(finish);
    auto events = Translate(Dialect::kOpenAI, Dialect::kAnthropic,
                            {SseEvent{"", OpenAIChunk({{"content", "hi"}}, finish).dump()}});
    EXPECT_EQ(events.at(events.size() - 2)["delta"]["stop_reason"], "end_turn");
    const std::string answer =
        std::string(R"({"id":"c","model":"m","choices":[{"index":0,"message":{"role":)") +
        R"("assistant","content":"hi","tool_calls":[]},"finish_reason":")" + finish + R"("}]})";
    for (const AnswerReading& read :
         {ReadAnswer(Dialect::kOpenAI, answer), ReadAnswerTree(Dialect::kOpenAI, answer)}) {
      ASSERT_TRUE(read.response && read.response->ok());
      EXPECT_EQ(json::parse(WriteAnthropicResponse(**read.response))["stop_reason"], "end_turn");
    }
  }
}

// vLLM names the stop string that ended an answer in the choice's `stop_reason`, SGLang in
// `matched_stop` (an integer there is a stop token id, such as EOS). An Anthropic client that sent
// stop_sequences got end_turn and a null stop_sequence, streamed or not.
TEST(OpenAIToAnthropic, MatchedStopStringIsStopSequence) {
  struct Case {
    json extra;  // members added to choices[0]
    std::string finish, reason, sequence;
  } cases[] = {
      {{{"stop_reason", "END"}}, "stop", "stop_sequence", "END"},
      {{{"matched_stop", "</answer>"}}, "stop", "stop_sequence", "</answer>"},
      {{{"stop_reason", 2}}, "stop", "end_turn", ""},
      {{{"matched_stop", 151645}}, "stop", "end_turn", ""},
      {{{"stop_reason", nullptr}}, "stop", "end_turn", ""},
      {{{"stop_reason", "END"}}, "length", "max_tokens", ""},
      {json::object(), "stop", "end_turn", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.extra.dump() + " " + c.finish);
    json last = OpenAIChunk(json::object(), c.finish);
    last["choices"][0].update(c.extra);
    const std::string data = last.dump();
    EXPECT_EQ(ReadOpenAIChunk(data).stop_sequence, c.sequence);
    EXPECT_EQ(ReadOpenAIChunkTree(data).stop_sequence, c.sequence);
    auto events = Translate(Dialect::kOpenAI, Dialect::kAnthropic,
                            {SseEvent{"", OpenAIChunk({{"content", "abc"}}).dump()},
                             SseEvent{"", data}, SseEvent{"", "[DONE]"}});
    json delta;
    for (const auto& e : events)
      if (e.value("type", "") == "message_delta") delta = e["delta"];
    EXPECT_EQ(delta["stop_reason"], c.reason);
    EXPECT_EQ(delta["stop_sequence"], c.sequence.empty() ? json(nullptr) : json(c.sequence));

    json answer = json::parse(R"({"id":"c","object":"chat.completion","model":"m","choices":)"
                              R"([{"index":0,"message":{"role":"assistant","content":"abc"}}]})");
    answer["choices"][0]["finish_reason"] = c.finish;
    answer["choices"][0].update(c.extra);
    for (const AnswerReading& read : {ReadAnswer(Dialect::kOpenAI, answer.dump()),
                                      ReadAnswerTree(Dialect::kOpenAI, answer.dump())}) {
      ASSERT_TRUE(read.response && read.response->ok());
      const json out = json::parse(WriteAnthropicResponse(**read.response));
      EXPECT_EQ(out["stop_reason"], c.reason);
      EXPECT_EQ(out["stop_sequence"], c.sequence.empty() ? json(nullptr) : json(c.sequence));
    }
    auto parsed = ParseOpenAIResponse(answer);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(RenderAnthropicResponse(*parsed)["stop_sequence"],
              c.sequence.empty() ? json(nullptr) : json(c.sequence));
    // Towards an OpenAI client it is still "stop".
    EXPECT_EQ(RenderOpenAIResponse(*parsed, 1)["choices"][0]["finish_reason"], c.finish);
  }
}

// Ollama's OpenAI-compatible stream numbers every call of a parallel answer 0 (each call whole
// in one delta, with its own id), and some servers send no index at all, read as 0. The
// translator appended the second call to the first: one tool_use whose input was
// `{"path":"a"}{"path":"b"}`, which no client can parse.
TEST(OpenAIToAnthropicStream, ParallelCallsSharingAnIndexStayApart) {
  auto call = [](const char* id, const char* args, bool with_index) {
    json tc = {
        {"id", id}, {"type", "function"}, {"function", {{"name", "write"}, {"arguments", args}}}};
    if (with_index) tc["index"] = 0;
    return OpenAIChunk({{"tool_calls", json::array({tc})}});
  };
  for (bool with_index : {true, false}) {
    SCOPED_TRACE(with_index);
    std::vector<SseEvent> in = {
        SseEvent{"", OpenAIChunk({{"role", "assistant"}, {"content", ""}}).dump()},
        SseEvent{"", call("call_a", R"({"path":"a"})", with_index).dump()},
        SseEvent{"", call("call_b", R"({"path":"b"})", with_index).dump()},
        // The same id again continues its call (servers that repeat the id in every delta).
        SseEvent{"",
                 OpenAIChunk({{"tool_calls", json::array({{{"index", 0},
                                                           {"id", "call_b"},
                                                           {"function", {{"arguments", ""}}}}})}})
                     .dump()},
        SseEvent{"", OpenAIChunk(json::object(), "tool_calls").dump()}, SseEvent{"", "[DONE]"}};
    auto events = Translate(Dialect::kOpenAI, Dialect::kAnthropic, in);
    std::map<int64_t, std::string> ids, inputs;
    for (const auto& e : events) {
      if (e.value("type", "") == "content_block_start")
        ids[e["index"].get<int64_t>()] = e["content_block"].value("id", "");
      if (e.value("type", "") == "content_block_delta")
        inputs[e["index"].get<int64_t>()] += e["delta"].value("partial_json", "");
    }
    ASSERT_EQ(ids.size(), 2u);
    EXPECT_EQ(ids[0], "toolu_call_a");
    EXPECT_EQ(ids[1], "toolu_call_b");
    EXPECT_EQ(inputs[0], R"({"path":"a"})");
    EXPECT_EQ(inputs[1], R"({"path":"b"})");
  }
}

// A server tool's block (server_tool_use for web search, mcp_tool_use) streams its input as
// input_json_delta like a tool_use block. It has no OpenAI form (the non-streaming translation
// leaves it out), but its input went out as a tool_calls delta with index 0 and no id: the
// openai SDK's stream helper threw "tool call snapshot missing `type`", and beside a real call
// the query would have been appended to that call's arguments.
TEST(AnthropicToOpenAIStream, ServerToolInputIsNotAToolCall) {
  std::vector<SseEvent> ev = AnthropicToolStream({{R"({"a":1})"}});
  const std::vector<SseEvent> server = {
      A("content_block_start", {{"index", 1},
                                {"content_block",
                                 {{"type", "server_tool_use"},
                                  {"id", "srvtoolu_1"},
                                  {"name", "web_search"},
                                  {"input", json::object()}}}}),
      A("content_block_delta",
        {{"index", 1},
         {"delta", {{"type", "input_json_delta"}, {"partial_json", R"({"query":"x"})"}}}}),
      A("content_block_stop", {{"index", 1}})};
  // message_start, ping, the tool block (start, delta, stop), then the server tool's block.
  ev.insert(ev.begin() + 2, server.begin(), server.end());
  auto t = MakeStreamTranslator(Dialect::kAnthropic, Dialect::kOpenAI, "m");
  int64_t chars = 0;
  for (const auto& e : ev) chars += t->Feed(e).text_chars;
  EXPECT_EQ(chars, 7 + 13);  // the server tool's input is generated output all the same
  auto args = JoinedArguments(Translate(Dialect::kAnthropic, Dialect::kOpenAI, ev));
  ASSERT_EQ(args.size(), 1u);
  EXPECT_EQ(args[0], R"({"a":1})");
}

// Events after the terminal one ([DONE], message_stop) are not the answer's: a server or proxy
// that sent more (a repeated chunk, bytes that are no JSON) failed a complete answer with
// "malformed chunk", or had its extra text passed on. They are ignored, in all four directions.
TEST(StreamTranslators, EventsAfterTheTerminalEventAreIgnored) {
  const std::vector<SseEvent> openai = {
      SseEvent{"", OpenAIChunk({{"role", "assistant"}, {"content", "Hi"}}).dump()},
      SseEvent{"", OpenAIChunk(json::object(), "stop").dump()}, SseEvent{"", "[DONE]"}};
  const std::vector<SseEvent> anthropic = [] {
    auto ev = AnthropicToolStream({});
    return ev;
  }();
  const std::vector<SseEvent> after = {
      SseEvent{"", "{not json"}, SseEvent{"", OpenAIChunk({{"content", "LATE"}}).dump()},
      A("content_block_delta",
        {{"index", 0}, {"delta", {{"type", "text_delta"}, {"text", "LATE"}}}}),
      SseEvent{"error", R"({"type":"error","error":{"type":"api_error","message":"x"}})"}};
  for (Dialect up : {Dialect::kOpenAI, Dialect::kAnthropic}) {
    for (Dialect client : {Dialect::kOpenAI, Dialect::kAnthropic}) {
      SCOPED_TRACE(std::to_string(int(up)) + "->" + std::to_string(int(client)));
      auto t = MakeStreamTranslator(up, client, "m");
      for (const auto& e : up == Dialect::kOpenAI ? openai : anthropic) t->Feed(e);
      EXPECT_TRUE(t->ended());
      for (const auto& e : after) {
        auto step = t->Feed(e);
        EXPECT_FALSE(step.error.has_value());
        EXPECT_EQ(step.frames, "");
        EXPECT_FALSE(step.content);
      }
    }
  }
  // finish_reason alone completes an OpenAI answer but does not end the stream: the usage
  // chunk still follows it.
  auto t = MakeStreamTranslator(Dialect::kOpenAI, Dialect::kOpenAI, "m");
  t->Feed(openai[1]);
  EXPECT_TRUE(t->complete());
  EXPECT_FALSE(t->ended());
}

// vLLM, DeepSeek and Ollama stream their reasoning as delta.reasoning_content / reasoning. It
// is not translated for an Anthropic client (there is no signed thinking block to give), but it
// is generated output: a stream cut before its usage is billed from it, as the same stream is
// for an OpenAI client. The translator counted none of it.
TEST(OpenAIToAnthropicStream, ReasoningCountsTowardsTheOutputEstimate) {
  const std::vector<SseEvent> in = {
      SseEvent{"",
               OpenAIChunk({{"role", "assistant"}, {"reasoning_content", "Let me think"}}).dump()},
      SseEvent{"", OpenAIChunk({{"reasoning", "ééé"}}).dump()},
      SseEvent{"", OpenAIChunk({{"content", "42"}}).dump()}};
  for (Dialect client : {Dialect::kOpenAI, Dialect::kAnthropic}) {
    auto t = MakeStreamTranslator(Dialect::kOpenAI, client, "m");
    int64_t chars = 0;
    for (const auto& e : in) chars += t->Feed(e).text_chars;
    EXPECT_EQ(chars, 12 + 3 + 2) << int(client);
  }
  for (const auto& e : in) EXPECT_EQ(ReadOpenAIChunkTree(e.data), ReadOpenAIChunk(e.data));
}

// Anthropic's toolsets have no `name` (mcp_toolset, browser_toolset_..., computer_toolset_...):
// they pass to an Anthropic upstream unchanged and, like the other server tools, are dropped
// towards OpenAI and reported as `tools.<type>`; the custom tool beside them is kept.
TEST(AnthropicToOpenAIRequest, NamelessToolsetsAreDroppedLikeServerTools) {
  auto req = ParseAnthropicMessages(
      R"({"model":"m","max_tokens":5,"tools":[{"type":"mcp_toolset","mcp_server_name":"docs"},)"
      R"({"type":"browser_toolset_20260801"},{"type":"computer_toolset_20260801"},)"
      R"({"name":"f","input_schema":{"type":"object"}}],)"
      R"("messages":[{"role":"user","content":"hi"}]})",
      64);
  ASSERT_TRUE(req.ok()) << req.error().message;
  std::vector<std::string> dropped;
  json out = ToOpenAIRequest(*req, "up", &dropped);
  ASSERT_EQ(out["tools"].size(), 1u);
  EXPECT_EQ(out["tools"][0]["function"]["name"], "f");
  for (const char* d :
       {"tools.mcp_toolset", "tools.browser_toolset_20260801", "tools.computer_toolset_20260801"})
    EXPECT_NE(std::find(dropped.begin(), dropped.end(), d), dropped.end()) << d;
  EXPECT_EQ(json::parse(OpenAIRequestBody(*req, "up")), out);
  json same = json::parse(AnthropicRequestBody(*req, "up"));
  EXPECT_EQ(same["tools"], req->body["tools"]);  // unchanged towards Anthropic
}

// A tool_choice with no tools left (none sent, or only Anthropic server tools, which are
// dropped) must not reach an OpenAI-compatible upstream: vLLM refuses it ("When using
// `tool_choice`, `tools` must be set."). Anthropic -> OpenAI only; the other way already sent
// tool_choice only with tools.
TEST(AnthropicToOpenAIRequest, ToolChoiceWithoutToolsIsNotSent) {
  const std::vector<std::string> bodies = {
      R"({"model":"m","max_tokens":5,"tool_choice":{"type":"auto"},)"
      R"("messages":[{"role":"user","content":"hi"}]})",
      R"({"model":"m","max_tokens":5,"tool_choice":{"type":"any","disable_parallel_tool_use":true},)"
      R"("tools":[{"type":"web_search_20250305","name":"web_search"}],)"
      R"("messages":[{"role":"user","content":"hi"}]})",
  };
  for (const auto& b : bodies) {
    SCOPED_TRACE(b);
    auto req = ParseAnthropicMessages(b, 64);
    ASSERT_TRUE(req.ok()) << req.error().message;
    std::vector<std::string> dropped;
    json out = ToOpenAIRequest(*req, "up", &dropped);
    EXPECT_FALSE(out.contains("tools"));
    EXPECT_FALSE(out.contains("tool_choice"));
    EXPECT_FALSE(out.contains("parallel_tool_calls"));
    EXPECT_NE(std::find(dropped.begin(), dropped.end(), "tool_choice (no tools)"), dropped.end());
    json bytes = json::parse(OpenAIRequestBody(*req, "up"));
    EXPECT_EQ(bytes, out);
  }
  // With tools it is still sent.
  auto req = ParseAnthropicMessages(R"({"model":"m","max_tokens":5,"tool_choice":{"type":"none"},)"
                                    R"("tools":[{"name":"f","input_schema":{"type":"object"}}],)"
                                    R"("messages":[{"role":"user","content":"hi"}]})",
                                    64);
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(ToOpenAIRequest(*req, "up")["tool_choice"], "none");
}

// Anthropic's strict tool use (`strict: true`: inputs guaranteed to follow the schema) is OpenAI's
// `function.strict`; it was lost without being named. Tool members with no Chat Completions slot
// are named once each.
TEST(AnthropicToOpenAIRequest, StrictToolStaysStrictAndOtherToolMembersAreNamed) {
  auto req = ParseAnthropicMessages(
      R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"tools":[)"
      R"({"name":"a","input_schema":{"type":"object"},"strict":true,"input_examples":[{}],)"
      R"("defer_loading":true},)"
      R"({"name":"b","input_schema":{"type":"object"},"strict":false,"input_examples":[{}],)"
      R"("eager_input_streaming":null},)"
      // Members at the value the API takes when they are absent lose nothing: not named.
      R"({"name":"c","input_schema":{"type":"object"},"eager_input_streaming":false,)"
      R"("allowed_callers":["direct"],"input_examples":[]}]})",
      64);
  ASSERT_TRUE(req.ok()) << req.error().message;
  std::vector<std::string> dropped;
  json out = ToOpenAIRequest(*req, "up", &dropped);
  EXPECT_EQ(out["tools"][0]["function"]["strict"], true);
  EXPECT_FALSE(out["tools"][1]["function"].contains("strict"));
  EXPECT_EQ(dropped, (std::vector<std::string>{"tools.defer_loading", "tools.input_examples"}));
  std::vector<std::string> dropped_bytes;
  EXPECT_EQ(json::parse(OpenAIRequestBody(*req, "up", &dropped_bytes)), out);
  EXPECT_EQ(dropped_bytes, dropped);
}

// Current Claude models refuse `temperature` and `top_p` together ("`temperature` and `top_p`
// cannot both be specified for this model. Please use only one."), and OpenAI clients often
// send both: temperature is kept, top_p dropped and named. Either alone is sent as it was.
TEST(OpenAIToAnthropicRequest, TemperatureAndTopPAreNotSentTogether) {
  auto translate = [](const std::string& params, std::vector<std::string>* dropped) {
    auto req = ParseOpenAIChat(
        R"({"model":"m",)" + params + R"("messages":[{"role":"user","content":"hi"}]})", 64);
    EXPECT_TRUE(req.ok());
    json tree = ToAnthropicRequest(*req, "up", dropped);
    EXPECT_EQ(json::parse(AnthropicRequestBody(*req, "up")), tree);
    return tree;
  };
  std::vector<std::string> dropped;
  json both = translate(R"("temperature":0.7,"top_p":0.9,)", &dropped);
  EXPECT_EQ(both["temperature"], 0.7);
  EXPECT_FALSE(both.contains("top_p"));
  EXPECT_EQ(dropped, std::vector<std::string>{"top_p (sent with temperature)"});
  dropped.clear();
  json top_p = translate(R"("top_p":0.9,)", &dropped);
  EXPECT_EQ(top_p["top_p"], 0.9);
  EXPECT_FALSE(top_p.contains("temperature"));
  EXPECT_TRUE(dropped.empty());
  json temperature = translate(R"("temperature":0.2,)", &dropped);
  EXPECT_EQ(temperature["temperature"], 0.2);
  EXPECT_FALSE(temperature.contains("top_p"));
  EXPECT_TRUE(dropped.empty());
}

// top_p 1 (OpenAI's default, which many clients send with every temperature) samples from the
// whole distribution, as a request without it does: leaving it out is no loss, not reported.
TEST(OpenAIToAnthropicRequest, DefaultTopPWithTemperatureIsNotReported) {
  auto req = ParseOpenAIChat(
      R"({"model":"m","temperature":0.3,"top_p":1,"messages":[{"role":"user","content":"hi"}]})",
      64);
  ASSERT_TRUE(req.ok());
  std::vector<std::string> dropped;
  json out = ToAnthropicRequest(*req, "up", &dropped);
  EXPECT_FALSE(out.contains("top_p"));
  EXPECT_EQ(out["temperature"], 0.3);
  EXPECT_TRUE(dropped.empty()) << json(dropped);
}

// The Messages API can send `event: error` with overloaded_error after a 200; both Anthropic
// translators report the type, so the gateway can answer the client as for an HTTP 529.
TEST(AnthropicStreamErrors, ErrorEventReportsItsType) {
  const std::string data =
      R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})";
  for (Dialect client : {Dialect::kAnthropic, Dialect::kOpenAI}) {
    auto t = MakeStreamTranslator(Dialect::kAnthropic, client, "m");
    auto step = t->Feed(SseEvent{"error", data});
    ASSERT_TRUE(step.error.has_value());
    EXPECT_EQ(*step.error, "Overloaded");
    EXPECT_EQ(step.error_type, "overloaded_error");
  }
  // The simdjson readings and their tree references agree on it.
  EXPECT_EQ(InspectAnthropicEvent(data).error_type, "overloaded_error");
  EXPECT_EQ(InspectAnthropicEventTree(data), InspectAnthropicEvent(data));
  EXPECT_EQ(ReadAnthropicEvent(data).error_type, "overloaded_error");
  EXPECT_EQ(ReadAnthropicEventTree(data), ReadAnthropicEvent(data));
}

// The Messages API's error body carries the request's id (`request_id`, the SDK's ErrorResponse
// type); the gateway's bodies carry its own id when the request has one, and no member before.
TEST(AnthropicErrorBody, CarriesRequestIdWhenKnown) {
  const Error e = Error::Make(ErrorKind::kRateLimit, "rate_limited", "slow down");
  const json with = json::parse(AnthropicErrorBody(e, "req_abc"));
  EXPECT_EQ(with, json::parse(R"({"type":"error","error":{"type":"rate_limit_error",)"
                              R"("message":"slow down"},"request_id":"req_abc"})"));
  EXPECT_FALSE(json::parse(AnthropicErrorBody(e)).contains("request_id"));
}

// A data URL labelled image/jpg (a common non-standard label that OpenAI accepts) must reach
// Anthropic as image/jpeg: the Messages API accepts only image/jpeg, image/png, image/gif and
// image/webp ("...media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or
// 'image/webp'"), in lower case.
TEST(OpenAIToAnthropicRequest, ImageJpgMediaTypeIsSentAsJpeg) {
  auto req = ParseOpenAIChat(
      R"({"model":"m","messages":[{"role":"user","content":[)"
      R"({"type":"image_url","image_url":{"url":"data:image/jpg;base64,QUJD"}},)"
      R"({"type":"image_url","image_url":{"url":"data:IMAGE/JPG;base64,QUJD"}},)"
      R"({"type":"image_url","image_url":{"url":"data:Image/PNG;base64,QUJD"}}]}]})",
      64);
  ASSERT_TRUE(req.ok());
  json out = ToAnthropicRequest(*req, "up");
  EXPECT_EQ(json::parse(AnthropicRequestBody(*req, "up")), out);
  const json& blocks = out["messages"][0]["content"];
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[0]["source"]["media_type"], "image/jpeg");
  EXPECT_EQ(blocks[1]["source"]["media_type"], "image/jpeg");
  EXPECT_EQ(blocks[2]["source"]["media_type"], "image/png");
  EXPECT_EQ(blocks[0]["source"]["data"], "QUJD");
}

// Anthropic refuses a stop sequence that is empty or only whitespace ("stop_sequences: each stop
// sequence must contain non-whitespace"); OpenAI takes stop "\n". CheckTranslatable refuses it
// for Anthropic deployments (the plan then keeps only the others), not for OpenAI ones.
TEST(CheckTranslatable, WhitespaceOnlyStopCannotGoToAnthropic) {
  for (const char* stop : {R"("\n")", R"([" \t"])", R"(["END", ""])"}) {
    SCOPED_TRACE(stop);
    auto req = ParseOpenAIChat(std::string(R"({"model":"m","stop":)") + stop +
                                   R"(,"messages":[{"role":"user","content":"hi"}]})",
                               64);
    ASSERT_TRUE(req.ok());
    auto e = CheckTranslatable(*req, Dialect::kAnthropic);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(HttpStatus(e->kind), 400);
    EXPECT_NE(e->message.find("stop:"), std::string::npos) << e->message;
    EXPECT_FALSE(CheckTranslatable(*req, Dialect::kOpenAI).has_value());
  }
  auto ok = ParseOpenAIChat(
      R"({"model":"m","stop":["\nEND"," x "],"messages":[{"role":"user","content":"hi"}]})", 64);
  ASSERT_TRUE(ok.ok());
  EXPECT_FALSE(CheckTranslatable(*ok, Dialect::kAnthropic).has_value());
  EXPECT_EQ(ToAnthropicRequest(*ok, "up")["stop_sequences"], json::parse(R"(["\nEND"," x "])"));
}

// OpenAI's own API refuses more than 4 stop sequences (vLLM, llama.cpp and Ollama take more):
// a deployment on it is given a limit, and a request over it is refused for that deployment
// (the plan keeps the others) in either dialect, rather than cut (which would change the answer).
TEST(CheckStopLimit, MoreThanTheLimitIsRefused) {
  auto oa = ParseOpenAIChat(
      R"({"model":"m","stop":["a","b","c","d","e"],"messages":[{"role":"user","content":"hi"}]})",
      64);
  auto an = ParseAnthropicMessages(
      R"({"model":"m","max_tokens":8,"stop_sequences":["a","b","c","d","e"],)"
      R"("messages":[{"role":"user","content":"hi"}]})",
      64);
  ASSERT_TRUE(oa.ok());
  ASSERT_TRUE(an.ok());
  for (const auto* req : {&*oa, &*an}) {
    auto e = CheckStopLimit(*req, 4);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(HttpStatus(e->kind), 400);
    EXPECT_NE(e->message.find("5 stop sequences"), std::string::npos) << e->message;
    EXPECT_NE(e->message.find("at most 4"), std::string::npos) << e->message;
    EXPECT_FALSE(CheckStopLimit(*req, 0).has_value());  // no known limit
    EXPECT_FALSE(CheckStopLimit(*req, 5).has_value());
  }
  EXPECT_NE(CheckStopLimit(*an, 4)->message.find("stop_sequences:"), std::string::npos);
  auto four = ParseOpenAIChat(
      R"({"model":"m","stop":["a","b","c","d"],"messages":[{"role":"user","content":"hi"}]})", 64);
  ASSERT_TRUE(four.ok());
  EXPECT_FALSE(CheckStopLimit(*four, 4).has_value());
  auto one = ParseOpenAIChat(
      R"({"model":"m","stop":"abcdef","messages":[{"role":"user","content":"hi"}]})", 64);
  ASSERT_TRUE(one.ok());
  EXPECT_FALSE(CheckStopLimit(*one, 4).has_value());
}

// An OpenAI message's `name` has no Anthropic slot: reported once, however many messages have
// one (it used to be lost without a word); the legacy function role's name is the call's id.
TEST(ToAnthropicRequest, MessageNameIsReportedDropped) {
  auto req = ParseOpenAIChat(
      R"({"model":"m","messages":[{"role":"system","name":"rules","content":"be brief"},)"
      R"({"role":"user","name":"alice","content":"hi"},{"role":"user","name":"bob","content":"yo"}]})",
      64);
  ASSERT_TRUE(req.ok());
  std::vector<std::string> dropped;
  json out = ToAnthropicRequest(*req, "up", &dropped);
  EXPECT_EQ(std::count(dropped.begin(), dropped.end(), "messages.name"), 1) << json(dropped);
  EXPECT_EQ(out["messages"].size(), 1u);
  std::vector<std::string> again;
  EXPECT_EQ(json::parse(AnthropicRequestBody(*req, "up", &again)), out);
  EXPECT_EQ(again, dropped);
}

// OpenAI parameters sent at their default value (LangChain's ChatOpenAI sends
// frequency_penalty 0 and presence_penalty 0; many clients send logprobs false, store false)
// lose nothing towards Anthropic: not reported. Another value still is.
TEST(ToAnthropicRequest, DefaultValuedOpenAIParametersAreNotReported) {
  auto quiet = ParseOpenAIChat(
      R"({"model":"m","frequency_penalty":0,"presence_penalty":0.0,"logprobs":false,)"
      R"("logit_bias":{},"store":false,"top_logprobs":0,"messages":[{"role":"user","content":"hi"}]})",
      64);
  ASSERT_TRUE(quiet.ok()) << quiet.error().message;
  std::vector<std::string> dropped;
  ToAnthropicRequest(*quiet, "up", &dropped);
  EXPECT_TRUE(dropped.empty()) << json(dropped);
  auto loud = ParseOpenAIChat(
      R"({"model":"m","frequency_penalty":0.5,"presence_penalty":-1,"logprobs":true,)"
      R"("logit_bias":{"50256":-100},"store":true,"messages":[{"role":"user","content":"hi"}]})",
      64);
  ASSERT_TRUE(loud.ok()) << loud.error().message;
  dropped.clear();
  ToAnthropicRequest(*loud, "up", &dropped);
  EXPECT_EQ(dropped, (std::vector<std::string>{"frequency_penalty", "presence_penalty",
                                               "logit_bias", "logprobs", "store"}));
}

// The Messages API takes an empty final assistant turn (no prefill); towards OpenAI it went out
// as {"role":"assistant","content":""}, which a chat template renders as an empty assistant
// turn before the one the model writes. Left out.
TEST(ToOpenAIRequest, EmptyFinalAssistantTurnIsLeftOut) {
  for (const char* content : {R"("")", R"([{"type":"text","text":""}])", "[]"}) {
    SCOPED_TRACE(content);
    auto req = ParseAnthropicMessages(
        std::string(R"({"model":"m","max_tokens":16,"messages":[{"role":"user","content":"hi"},)") +
            R"({"role":"assistant","content":)" + content + "}]}",
        64);
    ASSERT_TRUE(req.ok()) << req.error().message;
    json out = ToOpenAIRequest(*req, "up");
    EXPECT_EQ(out["messages"], json::parse(R"([{"role":"user","content":"hi"}])"));
    EXPECT_EQ(json::parse(OpenAIRequestBody(*req, "up")), out);
  }
}

// thinking {"type":"disabled"} loses nothing towards OpenAI; enabled and adaptive do.
TEST(ToOpenAIRequest, ThinkingDisabledIsNotReported) {
  for (const auto& [thinking, reported] : std::vector<std::pair<std::string, bool>>{
           {R"({"type":"disabled"})", false},
           {R"({"type":"enabled","budget_tokens":2048})", true},
           {R"({"type":"adaptive"})", true}}) {
    SCOPED_TRACE(thinking);
    auto req = ParseAnthropicMessages(R"({"model":"m","max_tokens":4096,"thinking":)" + thinking +
                                          R"(,"messages":[{"role":"user","content":"hi"}]})",
                                      64);
    ASSERT_TRUE(req.ok()) << req.error().message;
    std::vector<std::string> dropped;
    json out = ToOpenAIRequest(*req, "up", &dropped);
    EXPECT_EQ(std::count(dropped.begin(), dropped.end(), "thinking") == 1, reported);
    EXPECT_FALSE(out.contains("thinking"));
  }
}

// The Messages API refuses a text block that is empty or only whitespace ("messages: text
// content blocks must contain non-whitespace text"); OpenAI takes both. Such blocks are left
// out towards Anthropic (they used to be sent when they held a space or a newline), in user and
// assistant turns and inside tool results.
TEST(OpenAIToAnthropicRequest, WhitespaceOnlyTextIsNotSent) {
  auto req = ParseOpenAIChat(
      R"({"model":"m","messages":[{"role":"user","content":"hi"},)"
      R"({"role":"assistant","content":" \n","tool_calls":[{"id":"c1","type":"function",)"
      R"("function":{"name":"f","arguments":"{}"}}]},)"
      R"({"role":"tool","tool_call_id":"c1","content":"\n"},)"
      R"({"role":"user","content":[{"type":"text","text":"\t"},{"type":"text","text":"go on"}]}]})",
      64);
  ASSERT_TRUE(req.ok()) << req.error().message;
  EXPECT_FALSE(CheckTranslatable(*req, Dialect::kAnthropic).has_value());
  json out = ToAnthropicRequest(*req, "up");
  EXPECT_EQ(json::parse(AnthropicRequestBody(*req, "up")), out);
  ASSERT_EQ(out["messages"].size(), 3u) << out.dump();
  EXPECT_EQ(out["messages"][1]["content"],
            json::parse(R"([{"type":"tool_use","id":"c1","name":"f","input":{}}])"));
  EXPECT_EQ(out["messages"][2]["content"],
            json::parse(R"([{"type":"tool_result","tool_use_id":"c1"},)"
                        R"({"type":"text","text":"go on"}])"));
}

// When leaving out empty text leaves nothing to answer (no message at all, or the client's last
// user turn gone so that the request would end with an assistant turn, which Anthropic reads
// as a prefill to continue), the request cannot go to Anthropic: a clear 400 instead of the
// upstream's. A client that ends with an assistant turn itself still gets its prefill.
TEST(CheckTranslatable, NothingLeftToAnswerCannotGoToAnthropic) {
  for (const char* msgs : {
           R"([{"role":"system","content":"be brief"}])",
           R"([{"role":"user","content":" "}])",
           R"([{"role":"user","content":"hi"},{"role":"assistant","content":"yes?"},)"
           R"({"role":"user","content":"\n"}])",
       }) {
    SCOPED_TRACE(msgs);
    auto req = ParseOpenAIChat(std::string(R"({"model":"m","messages":)") + msgs + "}", 64);
    ASSERT_TRUE(req.ok()) << req.error().message;
    auto e = CheckTranslatable(*req, Dialect::kAnthropic);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(HttpStatus(e->kind), 400);
    EXPECT_NE(e->message.find("messages"), std::string::npos) << e->message;
    EXPECT_FALSE(CheckTranslatable(*req, Dialect::kOpenAI).has_value());
  }
  auto prefill = ParseOpenAIChat(R"({"model":"m","messages":[{"role":"user","content":"hi"},)"
                                 R"({"role":"assistant","content":"{\"a\":"}]})",
                                 64);
  ASSERT_TRUE(prefill.ok());
  EXPECT_FALSE(CheckTranslatable(*prefill, Dialect::kAnthropic).has_value());
}

// OpenAI takes function parameters without a top-level type (`{}`, or only `properties`); the
// Messages API refuses such an input_schema ("tools.0.custom.input_schema.type: Field
// required"). Towards Anthropic a schema without a type is sent as an object schema.
TEST(OpenAIToAnthropicRequest, ToolParametersWithoutTypeAreSentAsObjectSchema) {
  auto req = ParseOpenAIChat(
      R"({"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[)"
      R"({"type":"function","function":{"name":"a","parameters":{}}},)"
      R"({"type":"function","function":{"name":"b","parameters":{"properties":{"x":{"type":"string"}}}}},)"
      R"({"type":"function","function":{"name":"c"}},)"
      R"({"type":"function","function":{"name":"d","parameters":{"type":"object","required":[]}}}]})",
      64);
  ASSERT_TRUE(req.ok()) << req.error().message;
  json out = ToAnthropicRequest(*req, "up");
  EXPECT_EQ(json::parse(AnthropicRequestBody(*req, "up")), out);
  ASSERT_EQ(out["tools"].size(), 4u);
  EXPECT_EQ(out["tools"][0]["input_schema"], json::parse(R"({"type":"object"})"));
  EXPECT_EQ(out["tools"][1]["input_schema"],
            json::parse(R"({"type":"object","properties":{"x":{"type":"string"}}})"));
  EXPECT_EQ(out["tools"][2]["input_schema"]["type"], "object");
  EXPECT_EQ(out["tools"][3]["input_schema"], json::parse(R"({"type":"object","required":[]})"));
  // Towards OpenAI-compatible upstreams the client's body is not touched.
  EXPECT_EQ(ToOpenAIRequest(*req, "up")["tools"], req->body["tools"]);
}

// Chat Completions also has custom tools ({"type":"custom","custom":{"name",...}}: free-text
// input, optionally a grammar) and a tool_choice of type allowed_tools or custom. The Messages
// API has none of them: they used to go out as a tool or tool_choice with an empty name, which
// Anthropic refuses with its own 400. They are refused with a clear 400 for Anthropic
// deployments, and pass to OpenAI-compatible ones.
TEST(CheckTranslatable, CustomToolsAndAllowedToolsCannotGoToAnthropic) {
  const std::string fn =
      R"({"type":"function","function":{"name":"f","parameters":{"type":"object"}}})";
  for (const std::string& extra : {
           R"("tools":[)" + fn + R"(,{"type":"custom","custom":{"name":"sql"}}])",
           R"("tools":[)" + fn +
               R"(],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"required",)"
               R"("tools":[{"type":"function","function":{"name":"f"}}]}})",
           R"("tools":[)" + fn + R"(],"tool_choice":{"type":"custom","custom":{"name":"sql"}})",
           R"("tools":[)" + fn + R"(],"tool_choice":{"type":"function"})",
       }) {
    SCOPED_TRACE(extra);
    auto req = ParseOpenAIChat(
        R"({"model":"m","messages":[{"role":"user","content":"hi"}],)" + extra + "}", 64);
    ASSERT_TRUE(req.ok()) << req.error().message;
    auto e = CheckTranslatable(*req, Dialect::kAnthropic);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(HttpStatus(e->kind), 400);
    EXPECT_NE(e->message.find("tool"), std::string::npos) << e->message;
    EXPECT_FALSE(CheckTranslatable(*req, Dialect::kOpenAI).has_value());
  }
  auto named =
      ParseOpenAIChat(R"({"model":"m","messages":[{"role":"user","content":"hi"}],)"
                      R"("tools":[)" +
                          fn + R"(],"tool_choice":{"type":"function","function":{"name":"f"}}})",
                      64);
  ASSERT_TRUE(named.ok());
  EXPECT_FALSE(CheckTranslatable(*named, Dialect::kAnthropic).has_value());
  EXPECT_EQ(ToAnthropicRequest(*named, "up")["tool_choice"],
            json::parse(R"({"type":"tool","name":"f"})"));
}

// An Anthropic document can hold plain text (source type "text") or content blocks (source type
// "content"), not only a PDF. Towards OpenAI those used to be dropped as `document.source`, so
// the model never saw the document; their text is now sent as text parts.
TEST(AnthropicToOpenAIRequest, TextDocumentsAreSentAsText) {
  auto req = ParseAnthropicMessages(
      R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[)"
      R"({"type":"document","source":{"type":"text","media_type":"text/plain","data":"The sky is green."}},)"
      R"({"type":"document","source":{"type":"content","content":[{"type":"text","text":"Part one."},)"
      R"({"type":"text","text":"Part two."}]}},)"
      R"({"type":"document","source":{"type":"content","content":"Plain string."}},)"
      R"({"type":"text","text":"What colour is the sky?"}]}]})",
      64);
  ASSERT_TRUE(req.ok()) << req.error().message;
  std::vector<std::string> dropped;
  json out = ToOpenAIRequest(*req, "up", &dropped);
  EXPECT_EQ(json::parse(OpenAIRequestBody(*req, "up")), out);
  EXPECT_EQ(out["messages"][0]["content"],
            json::parse(R"([{"type":"text","text":"The sky is green."},)"
                        R"({"type":"text","text":"Part one."},{"type":"text","text":"Part two."},)"
                        R"({"type":"text","text":"Plain string."},)"
                        R"({"type":"text","text":"What colour is the sky?"}])"));
  EXPECT_TRUE(dropped.empty()) << json(dropped).dump();
}

// The Messages API takes JPEG, PNG, GIF and WebP images and PDF documents as base64, and
// fetches a URL source over the network. An OpenAI image of another type, a non-PDF file, or a
// data: URL that is not base64 (it used to go out as a URL source "data:...") is refused with a
// clear 400 for Anthropic deployments; OpenAI-compatible ones still take the request. A data
// URL with parameters before ";base64" keeps its bare media type.
TEST(CheckTranslatable, MediaAnthropicCannotTakeIsRefused) {
  auto parse = [](const std::string& part) {
    return ParseOpenAIChat(
        R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"see"},)" +
            part + "]}]}",
        64);
  };
  for (
      const std::string part : {
          R"({"type":"image_url","image_url":{"url":"data:image/bmp;base64,QUJD"}})",
          R"({"type":"image_url","image_url":{"url":"data:image/svg+xml,%3Csvg%3E%3C/svg%3E"}})",
          R"({"type":"file","file":{"file_data":"data:text/plain;base64,QUJD","filename":"a.txt"}})",
      }) {
    SCOPED_TRACE(part);
    auto req = parse(part);
    ASSERT_TRUE(req.ok()) << req.error().message;
    auto e = CheckTranslatable(*req, Dialect::kAnthropic);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(HttpStatus(e->kind), 400);
    EXPECT_NE(e->message.find("Anthropic"), std::string::npos) << e->message;
    EXPECT_FALSE(CheckTranslatable(*req, Dialect::kOpenAI).has_value());
  }
  auto ok =
      parse(R"({"type":"image_url","image_url":{"url":"data:image/png;name=a.png;base64,QUJD"}})");
  ASSERT_TRUE(ok.ok());
  EXPECT_FALSE(CheckTranslatable(*ok, Dialect::kAnthropic).has_value());
  json out = ToAnthropicRequest(*ok, "up");
  EXPECT_EQ(out["messages"][0]["content"][1]["source"],
            json::parse(R"({"type":"base64","media_type":"image/png","data":"QUJD"})"));
}

// An Anthropic image or document by Files API id (source.type "file") cannot be read by an
// OpenAI-compatible upstream; it used to be dropped (`image.source`, `document.source`), so the
// model answered without it. It is refused with a clear 400 for OpenAI deployments, as an
// OpenAI file part by file_id is for Anthropic ones, also inside a tool_result. A tool's
// cache_control, lost towards OpenAI, is named like a block's.
TEST(CheckTranslatable, AnthropicFileSourcesCannotGoToOpenAI) {
  for (
      const char* content : {
          R"([{"type":"image","source":{"type":"file","file_id":"file_1"}},{"type":"text","text":"?"}])",
          R"([{"type":"document","source":{"type":"file","file_id":"file_1"}},{"type":"text","text":"?"}])",
      }) {
    SCOPED_TRACE(content);
    auto req = ParseAnthropicMessages(
        std::string(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":)") +
            content + "}]}",
        64);
    ASSERT_TRUE(req.ok()) << req.error().message;
    auto e = CheckTranslatable(*req, Dialect::kOpenAI);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(HttpStatus(e->kind), 400);
    EXPECT_NE(e->message.find("file_id"), std::string::npos) << e->message;
    EXPECT_FALSE(CheckTranslatable(*req, Dialect::kAnthropic).has_value());
  }
  auto in_result = ParseAnthropicMessages(
      R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"},)"
      R"({"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]},)"
      R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[)"
      R"({"type":"document","source":{"type":"file","file_id":"file_9"}}]}]}]})",
      64);
  ASSERT_TRUE(in_result.ok()) << in_result.error().message;
  EXPECT_TRUE(CheckTranslatable(*in_result, Dialect::kOpenAI).has_value());
  auto cached = ParseAnthropicMessages(
      R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"}],)"
      R"("tools":[{"name":"f","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}]})",
      64);
  ASSERT_TRUE(cached.ok());
  EXPECT_FALSE(CheckTranslatable(*cached, Dialect::kOpenAI).has_value());
  std::vector<std::string> dropped;
  ToOpenAIRequest(*cached, "up", &dropped);
  EXPECT_EQ(dropped, std::vector<std::string>{"cache_control"});
}

// The once-per-stream events of an OpenAI stream translated for an Anthropic client are written
// without a JSON tree: with quotes, backslashes and non-ASCII in the id, model and tool name
// they still read as the Messages API's events, member for member.
TEST(OpenAIToAnthropicStream, StartAndBlockEventsReadAsTheApiWritesThem) {
  const std::vector<SseEvent> chunks = {
      {"", R"({"id":"c-\"x\"\\é","model":"gemma ✓","choices":[{"index":0,)"
           R"("delta":{"role":"assistant","content":"Hi"}}]})"},
      {"", R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call\"1",)"
           R"("type":"function","function":{"name":"get_\"w\"\\","arguments":"{}"}}]}}]})"},
      {"", R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})"},
      {"", "[DONE]"}};
  const std::vector<json> got = Translate(Dialect::kOpenAI, Dialect::kAnthropic, chunks);
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(got[0], json::parse(R"({"type":"message_start","message":{"id":"msg_c-\"x\"\\é",)"
                                R"("type":"message","role":"assistant","model":"gemma ✓",)"
                                R"("content":[],"stop_reason":null,"stop_sequence":null,)"
                                R"("usage":{"input_tokens":0,"output_tokens":0}}})"));
  EXPECT_EQ(got[1], json::parse(R"({"type":"ping"})"));
  EXPECT_EQ(got[2], json::parse(R"({"type":"content_block_start","index":0,)"
                                R"("content_block":{"type":"text","text":""}})"));
  EXPECT_EQ(got[3]["delta"]["text"], "Hi");
  EXPECT_EQ(got[4], json::parse(R"({"type":"content_block_stop","index":0})"));
  EXPECT_EQ(got[5], json::parse(R"({"type":"content_block_start","index":1,"content_block":)"
                                R"({"type":"tool_use","id":"toolu_call_1","name":"get_\"w\"\\",)"
                                R"("input":{}}})"));
  EXPECT_EQ(got[6]["delta"]["partial_json"], "{}");
  EXPECT_EQ(got[7], json::parse(R"({"type":"content_block_stop","index":1})"));
  json delta = json::parse(R"({"type":"message_delta","delta":{"stop_reason":"tool_use",)"
                           R"("stop_sequence":null}})");
  ASSERT_TRUE(got[8].contains("usage"));
  EXPECT_TRUE(got[8]["usage"].contains("output_tokens"));
  delta["usage"] = got[8]["usage"];
  EXPECT_EQ(got[8], delta);
  EXPECT_EQ(got[9], json::parse(R"({"type":"message_stop","triage":{}})"));
}

// The chunks an Anthropic stream becomes for an OpenAI client share one head written without a
// tree (id, object, created, model, in OpenAI's order): the role chunk, a tool call's first
// chunk, the finish chunk and the usage chunk with triage's object read as OpenAI's chunks.
TEST(AnthropicToOpenAIStream, ChunksReadAsOpenAIWritesThem) {
  std::vector<SseEvent> events = AnthropicToolStream({{"{}"}});
  events[0] = A("message_start", {{"message",
                                   {{"id", "msg_\"1\"\\é"},
                                    {"type", "message"},
                                    {"role", "assistant"},
                                    {"model", "claude ✓"},
                                    {"content", json::array()},
                                    {"usage", {{"input_tokens", 10}, {"output_tokens", 1}}}}}});
  auto t = MakeStreamTranslator(Dialect::kAnthropic, Dialect::kOpenAI, "m");
  std::string frames;
  for (const auto& ev : events) frames += t->Feed(ev).frames;
  frames += t->Finish(json{{"tier", "mid"}}, /*include_usage=*/true, ": c\n\n");
  SseParser parser;
  std::vector<SseEvent> out;
  ASSERT_TRUE(parser.Feed(frames, out));
  std::vector<json> got;
  for (const auto& e : out) got.push_back(json::parse(e.data, nullptr, false));
  ASSERT_EQ(got.size(), 6u);  // role, tool call, its arguments, finish, usage, [DONE]
  ASSERT_TRUE(got[0].contains("created"));
  const json created = got[0]["created"];
  ASSERT_TRUE(created.is_number_integer());
  auto chunk = [&](const std::string& choices) {
    return json::parse(R"({"id":"chatcmpl-msg_\"1\"\\é","object":"chat.completion.chunk",)"
                       R"("created":)" +
                       created.dump() + R"(,"model":"claude ✓","choices":)" + choices + "}");
  };
  EXPECT_EQ(got[0], chunk(R"([{"index":0,"delta":{"role":"assistant","content":""},)"
                          R"("logprobs":null,"finish_reason":null}])"));
  EXPECT_EQ(got[1], chunk(R"([{"index":0,"delta":{"tool_calls":[{"index":0,"id":"toolu_0",)"
                          R"("type":"function","function":{"name":"f0","arguments":""}}]},)"
                          R"("logprobs":null,"finish_reason":null}])"));
  EXPECT_EQ(got[2]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"], "{}");
  EXPECT_EQ(got[3], chunk(R"([{"index":0,"delta":{},"logprobs":null,)"
                          R"("finish_reason":"tool_calls"}])"));
  json usage = chunk("[]");
  usage["usage"] = got[4]["usage"];
  usage["triage"] = json{{"tier", "mid"}};
  EXPECT_EQ(got[4], usage);
  EXPECT_EQ(got[4]["usage"]["prompt_tokens"], 10);
  EXPECT_EQ(got[4]["usage"]["completion_tokens"], 7);
  EXPECT_TRUE(got[5].is_discarded());  // [DONE]
  EXPECT_EQ(out[5].data, "[DONE]");
}

}  // namespace
}  // namespace triage::dialect
