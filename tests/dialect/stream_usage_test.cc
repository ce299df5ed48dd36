// The usage an Anthropic stream reports, as the stream translators total it for accounting:
// message_start carries input and cache counts, message_delta the cumulative counts at the end,
// where each field is optional (the API's MessageDeltaUsage: input_tokens and the cache fields
// may be absent or null).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dialect/sse.h"
#include "dialect/stream_translate.h"

namespace triage::dialect {
namespace {

const char kStart[] =
    R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant",)"
    R"("model":"m","content":[],"stop_reason":null,"usage":{"input_tokens":10,)"
    R"("cache_read_input_tokens":1000,"cache_creation_input_tokens":200,"output_tokens":1}}})";
const char kBlock[] =
    R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})";
const char kDelta[] =
    R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hey"}})";

TokenUsage Totals(Dialect client, const std::string& delta_usage) {
  auto t = MakeStreamTranslator(Dialect::kAnthropic, client, "m");
  std::vector<SseEvent> events;
  events.push_back(SseEvent{"message_start", kStart});
  events.push_back(SseEvent{"content_block_start", kBlock});
  events.push_back(SseEvent{"content_block_delta", kDelta});
  events.push_back(SseEvent{"content_block_stop", R"({"type":"content_block_stop","index":0})"});
  events.push_back(SseEvent{
      "message_delta", R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":)" +
                           delta_usage + "}"});
  events.push_back(SseEvent{"message_stop", R"({"type":"message_stop"})"});
  for (const auto& ev : events) {
    auto step = t->Feed(ev);
    EXPECT_FALSE(step.error.has_value());
  }
  EXPECT_TRUE(t->complete());
  EXPECT_TRUE(t->usage_reported());
  return t->usage();
}

// input_tokens = 10 uncached + 1000 read + 200 written = 1210, whatever message_delta repeats.
TEST(AnthropicStreamUsage, MessageDeltaKeepsCacheCountsItDoesNotRepeat) {
  const std::vector<std::string> deltas = {
      R"({"output_tokens":50})",
      R"({"input_tokens":10,"output_tokens":50})",
      R"({"input_tokens":10,"cache_read_input_tokens":null,"output_tokens":50})",
      R"({"input_tokens":10,"cache_read_input_tokens":1000,"cache_creation_input_tokens":200,)"
      R"("output_tokens":50})",
  };
  for (Dialect client : {Dialect::kAnthropic, Dialect::kOpenAI}) {
    for (const auto& d : deltas) {
      SCOPED_TRACE(d);
      const TokenUsage u = Totals(client, d);
      EXPECT_EQ(u.input_tokens, 1210);
      EXPECT_EQ(u.cached_input_tokens, 1000);
      EXPECT_EQ(u.cache_creation_input_tokens, 200);
      EXPECT_EQ(u.output_tokens, 50);
    }
  }
}

// A cumulative message_delta with a larger uncached count than message_start's wins.
TEST(AnthropicStreamUsage, MessageDeltaUpdatesEachFieldOnItsOwn) {
  for (Dialect client : {Dialect::kAnthropic, Dialect::kOpenAI}) {
    const TokenUsage u =
        Totals(client, R"({"input_tokens":12,"cache_read_input_tokens":1100,"output_tokens":7})");
    EXPECT_EQ(u.input_tokens, 12 + 1100 + 200);
    EXPECT_EQ(u.cached_input_tokens, 1100);
    EXPECT_EQ(u.cache_creation_input_tokens, 200);
    EXPECT_EQ(u.output_tokens, 7);
  }
}

}  // namespace
}  // namespace triage::dialect
