// Regression: an upstream answer nested ~200,000 levels deep (a tool_use `input`, an extra
// member, an error body) crashed the gateway when the answer was copied or dumped recursively
// for the client. It is now refused as a malformed answer before anything walks it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "dialect/json_util.h"
#include "pipeline/attempt_util.h"
#include "pipeline/respond.h"

namespace triage::pipeline {
namespace {

using dialect::Dialect;
using nlohmann::json;

constexpr int kDeep = 200000;

// `n` nested arrays: "[[[...]]]".
std::string Arrays(int n) { return std::string(n, '[') + std::string(n, ']'); }

// An Anthropic answer with one tool_use block whose `input` holds `depth` nested arrays.
std::string AnthropicToolUse(int depth, bool usage = true) {
  return R"({"id":"msg_1","type":"message","role":"assistant","model":"claude",)"
         R"("content":[{"type":"tool_use","id":"tu_1","name":"f","input":{"a":)" +
         Arrays(depth) + R"(}}],"stop_reason":"tool_use","stop_sequence":null)" +
         (usage ? R"(,"usage":{"input_tokens":3,"output_tokens":4}})" : "}");
}

// An OpenAI answer with an extra top-level member holding `depth` nested arrays.
std::string OpenAIExtra(int depth, bool usage = true) {
  return R"({"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,)"
         R"("message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"extra":)" +
         Arrays(depth) +
         (usage ? R"(,"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}})" : "}");
}

const std::string kTooDeep = "upstream sent a malformed answer: JSON nested deeper than " +
                             std::to_string(dialect::kMaxAnswerJsonDepth) + " levels";

void ExpectTooDeep(const Result<UnaryAnswer>& r) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kUpstream);
  EXPECT_EQ(r.error().code, "upstream_bad_response");
  EXPECT_EQ(r.error().message, kTooDeep);
}

TEST(DeepUpstreamAnswer, AnthropicToolInputForAnOpenAIClientIsRefused) {
  int64_t refused_chars = -1;
  auto r = ConvertUnary(Dialect::kAnthropic, Dialect::kOpenAI, AnthropicToolUse(kDeep), nullptr,
                        &refused_chars);
  ExpectTooDeep(r);
  // The failed attempt's output is still estimated from the body (the input, counted whole).
  EXPECT_GT(refused_chars, 2 * kDeep);
}

TEST(DeepUpstreamAnswer, OpenAIExtraMemberForAnAnthropicClientIsRefused) {
  ExpectTooDeep(ConvertUnary(Dialect::kOpenAI, Dialect::kAnthropic, OpenAIExtra(kDeep)));
}

TEST(DeepUpstreamAnswer, PassedThroughAnswersAreRefused) {
  // Without usage, a passed-through answer is read into a tree for its text's length.
  for (bool usage : {true, false}) {
    ExpectTooDeep(
        ConvertUnary(Dialect::kAnthropic, Dialect::kAnthropic, AnthropicToolUse(kDeep, usage)));
    ExpectTooDeep(ConvertUnary(Dialect::kOpenAI, Dialect::kOpenAI, OpenAIExtra(kDeep, usage)));
  }
}

TEST(DeepUpstreamAnswer, AnswersAtTheBoundStillPass) {
  // The body nests 4 levels around the tool input's arrays: top, content, block, input.
  const int arrays = dialect::kMaxAnswerJsonDepth - 4;
  auto r = ConvertUnary(Dialect::kAnthropic, Dialect::kOpenAI, AnthropicToolUse(arrays));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const json out = json::parse(r->body);
  const std::string args = out["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"];
  EXPECT_EQ(args, R"({"a":)" + Arrays(arrays) + "}");
  ExpectTooDeep(ConvertUnary(Dialect::kAnthropic, Dialect::kOpenAI, AnthropicToolUse(arrays + 1)));
  // Passed through unchanged at the bound.
  auto same = ConvertUnary(Dialect::kAnthropic, Dialect::kAnthropic, AnthropicToolUse(arrays));
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->body, AnthropicToolUse(arrays));
}

TEST(DeepUpstreamAnswer, DeepOpenAIArgumentsReachAnAnthropicClientAsText) {
  // `arguments` is a string: the body is shallow, but parsed into the Anthropic `input` it would
  // be a tree 200,000 deep. Kept as text instead, like arguments that are no JSON object.
  const std::string args = R"({"a":)" + Arrays(kDeep) + "}";
  const std::string body =
      json{{"id", "c1"},
           {"object", "chat.completion"},
           {"model", "m"},
           {"choices",
            {{{"index", 0},
              {"message",
               {{"role", "assistant"},
                {"content", nullptr},
                {"tool_calls",
                 {{{"id", "call_1"},
                   {"type", "function"},
                   {"function", {{"name", "f"}, {"arguments", args}}}}}}}},
              {"finish_reason", "tool_calls"}}}},
           {"usage", {{"prompt_tokens", 3}, {"completion_tokens", 4}, {"total_tokens", 7}}}}
          .dump();
  auto r = ConvertUnary(Dialect::kOpenAI, Dialect::kAnthropic, body);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const json out = json::parse(r->body);
  EXPECT_EQ(out["content"][0]["type"], "tool_use");
  EXPECT_EQ(out["content"][0]["input"], json({{"_raw", args}}));
}

TEST(DeepUpstreamAnswer, DeepErrorBodyIsNotParsed) {
  config::Deployment d;
  d.name = "cheap-1";
  const std::string body = R"({"error":{"message":"overloaded","detail":)" + Arrays(kDeep) + "}}";
  Error e = UpstreamStatusError(d, 503, body);
  EXPECT_EQ(e.code, "upstream_error");
  // No message read from it: its start is quoted, cut, as for a body that is no JSON.
  EXPECT_EQ(e.message, "deployment cheap-1: upstream returned 503: " + body.substr(0, 200));
  EXPECT_FALSE(ContextOverflow(400, body));
}

}  // namespace
}  // namespace triage::pipeline
