// ParseAnthropicMessages: what the Messages API requires of a request, refused with a message
// naming the field.
#include "dialect/anthropic.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace triage::dialect {
namespace {

const std::string kUser = R"("messages":[{"role":"user","content":"hi"}])";

TEST(ParseAnthropicMessages, AcceptsAMinimalRequest) {
  auto r = ParseAnthropicMessages(R"({"model":"m","max_tokens":5,)" + kUser + "}", 64);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->model, "m");
  EXPECT_EQ(r->last_user_text, "hi");
  EXPECT_EQ(r->system_bytes, 0u);
}

// The top-level system prompt (a string or text blocks) is system text in prompt_text, so the
// same conversation reads the same to the router in both dialects.
TEST(ParseAnthropicMessages, SystemPromptIsCountedAsSystemText) {
  for (const std::string sys :
       {R"("system":"Be brief.",)",
        R"("system":[{"type":"text","text":"Be"},{"type":"text","text":"brief."}],)"}) {
    auto r = ParseAnthropicMessages(
        R"({"model":"m","max_tokens":5,)" + sys +
            R"("messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"},{"role":"user","content":"2+2?"}]})",
        64);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->message_count, 3);
    EXPECT_EQ(r->system_messages, 0);  // `system` is no message here
    EXPECT_EQ(r->prompt_text.substr(r->system_bytes), "hi\nyo\n2+2?") << r->prompt_text;
  }
}

// The router reads the last user message with text, and the one before it (feature set 3 reads
// a short follow-up with it). A user turn of tool results only (the Messages API's tool loop)
// leaves the question as the last user text, as an OpenAI `tool` message does.
TEST(ParseAnthropicMessages, LastAndPreviousUserTextSkipTurnsWithoutText) {
  auto r = ParseAnthropicMessages(
      R"({"model":"m","max_tokens":5,"messages":[
        {"role":"user","content":"What is 17% of 340?"},
        {"role":"assistant","content":"57.8"},
        {"role":"user","content":[{"type":"text","text":"Are you"},{"type":"text","text":"sure?"}]},
        {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"calc","input":{}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"57.8"}]}]})",
      64);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->last_user_text, "Are you\nsure?");
  EXPECT_EQ(r->prev_user_text, "What is 17% of 340?");
  auto one = ParseAnthropicMessages(R"({"model":"m","max_tokens":5,)" + kUser + "}", 64);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->prev_user_text, "");
}

struct Bad {
  const char* name;
  std::string body;
  const char* code;
  const char* message;
};

class AnthropicMalformed : public ::testing::TestWithParam<Bad> {};

TEST_P(AnthropicMalformed, AreRejectedWithAFieldNamingMessage) {
  const Bad& b = GetParam();
  auto r = ParseAnthropicMessages(b.body, 64);
  ASSERT_FALSE(r.ok()) << b.name;
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(r.error().code, b.code) << r.error().message;
  EXPECT_EQ(r.error().message, b.message);
}

INSTANTIATE_TEST_SUITE_P(
    Table, AnthropicMalformed,
    ::testing::Values(
        Bad{"no max_tokens", R"({"model":"m",)" + kUser + "}", "missing_field",
            "max_tokens: required"},
        Bad{"null max_tokens", R"({"model":"m","max_tokens":null,)" + kUser + "}", "missing_field",
            "max_tokens: required"},
        Bad{"empty string content",
            R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":""}]})",
            "invalid_value", "messages[0].content: must not be empty in a user message"},
        Bad{"empty block list",
            R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[]}]})",
            "invalid_value", "messages[0].content: must not be empty in a user message"},
        Bad{"output_config string",
            R"({"model":"m","max_tokens":5,"output_config":"x",)" + kUser + "}", "invalid_type",
            "output_config: expected an object, got a string"},
        Bad{"format no schema",
            R"({"model":"m","max_tokens":5,"output_config":{"format":{"type":"json_schema"}},)" +
                kUser + "}",
            "missing_field", "output_config.format.schema: required"},
        Bad{"format schema array",
            R"({"model":"m","max_tokens":5,"output_config":{"format":{"type":"json_schema","schema":[]}},)" +
                kUser + "}",
            "invalid_type", "output_config.format.schema: expected an object, got an array"},
        Bad{"format no type",
            R"({"model":"m","max_tokens":5,"output_config":{"format":{"schema":{}}},)" + kUser +
                "}",
            "missing_field", "output_config.format.type: required"},
        Bad{"effort int",
            R"({"model":"m","max_tokens":5,"output_config":{"effort":2},)" + kUser + "}",
            "invalid_type", "output_config.effort: expected a string, got an integer"},
        Bad{"stop sequence int",
            R"({"model":"m","max_tokens":5,"stop_sequences":["a",1],)" + kUser + "}",
            "invalid_type", "stop_sequences[1]: expected a string, got an integer"},
        Bad{"model too long",
            R"({"model":")" + std::string(300, 'x') + R"(","max_tokens":5,)" + kUser + "}",
            "invalid_value", "model: is 300 bytes long; at most 256 are accepted"},
        Bad{"max_tokens negative", R"({"model":"m","max_tokens":-1,)" + kUser + "}",
            "invalid_value", "max_tokens: must be between 1 and 1000000000000"},
        Bad{"temperature range", R"({"model":"m","max_tokens":5,"temperature":1.5,)" + kUser + "}",
            "invalid_value", "temperature: must be between 0 and 1"},
        Bad{"top_k float", R"({"model":"m","max_tokens":5,"top_k":2.5,)" + kUser + "}",
            "invalid_type", "top_k: expected an integer, got a number"}),
    [](const ::testing::TestParamInfo<Bad>& i) {
      std::string n = i.param.name;
      for (char& c : n)
        if (c == ' ') c = '_';
      return n;
    });

// Regression: every tool entry needed a `name`, so the toolsets of the Messages API, which have
// none ({"type":"mcp_toolset","mcp_server_name":...}, browser_toolset_..., computer_toolset_...),
// were refused with 400. Every tool type of the @anthropic-ai/sdk typings (ToolUnion,
// BetaToolUnion) parses; a custom tool still needs its name and input_schema.
TEST(ParseAnthropicMessages, AcceptsEveryToolTypeOfTheSdk) {
  const std::vector<std::string> tools = {
      R"({"name":"get_weather","input_schema":{"type":"object"}})",
      R"({"type":"custom","name":"f","input_schema":{"type":"object"}})",
      R"({"type":null,"name":"f","input_schema":{"type":"object"}})",
      R"({"type":"bash_20241022","name":"bash"})",
      R"({"type":"bash_20250124","name":"bash"})",
      R"({"type":"code_execution_20250522","name":"code_execution"})",
      R"({"type":"code_execution_20250825","name":"code_execution"})",
      R"({"type":"code_execution_20260120","name":"code_execution"})",
      R"({"type":"code_execution_20260521","name":"code_execution"})",
      R"({"type":"browser_toolset_20260801"})",
      R"({"type":"browser_toolset_20260801","configs":{"navigate":{"enabled":false}}})",
      R"({"type":"computer_20241022","name":"computer","display_width_px":1024,"display_height_px":768})",
      R"({"type":"computer_20250124","name":"computer","display_width_px":1024,"display_height_px":768})",
      R"({"type":"computer_20251124","name":"computer","display_width_px":1024,"display_height_px":768})",
      R"({"type":"computer_toolset_20260801"})",
      R"({"type":"memory_20250818","name":"memory"})",
      R"({"type":"text_editor_20241022","name":"str_replace_editor"})",
      R"({"type":"text_editor_20250124","name":"str_replace_editor"})",
      R"({"type":"text_editor_20250429","name":"str_replace_based_edit_tool"})",
      R"({"type":"text_editor_20250728","name":"str_replace_based_edit_tool"})",
      R"({"type":"web_search_20250305","name":"web_search","max_uses":3})",
      R"({"type":"web_search_20260209","name":"web_search"})",
      R"({"type":"web_search_20260318","name":"web_search"})",
      R"({"type":"web_fetch_20250910","name":"web_fetch"})",
      R"({"type":"web_fetch_20260209","name":"web_fetch"})",
      R"({"type":"web_fetch_20260309","name":"web_fetch"})",
      R"({"type":"web_fetch_20260318","name":"web_fetch"})",
      R"({"type":"advisor_20260301","name":"advisor"})",
      R"({"type":"tool_search_tool_bm25_20251119","name":"tool_search_tool_bm25"})",
      R"({"type":"tool_search_tool_bm25","name":"tool_search_tool_bm25"})",
      R"({"type":"tool_search_tool_regex_20251119","name":"tool_search_tool_regex"})",
      R"({"type":"tool_search_tool_regex","name":"tool_search_tool_regex"})",
      R"({"type":"mcp_toolset","mcp_server_name":"docs"})",
      R"({"type":"mcp_toolset","mcp_server_name":"docs","default_config":{"enabled":false},)"
      R"("configs":{"search":{"enabled":true}}})",
  };
  for (const auto& t : tools) {
    SCOPED_TRACE(t);
    auto r = ParseAnthropicMessages(
        R"({"model":"m","max_tokens":5,"tools":[)" + t + "]," + kUser + "}", 64);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r->has_tools);
  }
  // Still refused: a custom tool without its name or schema, a type or a name of another kind.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"input_schema":{"type":"object"}})", "tools[0].name"},
      {R"({"type":"custom","input_schema":{"type":"object"}})", "tools[0].name"},
      {R"({"name":"f"})", "tools[0].input_schema"},
      {R"({"type":7,"name":"f"})", "tools[0].type"},
      {R"({"type":"bash_20250124","name":5})", "tools[0].name"},
  };
  for (const auto& [t, field] : bad) {
    SCOPED_TRACE(t);
    auto r = ParseAnthropicMessages(
        R"({"model":"m","max_tokens":5,"tools":[)" + t + "]," + kUser + "}", 64);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find(field), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace triage::dialect
