#include "dialect/openai.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace triage::dialect {
namespace {

using json = nlohmann::json;

TEST(ParseOpenAIChat, MinimalRequestFillsSummary) {
  auto r = ParseOpenAIChat(R"({"model":"auto","messages":[
      {"role":"system","content":"Be brief."},
      {"role":"user","content":"héllo"},
      {"role":"assistant","content":"hi"},
      {"role":"user","content":[{"type":"text","text":"what is"},{"type":"text","text":"2+2"}]}]})",
                           64);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->dialect, Dialect::kOpenAI);
  EXPECT_EQ(r->model, "auto");
  EXPECT_FALSE(r->stream);
  EXPECT_EQ(r->message_count, 4);
  EXPECT_EQ(r->prompt_text, "Be brief.\nhéllo\nhi\nwhat is\n2+2");
  // The system message and its joiner: the rest of prompt_text is the conversation alone.
  EXPECT_EQ(r->system_messages, 1);
  EXPECT_EQ(r->prompt_text.substr(r->system_bytes), "héllo\nhi\nwhat is\n2+2");
  // Characters, not bytes: "é" counts once.
  EXPECT_EQ(r->prompt_chars, 9 + 5 + 2 + 7 + 3);
  EXPECT_EQ(r->last_user_text, "what is\n2+2");
  EXPECT_FALSE(r->has_image);
  EXPECT_FALSE(r->has_tools);
  EXPECT_EQ(r->body["messages"].size(), 4u);
}

TEST(AppendPromptText, SystemBytesAreTheSystemTextAndItsJoinersWherever) {
  struct Part {
    std::string_view text;
    bool system;
  };
  const std::vector<std::vector<Part>> cases = {
      {{"sys", true}, {"u1", false}, {"a", false}},
      {{"sys", true}, {"dev", true}, {"u1", false}},
      {{"u1", false}, {"sys", true}, {"a", false}},
      {{"u1", false}, {"a", false}, {"sys", true}},
      {{"sys", true}},
      {{"u1", false}, {"a", false}},
      {{"", true}, {"u1", false}},
  };
  for (const auto& parts : cases) {
    std::string prompt, conversation;
    size_t system_bytes = 0;
    for (const Part& p : parts) {
      AppendPromptText(&prompt, &system_bytes, p.text, p.system);
      if (p.system) continue;
      if (!conversation.empty()) conversation += '\n';
      conversation += p.text;
    }
    EXPECT_EQ(prompt.size() - system_bytes, conversation.size()) << prompt;
  }
  std::string prompt;
  size_t system_bytes = 0;
  AppendPromptText(&prompt, &system_bytes, "sys", true);
  AppendPromptText(&prompt, &system_bytes, "hello", false);
  EXPECT_EQ(prompt, "sys\nhello");
  EXPECT_EQ(prompt.substr(system_bytes), "hello");
}

TEST(ParseOpenAIChat, StreamOptionsToolsAndModalities) {
  auto r = ParseOpenAIChat(R"({"model":"m","stream":true,"stream_options":{"include_usage":true},
      "temperature":0.5,"top_p":1,"max_tokens":10,"max_completion_tokens":20,"n":1,
      "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
      "messages":[{"role":"user","content":[
        {"type":"image_url","image_url":{"url":"https://x/y.png"}},
        {"type":"input_audio","input_audio":{"data":"AAA=","format":"wav"}}]},
      {"role":"assistant","content":null,"tool_calls":[
        {"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"c1","content":"42"}]})",
                           64);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
  EXPECT_TRUE(r->has_image);
  EXPECT_TRUE(r->has_audio);
  EXPECT_TRUE(r->has_tools);
  EXPECT_EQ(r->last_user_text, "");
  EXPECT_EQ(r->prompt_text, "42");
}

// The router reads the last user message with text and the one before it; a user message of an
// image only leaves both as they were.
TEST(ParseOpenAIChat, LastAndPreviousUserTextSkipMessagesWithoutText) {
  auto r = ParseOpenAIChat(R"({"model":"auto","messages":[
      {"role":"system","content":"Be brief."},
      {"role":"user","content":"What is 17% of 340?"},
      {"role":"assistant","content":"57.8"},
      {"role":"user","content":[{"type":"text","text":"Are you"},{"type":"text","text":"sure?"}]},
      {"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]})",
                           64);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->last_user_text, "Are you\nsure?");
  EXPECT_EQ(r->prev_user_text, "What is 17% of 340?");
  EXPECT_TRUE(r->has_image);
}

TEST(ParseOpenAIChat, NullsForOptionalFieldsAreAccepted) {
  auto r = ParseOpenAIChat(
      R"({"model":"m","messages":[{"role":"developer","content":"x"}],"temperature":null,
          "stream":null,"tools":null,"stop":["a","b"]})",
      64);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->stream);
}

struct Bad {
  const char* name;
  std::string body;
  const char* code;
  const char* message_part;
};

class MalformedBodies : public ::testing::TestWithParam<Bad> {};

TEST_P(MalformedBodies, AreRejectedWithAFieldNamingMessage) {
  const Bad& b = GetParam();
  auto r = ParseOpenAIChat(b.body, 64);
  ASSERT_FALSE(r.ok()) << b.name;
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(r.error().code, b.code) << r.error().message;
  EXPECT_NE(r.error().message.find(b.message_part), std::string::npos)
      << "message was: " << r.error().message;
  // Every message reads "PATH: WHY"; PATH is OpenAI's error.param, except for the whole body.
  const std::string& m = r.error().message;
  const std::string path = m.substr(0, m.find(": "));
  ASSERT_NE(m.find(": "), std::string::npos) << m;
  EXPECT_EQ(r.error().param, path == "body" ? "" : path) << m;
}

const std::string kMsgs = R"("messages":[{"role":"user","content":"hi"}])";

INSTANTIATE_TEST_SUITE_P(
    Table, MalformedBodies,
    ::testing::Values(
        Bad{"empty", "", "empty_body", "body: empty"},
        Bad{"whitespace", "  \r\n ", "empty_body", "body: empty"},
        Bad{"garbage", R"({"model": x})", "invalid_json", "invalid JSON at byte 10"},
        Bad{"truncated", R"({"model":"m")", "invalid_json", "invalid JSON at byte 12"},
        Bad{"trailing", R"({"model":"m"} x)", "invalid_json", "invalid JSON at byte"},
        Bad{"bad utf8", "{\"model\":\"\xff\"}", "invalid_json", "invalid JSON"},
        // nlohmann's lexer stops at a NUL: what followed was ignored and the body accepted.
        Bad{"nul after the value", R"({"model":"m",)" + kMsgs + "}" + std::string("\0garbage", 8),
            "invalid_json", "invalid JSON at byte 57: NUL byte after the JSON value"},
        Bad{"nul alone after the value", R"({"model":"m",)" + kMsgs + "}" + std::string(1, '\0'),
            "invalid_json", "invalid JSON at byte 57: NUL byte"},
        Bad{"too deep", std::string(100000, '['), "json_too_deep", "deeper than 64"},
        Bad{"deep objects", R"({"a":)" + std::string(70, '[') + std::string(70, ']') + "}",
            "json_too_deep", "deeper than 64"},
        Bad{"array top", "[]", "invalid_type", "body: expected a JSON object"},
        Bad{"string top", R"("hi")", "invalid_type", "body: expected a JSON object"},
        Bad{"no model", "{" + kMsgs + "}", "missing_field", "model: required"},
        Bad{"model too long", R"({"model":")" + std::string(257, 'm') + R"(",)" + kMsgs + "}",
            "invalid_value", "model: is 257 bytes long; at most 256 are accepted"},
        Bad{"tool_choice unknown", R"({"model":"m","tool_choice":"maybe",)" + kMsgs + "}",
            "invalid_value",
            "tool_choice: unknown value 'maybe' (expected none, auto or required)"},
        Bad{"user int", R"({"model":"m","user":5,)" + kMsgs + "}", "invalid_type",
            "user: expected a string, got an integer"},
        Bad{"model int", R"({"model":3,)" + kMsgs + "}", "invalid_type",
            "model: expected a string, got an integer"},
        Bad{"model empty", R"({"model":"",)" + kMsgs + "}", "invalid_value", "model:"},
        Bad{"no messages", R"({"model":"m"})", "missing_field", "messages: required"},
        Bad{"messages obj", R"({"model":"m","messages":{}})", "invalid_type",
            "messages: expected an array"},
        Bad{"messages empty", R"({"model":"m","messages":[]})", "invalid_value", "messages:"},
        Bad{"message not obj", R"({"model":"m","messages":["hi"]})", "invalid_type",
            "messages[0]: expected an object"},
        Bad{"no role", R"({"model":"m","messages":[{"content":"x"}]})", "missing_field",
            "messages[0].role: required"},
        Bad{"role int", R"({"model":"m","messages":[{"role":1,"content":"x"}]})", "invalid_type",
            "messages[0].role: expected a string"},
        Bad{"role unknown", R"({"model":"m","messages":[{"role":"bot","content":"x"}]})",
            "invalid_value", "messages[0].role: unknown role 'bot'"},
        Bad{"content missing",
            R"({"model":"m","messages":[{"role":"user","content":"a"},{"role":"user"}]})",
            "missing_field", "messages[1].content: required"},
        Bad{"content null user", R"({"model":"m","messages":[{"role":"user","content":null}]})",
            "invalid_value", "messages[0].content: null"},
        Bad{"content null assistant w/o tools",
            R"({"model":"m","messages":[{"role":"assistant","content":null}]})", "invalid_value",
            "messages[0].content"},
        Bad{"content number", R"({"model":"m","messages":[{"role":"user","content":5}]})",
            "invalid_type", "messages[0].content: expected a string, an array"},
        Bad{"part not obj", R"({"model":"m","messages":[{"role":"user","content":["x"]}]})",
            "invalid_type", "messages[0].content[0]: expected an object"},
        Bad{"part no type", R"({"model":"m","messages":[{"role":"user","content":[{}]}]})",
            "missing_field", "messages[0].content[0].type: required"},
        Bad{"part bad type",
            R"({"model":"m","messages":[{"role":"user","content":[{"type":"video"}]}]})",
            "invalid_value", "messages[0].content[0].type: unknown content part type 'video'"},
        Bad{"text part no text",
            R"({"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]})",
            "missing_field", "messages[0].content[0].text: required"},
        Bad{"image no url",
            R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]})",
            "missing_field", "messages[0].content[0].image_url.url: required"},
        Bad{"audio no format",
            R"({"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"x"}}]}]})",
            "missing_field", "input_audio.format: required"},
        Bad{"response_format string", R"({"model":"m","response_format":"json",)" + kMsgs + "}",
            "invalid_type", "response_format: expected an object, got a string"},
        Bad{"response_format no type", R"({"model":"m","response_format":{},)" + kMsgs + "}",
            "missing_field", "response_format.type: required"},
        Bad{"json_schema missing",
            R"({"model":"m","response_format":{"type":"json_schema"},)" + kMsgs + "}",
            "missing_field", "response_format.json_schema: required"},
        Bad{"json_schema schema string",
            R"({"model":"m","response_format":{"type":"json_schema","json_schema":{"name":"x","schema":"{}"}},)" +
                kMsgs + "}",
            "invalid_type", "response_format.json_schema.schema: expected an object, got a string"},
        Bad{"reasoning_effort int", R"({"model":"m","reasoning_effort":3,)" + kMsgs + "}",
            "invalid_type", "reasoning_effort: expected a string, got an integer"},
        Bad{"tool no id", R"({"model":"m","messages":[{"role":"tool","content":"x"}]})",
            "missing_field", "messages[0].tool_call_id: required"},
        Bad{"tool_calls on user",
            R"({"model":"m","messages":[{"role":"user","content":"x","tool_calls":[]}]})",
            "invalid_value", "messages[0].tool_calls"},
        Bad{"tool_call no name",
            R"({"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"a","function":{}}]}]})",
            "missing_field", "messages[0].tool_calls[0].function.name: required"},
        Bad{"stream string", R"({"model":"m","stream":"yes",)" + kMsgs + "}", "invalid_type",
            "stream: expected a boolean"},
        Bad{"stream_options int", R"({"model":"m","stream_options":1,)" + kMsgs + "}",
            "invalid_type", "stream_options: expected an object"},
        Bad{"include_usage str",
            R"({"model":"m","stream_options":{"include_usage":"1"},)" + kMsgs + "}", "invalid_type",
            "stream_options.include_usage: expected a boolean"},
        Bad{"tools obj", R"({"model":"m","tools":{},)" + kMsgs + "}", "invalid_type",
            "tools: expected an array"},
        Bad{"tool no function", R"({"model":"m","tools":[{"type":"function"}],)" + kMsgs + "}",
            "missing_field", "tools[0].function: required"},
        Bad{"temperature str", R"({"model":"m","temperature":"hot",)" + kMsgs + "}", "invalid_type",
            "temperature: expected a number"},
        Bad{"temperature range", R"({"model":"m","temperature":3,)" + kMsgs + "}", "invalid_value",
            "temperature: must be between 0 and 2"},
        Bad{"n range", R"({"model":"m","n":0,)" + kMsgs + "}", "invalid_value",
            "n: must be between 1 and 128"},
        Bad{"max_tokens negative", R"({"model":"m","max_tokens":-1,)" + kMsgs + "}",
            "invalid_value", "max_tokens: must be between 1 and 1000000000000000"},
        Bad{"top_p str", R"({"model":"m","top_p":"1",)" + kMsgs + "}", "invalid_type",
            "top_p: expected a number"},
        Bad{"max_tokens float", R"({"model":"m","max_tokens":1.5,)" + kMsgs + "}", "invalid_type",
            "max_tokens: expected an integer"},
        Bad{"max_tokens zero", R"({"model":"m","max_tokens":0,)" + kMsgs + "}", "invalid_value",
            "max_tokens"},
        Bad{"max_completion_tokens str",
            R"({"model":"m","max_completion_tokens":"9",)" + kMsgs + "}", "invalid_type",
            "max_completion_tokens: expected an integer"},
        Bad{"n str", R"({"model":"m","n":"2",)" + kMsgs + "}", "invalid_type",
            "n: expected an integer"},
        Bad{"stop int", R"({"model":"m","stop":3,)" + kMsgs + "}", "invalid_type", "stop:"},
        Bad{"stop element int", R"({"model":"m","stop":["a",2],)" + kMsgs + "}", "invalid_type",
            "stop[1]: expected a string, got an integer"}),
    [](const ::testing::TestParamInfo<Bad>& info) {
      std::string n;
      for (char c : std::string(info.param.name)) n += std::isalnum(c) ? c : '_';
      return n;
    });

TEST(ParseOpenAIChat, DepthLimitIsExactAndIgnoresBracketsInStrings) {
  // Depth 3 total: body object, messages array, message object.
  std::string ok = R"({"model":"[[[[{{{{","messages":[{"role":"user","content":"]]]}}}\"[["}]})";
  EXPECT_TRUE(ParseOpenAIChat(ok, 3).ok());
  auto r = ParseOpenAIChat(ok, 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "json_too_deep");
}

TEST(ParseOpenAIChat, HugeDepthDoesNotCrash) {
  std::string deep = R"({"model":"m","messages":)" + std::string(1'000'000, '[');
  auto r = ParseOpenAIChat(deep, 64);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "json_too_deep");
}

TEST(OpenAIErrorBody, HasOpenAIShape) {
  auto body = json::parse(OpenAIErrorBody(
      Error::Make(ErrorKind::kInvalidRequest, "missing_field", "messages: required")));
  ASSERT_TRUE(body.contains("error"));
  const auto& e = body["error"];
  EXPECT_EQ(e["message"], "messages: required");
  EXPECT_EQ(e["type"], "invalid_request_error");
  EXPECT_TRUE(e.contains("param"));
  EXPECT_TRUE(e["param"].is_null());
  EXPECT_EQ(e["code"], "missing_field");
  EXPECT_EQ(e.size(), 4u);

  auto no_code = json::parse(OpenAIErrorBody(Error::Make(ErrorKind::kInternal, "", "x")));
  EXPECT_TRUE(no_code["error"]["code"].is_null());
}

TEST(OpenAIErrorBody, NamesTheParameterAtFault) {
  Error e = Error::Make(ErrorKind::kInvalidRequest, "invalid_type",
                        "messages[0].content: expected a string or an array, got an integer");
  e.param = "messages[0].content";
  auto body = json::parse(OpenAIErrorBody(e));
  EXPECT_EQ(body["error"]["param"], "messages[0].content");
  EXPECT_EQ(body["error"].size(), 4u);

  auto parsed = ParseOpenAIChat(R"({"model":"m","messages":[{"role":"user","content":5}]})", 64);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(json::parse(OpenAIErrorBody(parsed.error()))["error"]["param"], "messages[0].content");
  auto range = ParseOpenAIChat(R"({"model":"m",)" + kMsgs + R"(,"temperature":7})", 64);
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.error().param, "temperature") << range.error().message;
  auto not_object = ParseOpenAIChat("[1]", 64);
  ASSERT_FALSE(not_object.ok());
  EXPECT_EQ(json::parse(OpenAIErrorBody(not_object.error()))["error"]["param"], nullptr);
}

TEST(OpenAIErrorBody, InvalidUtf8InMessageDoesNotThrow) {
  std::string body = OpenAIErrorBody(
      Error::Make(ErrorKind::kNotFound, "model_not_found", "model '\xff\xfe' not found"));
  auto j = json::parse(body, nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
}

TEST(OpenAIErrorType, MapsEveryKind) {
  EXPECT_EQ(OpenAIErrorType(ErrorKind::kInvalidRequest), "invalid_request_error");
  EXPECT_EQ(OpenAIErrorType(ErrorKind::kRequestTooLarge), "invalid_request_error");
  EXPECT_EQ(OpenAIErrorType(ErrorKind::kAuthentication), "authentication_error");
  EXPECT_EQ(OpenAIErrorType(ErrorKind::kPermission), "permission_error");
  EXPECT_EQ(OpenAIErrorType(ErrorKind::kNotFound), "invalid_request_error");  // as OpenAI's
  EXPECT_EQ(OpenAIErrorType(ErrorKind::kRateLimit), "rate_limit_error");
  EXPECT_EQ(OpenAIErrorType(ErrorKind::kUpstream), "api_error");
  EXPECT_EQ(OpenAIErrorType(ErrorKind::kUpstreamTimeout), "timeout_error");
  EXPECT_EQ(OpenAIErrorType(ErrorKind::kUnavailable), "server_error");
  EXPECT_EQ(OpenAIErrorType(ErrorKind::kInternal), "server_error");
}

TEST(InspectOpenAIChunk, DoneIsEmpty) {
  auto i = InspectOpenAIChunk("[DONE]");
  EXPECT_FALSE(i.has_content);
  EXPECT_FALSE(i.is_error);
  EXPECT_FALSE(i.usage);
  EXPECT_FALSE(i.finish_reason);
}

TEST(InspectOpenAIChunk, RoleOnlyChunkHasNoContent) {
  auto i = InspectOpenAIChunk(
      R"({"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]})");
  EXPECT_FALSE(i.has_content);
  EXPECT_FALSE(i.finish_reason);
  EXPECT_FALSE(i.is_error);
}

TEST(InspectOpenAIChunk, ContentToolCallsRefusal) {
  EXPECT_TRUE(
      InspectOpenAIChunk(R"({"choices":[{"index":0,"delta":{"content":"Hi"}}]})").has_content);
  EXPECT_TRUE(
      InspectOpenAIChunk(
          R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{"}}]}}]})")
          .has_content);
  EXPECT_TRUE(
      InspectOpenAIChunk(R"({"choices":[{"index":0,"delta":{"refusal":"no"}}]})").has_content);
}

TEST(InspectOpenAIChunk, FinishReasonAndUsage) {
  auto f = InspectOpenAIChunk(R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})");
  EXPECT_EQ(f.finish_reason.value_or(""), "stop");
  auto u = InspectOpenAIChunk(
      R"({"choices":[],"usage":{"prompt_tokens":100,"completion_tokens":7,"total_tokens":107,
          "prompt_tokens_details":{"cached_tokens":64}}})");
  ASSERT_TRUE(u.usage);
  EXPECT_EQ(u.usage->input_tokens, 100);
  EXPECT_EQ(u.usage->output_tokens, 7);
  EXPECT_EQ(u.usage->cached_input_tokens, 64);
  EXPECT_FALSE(u.has_content);
  EXPECT_FALSE(InspectOpenAIChunk(R"({"choices":[],"usage":null})").usage);
}

TEST(InspectOpenAIChunk, Errors) {
  auto g = InspectOpenAIChunk("{not json");
  EXPECT_TRUE(g.is_error);
  EXPECT_TRUE(InspectOpenAIChunk("[1]").is_error);
  auto e = InspectOpenAIChunk(R"({"error":{"message":"overloaded","type":"server_error"}})");
  EXPECT_TRUE(e.is_error);
  EXPECT_EQ(e.error_message, "overloaded");
}

TEST(OpenAIResponseUsage, ReadsUsageAndCachedTokens) {
  auto r = OpenAIResponseUsage(json::parse(
      R"({"object":"chat.completion","usage":{"prompt_tokens":12,"completion_tokens":3,
          "prompt_tokens_details":{"cached_tokens":5}}})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->input_tokens, 12);
  EXPECT_EQ(r->output_tokens, 3);
  EXPECT_EQ(r->cached_input_tokens, 5);
}

TEST(OpenAIResponseUsage, MissingUsageIsUpstreamError) {
  for (const char* s : {R"({"object":"chat.completion"})", R"({"usage":null})", "[]"}) {
    auto r = OpenAIResponseUsage(json::parse(s));
    ASSERT_FALSE(r.ok()) << s;
    EXPECT_EQ(r.error().kind, ErrorKind::kUpstream);
    EXPECT_EQ(r.error().message, "upstream response has no usage");
  }
}

TEST(DialectName, Names) {
  EXPECT_EQ(DialectName(Dialect::kOpenAI), "openai");
  EXPECT_EQ(DialectName(Dialect::kAnthropic), "anthropic");
}

}  // namespace
}  // namespace triage::dialect
