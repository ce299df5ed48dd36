// Regression: JSON nested ~200,000 levels deep crashed the gateway where it was copied or dumped:
// a streamed upstream event (an Anthropic content_block_start whose tool_use `input` is that
// deep), and a tool call's `arguments` string parsed into an object (an OpenAI answer for an
// Anthropic client; an OpenAI client's request for an Anthropic upstream). Every translator now
// refuses such an event before reading it; such arguments stay text.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "dialect/json_util.h"
#include "dialect/openai.h"
#include "dialect/sse.h"
#include "dialect/stream_translate.h"
#include "dialect/translate.h"

namespace triage::dialect {
namespace {

using json = nlohmann::json;

constexpr int kDeep = 200000;

std::string Arrays(int n) { return std::string(n, '[') + std::string(n, ']'); }

SseEvent BlockStart(int depth) {
  return SseEvent{"content_block_start",
                  R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use",)"
                  R"("id":"tu_1","name":"f","input":{"a":)" +
                      Arrays(depth) + "}}}"};
}

SseEvent MessageStart() {
  return SseEvent{"message_start",
                  R"({"type":"message_start","message":{"id":"msg_1","type":"message",)"
                  R"("role":"assistant","model":"claude","content":[],"stop_reason":null,)"
                  R"("usage":{"input_tokens":3,"output_tokens":1}}})"};
}

SseEvent OpenAIChunk(int depth) {
  return SseEvent{"", R"({"id":"c1","object":"chat.completion.chunk","model":"m","choices":[)"
                      R"({"index":0,"delta":{"role":"assistant","content":"hi"},)"
                      R"("finish_reason":null}],"extra":)" +
                          Arrays(depth) + "}"};
}

const std::string kTooDeep = "upstream sent a malformed answer: JSON nested deeper than " +
                             std::to_string(kMaxAnswerJsonDepth) + " levels";

TEST(DeepUpstreamEvent, AnthropicToolStartIsRefusedForEitherClient) {
  for (Dialect client : {Dialect::kOpenAI, Dialect::kAnthropic}) {
    auto t = MakeStreamTranslator(Dialect::kAnthropic, client, "m");
    auto first = t->Feed(MessageStart());
    ASSERT_FALSE(first.error) << *first.error;
    auto step = t->Feed(BlockStart(kDeep));
    ASSERT_TRUE(step.error);
    EXPECT_EQ(*step.error, kTooDeep);
    EXPECT_TRUE(step.frames.empty());
    EXPECT_FALSE(step.content);
  }
}

TEST(DeepUpstreamEvent, OpenAIChunkIsRefusedForEitherClient) {
  for (Dialect client : {Dialect::kOpenAI, Dialect::kAnthropic}) {
    auto t = MakeStreamTranslator(Dialect::kOpenAI, client, "m");
    auto step = t->Feed(OpenAIChunk(kDeep));
    ASSERT_TRUE(step.error);
    EXPECT_EQ(*step.error, kTooDeep);
    EXPECT_TRUE(step.frames.empty());
  }
}

TEST(DeepUpstreamEvent, EventsAtTheBoundStillPass) {
  // content_block_start nests 3 levels around the input's arrays: top, content_block, input.
  const int arrays = kMaxAnswerJsonDepth - 3;
  auto t = MakeStreamTranslator(Dialect::kAnthropic, Dialect::kOpenAI, "m");
  ASSERT_FALSE(t->Feed(MessageStart()).error);
  auto step = t->Feed(BlockStart(arrays));
  ASSERT_FALSE(step.error) << *step.error;
  // The start's `input` is the placeholder of a streamed block: the call opens without it.
  EXPECT_NE(step.frames.find("tool_calls"), std::string::npos);
  EXPECT_TRUE(t->Feed(BlockStart(arrays + 1)).error);
}

TEST(DeepUpstreamEvent, DeepToolArgumentsAreKeptAsText) {
  const std::string deep = R"({"a":)" + Arrays(kDeep) + "}";
  const json input = ParseToolArguments(deep);
  ASSERT_EQ(input.size(), 1u);
  EXPECT_EQ(input.value("_raw", ""), deep);
  const std::string ok = R"({"a":)" + Arrays(kMaxAnswerJsonDepth - 1) + "}";
  EXPECT_TRUE(ParseToolArguments(ok).contains("a"));
}

TEST(DeepToolArguments, AClientsDeepArgumentsReachAnAnthropicUpstreamAsText) {
  const std::string args = R"({"a":)" + Arrays(kDeep) + "}";
  const json call = {
      {"id", "call_1"}, {"type", "function"}, {"function", {{"name", "f"}, {"arguments", args}}}};
  const json body = {{"model", "m"},
                     {"messages",
                      {{{"role", "user"}, {"content", "hi"}},
                       {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", {call}}},
                       {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "r"}}}}};
  auto req = ParseOpenAIChat(body.dump(), 64);  // the body itself nests 7 levels
  ASSERT_TRUE(req.ok()) << req.error().message;
  const json out = json::parse(AnthropicRequestBody(*req, "claude"));
  EXPECT_EQ(out["messages"][1]["content"][0]["input"], json({{"_raw_arguments", args}}));
}

}  // namespace
}  // namespace triage::dialect
