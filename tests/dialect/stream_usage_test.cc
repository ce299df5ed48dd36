// The usage an Anthropic stream reports, as the stream translators total it for accounting:
// message_start carries input and cache counts, message_delta the cumulative counts at the end,
// where each field is optional (the API's MessageDeltaUsage: input_tokens and the cache fields
// may be absent or null).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
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

// Anthropic's split of the cache writes (usage.cache_creation, 150 of the 200 to the 1-hour
// cache) comes in message_start; a message_delta that leaves it out keeps it, one that repeats
// it updates it, and a split above the writes is capped at them.
TEST(AnthropicStreamUsage, KeepsTheOneHourPartOfTheCacheWrites) {
  const std::string start =
      R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant",)"
      R"("model":"m","content":[],"stop_reason":null,"usage":{"input_tokens":10,)"
      R"("cache_read_input_tokens":1000,"cache_creation_input_tokens":200,"cache_creation":)"
      R"({"ephemeral_5m_input_tokens":50,"ephemeral_1h_input_tokens":150},"output_tokens":1}}})";
  struct Case {
    std::string delta;
    int64_t want_1h;
  };
  const std::vector<Case> cases = {
      {R"({"output_tokens":50})", 150},
      {R"({"input_tokens":10,"cache_creation_input_tokens":200,"output_tokens":50})", 150},
      {R"({"cache_creation_input_tokens":200,"cache_creation":{"ephemeral_1h_input_tokens":120},)"
       R"("output_tokens":50})",
       120},
      {R"({"cache_creation_input_tokens":200,"cache_creation":{"ephemeral_1h_input_tokens":900},)"
       R"("output_tokens":50})",
       200},
  };
  for (Dialect client : {Dialect::kAnthropic, Dialect::kOpenAI}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(c.delta);
      auto t = MakeStreamTranslator(Dialect::kAnthropic, client, "m");
      for (const SseEvent& ev :
           {SseEvent{"message_start", start}, SseEvent{"content_block_start", kBlock},
            SseEvent{"content_block_delta", kDelta},
            SseEvent{"message_delta",
                     R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":)" +
                         c.delta + "}"},
            SseEvent{"message_stop", R"({"type":"message_stop"})"}})
        EXPECT_FALSE(t->Feed(ev).error.has_value());
      EXPECT_EQ(t->usage().input_tokens, 1210);
      EXPECT_EQ(t->usage().cache_creation_input_tokens, 200);
      EXPECT_EQ(t->usage().cache_creation_1h_input_tokens, c.want_1h);
    }
  }
}

// ---- The OpenAI usage chunk, held back and sent last with triage's `triage` object.

const char kContent[] =
    R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",)"
    R"("choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]})";

// What the client gets before the comment: the usage chunk's frame.
std::string UsageFrame(const std::string& usage_chunk, const nlohmann::json& triage) {
  auto t = MakeStreamTranslator(Dialect::kOpenAI, Dialect::kOpenAI, "m");
  EXPECT_FALSE(t->Feed(SseEvent{"", kContent}).error.has_value());
  const auto step = t->Feed(SseEvent{"", usage_chunk});
  EXPECT_FALSE(step.error.has_value());
  EXPECT_EQ(step.frames, "");  // held for the end
  EXPECT_FALSE(t->Feed(SseEvent{"", "[DONE]"}).error.has_value());
  const std::string out = t->Finish(triage, /*include_usage=*/true, ": c\n\n");
  const size_t comment = out.find(": c\n\n");
  EXPECT_NE(comment, std::string::npos);
  EXPECT_EQ(out.substr(comment), ": c\n\ndata: [DONE]\n\n");
  return out.substr(0, comment);
}

// The chunk's own bytes go out unchanged, in the upstream's member order, with `triage` added
// as its last member (the chunk is not parsed into a tree and written again).
TEST(OpenAIUsageChunk, KeepsTheUpstreamBytesAndAddsTriageLast) {
  const nlohmann::json triage = {{"tier", "open"}, {"cost_usd", "0.000001"}};
  const std::string chunk =
      R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],)"
      R"("usage":{"prompt_tokens":31,"completion_tokens":38,"total_tokens":69}})";
  EXPECT_EQ(UsageFrame(chunk, triage), "data: " + chunk.substr(0, chunk.size() - 1) +
                                           R"(,"triage":)" + triage.dump() + "}\n\n");
  EXPECT_EQ(UsageFrame(" {\"usage\":{\"prompt_tokens\":1} \t} ", triage),
            "data:  {\"usage\":{\"prompt_tokens\":1} \t,\"triage\":" + triage.dump() + "}\n\n");
}

// Whatever the chunk's text, the client reads the chunk's members plus triage's object: where
// the text may already hold a `triage` member (literally or spelled with escapes), it is read
// into a tree, as before, and the upstream's member is replaced rather than repeated.
TEST(OpenAIUsageChunk, ReadsAsTheChunkWithTriageSetInEveryCase) {
  const nlohmann::json triage = {{"tier", "mid"}, {"request_id", "r-\"1\""}};
  const std::vector<std::string> chunks = {
      R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}})",
      R"({"choices":[],"usage":{"prompt_tokens":1},"triage":{"upstream":true}})",
      R"({"choices":[],"usage":{"prompt_tokens":1},"tri\u0061ge":"escaped key"})",
      R"({"id":"a\"b\\c","choices":[],"usage":{"prompt_tokens":1}})",
      R"({"choices":[],"usage":{"prompt_tokens":1},"note":"the word \"triage\" in a value"})",
      "\t{\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\t\r",
      R"({"choices":[],"usage":{"prompt_tokens":1},"x":"é✓"})",
  };
  for (const std::string& chunk : chunks) {
    SCOPED_TRACE(chunk);
    const std::string frame = UsageFrame(chunk, triage);
    ASSERT_EQ(frame.rfind("data: ", 0), 0u);
    ASSERT_GE(frame.size(), 8u);
    ASSERT_EQ(frame.substr(frame.size() - 2), "\n\n");
    const nlohmann::json got = nlohmann::json::parse(frame.substr(6, frame.size() - 8));
    nlohmann::json want = nlohmann::json::parse(chunk);
    want["triage"] = triage;
    EXPECT_EQ(got, want);
    // One `triage` member, not the upstream's and ours.
    const std::string text = frame.substr(6);
    EXPECT_EQ(text.find("\"triage\""), text.rfind("\"triage\""));
  }
}

// The usage the request is billed for differs from the chunk's (its counts were 0 and the row
// bills triage's estimate): the chunk says the billed counts, its other members kept. The
// same usage as reported leaves the upstream's bytes alone.
TEST(OpenAIUsageChunk, SaysTheBilledCountsWhenTheyDiffer) {
  const nlohmann::json triage = {{"usage_estimated", true}};
  const std::string chunk =
      R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],)"
      R"("usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,)"
      R"("completion_tokens_details":{"reasoning_tokens":0}}})";
  auto finish = [&](const TokenUsage& billed) {
    auto t = MakeStreamTranslator(Dialect::kOpenAI, Dialect::kOpenAI, "m");
    EXPECT_FALSE(t->Feed(SseEvent{"", kContent}).error.has_value());
    EXPECT_FALSE(t->Feed(SseEvent{"", chunk}).error.has_value());
    const std::string out = t->Finish(triage, /*include_usage=*/true, ": c\n\n", &billed);
    return out.substr(0, out.find(": c\n\n"));
  };
  TokenUsage billed;
  billed.input_tokens = 25;
  billed.output_tokens = 3;
  const std::string frame = finish(billed);
  const nlohmann::json got = nlohmann::json::parse(frame.substr(6, frame.size() - 8));
  EXPECT_EQ(got["usage"]["prompt_tokens"], 25);
  EXPECT_EQ(got["usage"]["completion_tokens"], 3);
  EXPECT_EQ(got["usage"]["total_tokens"], 28);
  EXPECT_EQ(got["usage"]["completion_tokens_details"]["reasoning_tokens"], 0);
  EXPECT_EQ(got["id"], "c1");
  EXPECT_EQ(got["triage"], triage);
  // As reported: the upstream's bytes, `triage` added last.
  EXPECT_EQ(finish(TokenUsage{}), "data: " + chunk.substr(0, chunk.size() - 1) + R"(,"triage":)" +
                                      triage.dump() + "}\n\n");
}

}  // namespace
}  // namespace triage::dialect
