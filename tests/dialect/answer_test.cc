// InspectAnswer and InspectAnthropicEvent (simdjson) against their tree readings (nlohmann,
// what ConvertUnary and AnthropicPassThrough used before, and the fallbacks) on hand-written
// bodies and events, the response and stream fixtures, and byte mutations of all of them; and
// what each reads. The same for ReadAnthropicEvent, the Anthropic-to-OpenAI translator's reading.
#include "dialect/answer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "dialect/fast_json.h"
#include "differential.h"

namespace triage::dialect {
namespace {

std::string Describe(const AnswerInfo& a) {
  std::ostringstream o;
  o << "object=" << a.is_object << " answer=" << a.has_answer;
  if (a.usage)
    o << " usage=" << a.usage->input_tokens << "/" << a.usage->output_tokens << "/"
      << a.usage->cached_input_tokens << "/" << a.usage->cache_creation_input_tokens;
  return o.str();
}

// Returns whether simdjson read the body itself.
bool ExpectSame(Dialect wire, const std::string& body) {
  auto fast = InspectAnswer(wire, body);
  auto tree = InspectAnswerTree(wire, body);
  EXPECT_TRUE(fast == tree) << DialectName(wire) << " " << body.substr(0, 300)
                            << "\n  simdjson: " << Describe(fast)
                            << "\n  tree:     " << Describe(tree);
  auto direct = InspectAnswerSimdjson(wire, body);
  if (direct) {
    EXPECT_TRUE(*direct == tree) << body.substr(0, 300);
  }
  return direct.has_value();
}

const std::vector<std::string>& Bodies() {
  static const std::vector<std::string> bodies = {
      R"({"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":4}}})",
      R"({"id":"msg","type":"message","role":"assistant","content":[{"type":"text","text":"Hi"}],"usage":{"input_tokens":5,"output_tokens":2,"cache_read_input_tokens":7,"cache_creation_input_tokens":3}})",
      R"({"choices":[]})",
      R"({"content":[]})",
      R"({"choices":[],"usage":{"prompt_tokens":9}})",
      R"({"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":"2"}})",
      R"({"choices":[],"usage":{"prompt_tokens":1.5e3,"completion_tokens":18446744073709551615}})",
      R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2},"usage":null})",
      R"({"choices":[],"usage":null,"usage":{"prompt_tokens":1,"completion_tokens":2}})",
      R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":1},"prompt_tokens_details":[]}})",
      R"({"content":[],"usage":{"input_tokens":5,"input_tokens":6,"output_tokens":-2}})",
      R"({"content":[],"usage":[]})",
      R"({"x":{"choices":[],"content":[]}})",
      R"({"error":{"message":"bad"}})",
      R"([{"choices":[]}])",
      R"("text")",
      "",
      "{",
      "\xEF\xBB\xBF{\"choices\":[],\"content\":[]}",
      R"({"choices":[],"usage":{"prompt_tokens":18446744073709551616,"completion_tokens":1}})",
      // Anthropic's split of the cache writes (usage.cache_creation): 2 of the 3 to the 1-hour
      // cache; a split claiming more than the writes (capped); one that is not an object.
      R"({"content":[],"usage":{"input_tokens":5,"output_tokens":2,"cache_creation_input_tokens":3,"cache_creation":{"ephemeral_5m_input_tokens":1,"ephemeral_1h_input_tokens":2}}})",
      R"({"content":[],"usage":{"input_tokens":5,"output_tokens":2,"cache_creation_input_tokens":3,"cache_creation":{"ephemeral_1h_input_tokens":9}}})",
      R"({"content":[],"usage":{"input_tokens":5,"output_tokens":2,"cache_creation_input_tokens":3,"cache_creation":7}})",
  };
  return bodies;
}

TEST(InspectAnswer, HandWrittenBodiesMatchTheTree) {
  for (Dialect wire : {Dialect::kOpenAI, Dialect::kAnthropic})
    for (const auto& b : Bodies()) ExpectSame(wire, b);
}

TEST(InspectAnswer, ReadsWhatAccountingNeeds) {
  auto o = InspectAnswer(Dialect::kOpenAI, Bodies()[0]);
  EXPECT_TRUE(o.is_object);
  EXPECT_TRUE(o.has_answer);
  ASSERT_TRUE(o.usage.has_value());
  EXPECT_EQ(o.usage->input_tokens, 9);
  EXPECT_EQ(o.usage->output_tokens, 2);
  EXPECT_EQ(o.usage->cached_input_tokens, 4);
  auto a = InspectAnswer(Dialect::kAnthropic, Bodies()[1]);
  EXPECT_TRUE(a.has_answer);
  ASSERT_TRUE(a.usage.has_value());
  EXPECT_EQ(a.usage->input_tokens, 5 + 7 + 3);
  EXPECT_EQ(a.usage->output_tokens, 2);
  EXPECT_EQ(a.usage->cached_input_tokens, 7);
  EXPECT_EQ(a.usage->cache_creation_input_tokens, 3);
  EXPECT_EQ(a.usage->cache_creation_1h_input_tokens, 0);
  const size_t n = Bodies().size();
  for (size_t i = n - 3; i < n; ++i) {
    auto split = InspectAnswer(Dialect::kAnthropic, Bodies()[i]);
    ASSERT_TRUE(split.usage.has_value()) << Bodies()[i];
    EXPECT_EQ(split.usage->input_tokens, 5 + 3);
    EXPECT_EQ(split.usage->cache_creation_input_tokens, 3);
    EXPECT_EQ(split.usage->cache_creation_1h_input_tokens, i == n - 3   ? 2
                                                           : i == n - 2 ? 3
                                                                        : 0)
        << Bodies()[i];
  }
  // An OpenAI usage needs both counts; an Anthropic answer needs `content`.
  EXPECT_FALSE(InspectAnswer(Dialect::kOpenAI, Bodies()[4]).usage.has_value());
  EXPECT_FALSE(InspectAnswer(Dialect::kAnthropic, Bodies()[0]).has_answer);
  EXPECT_FALSE(InspectAnswer(Dialect::kOpenAI, "[1]").is_object);
  // Both dialects' real answers are read by simdjson; a byte-order mark and an integer beyond
  // 64 bits are not, and reach the tree.
  EXPECT_TRUE(InspectAnswerSimdjson(Dialect::kOpenAI, Bodies()[0]).has_value());
  EXPECT_TRUE(InspectAnswerSimdjson(Dialect::kAnthropic, Bodies()[1]).has_value());
  EXPECT_FALSE(InspectAnswerSimdjson(Dialect::kOpenAI, Bodies()[18]).has_value());
  EXPECT_TRUE(InspectAnswer(Dialect::kOpenAI, Bodies()[18]).has_answer);
  EXPECT_FALSE(InspectAnswerSimdjson(Dialect::kOpenAI, Bodies()[19]).has_value());
  EXPECT_TRUE(InspectAnswer(Dialect::kOpenAI, Bodies()[19]).usage.has_value());
}

// Regression: a negative count, one beyond int64 (cast to -1) or 2^63-1 (which, added to the
// cache counts, overflowed) was billed, summed into /metrics and could make counters go down.
// Both readers now take a count outside [0, fast_json::kMaxReportedTokens] as not reported (0).
TEST(InspectAnswer, TokenCountsNoUpstreamShouldReportReadAsNotReported) {
  auto usage = [](Dialect wire, const std::string& u) {
    const std::string body = wire == Dialect::kOpenAI ? R"({"choices":[],"usage":)" + u + "}"
                                                      : R"({"content":[],"usage":)" + u + "}";
    EXPECT_TRUE(InspectAnswer(wire, body) == InspectAnswerTree(wire, body)) << body;
    auto info = InspectAnswer(wire, body);
    EXPECT_TRUE(info.usage.has_value()) << body;
    return info.usage.value_or(TokenUsage{});
  };
  const std::string max = std::to_string(fast_json::kMaxReportedTokens);
  const std::string over = std::to_string(fast_json::kMaxReportedTokens + 1);
  TokenUsage o = usage(Dialect::kOpenAI,
                       R"({"prompt_tokens":)" + max + R"(,"completion_tokens":)" + over + "}");
  EXPECT_EQ(o.input_tokens, fast_json::kMaxReportedTokens);
  EXPECT_EQ(o.output_tokens, 0);
  o = usage(Dialect::kOpenAI, R"({"prompt_tokens":-5,"completion_tokens":18446744073709551615,)"
                              R"("prompt_tokens_details":{"cached_tokens":9223372036854775807}})");
  EXPECT_EQ(o, TokenUsage{});
  // cached_tokens are part of prompt_tokens: more is capped, so the row never says cached > input.
  o = usage(
      Dialect::kOpenAI,
      R"({"prompt_tokens":1000,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":5000}})");
  EXPECT_EQ(o.cached_input_tokens, 1000);
  o = usage(Dialect::kOpenAI, R"({"prompt_tokens":12.5,"completion_tokens":"7"})");
  EXPECT_EQ(o.input_tokens, 12);
  EXPECT_EQ(o.output_tokens, 0);
  TokenUsage a = usage(Dialect::kAnthropic,
                       R"({"input_tokens":9223372036854775807,"cache_read_input_tokens":1000,)"
                       R"("cache_creation_input_tokens":-3,"output_tokens":20})");
  EXPECT_EQ(a.input_tokens, 1000);
  EXPECT_EQ(a.cached_input_tokens, 1000);
  EXPECT_EQ(a.cache_creation_input_tokens, 0);
  EXPECT_EQ(a.output_tokens, 20);
}

TEST(InspectAnswer, LargeBodiesGoToTheTree) {
  std::string big = R"({"choices":[{"message":{"content":")" + std::string(70000, 'x') +
                    R"("}}],"usage":{"prompt_tokens":3,"completion_tokens":4}})";
  EXPECT_FALSE(InspectAnswerSimdjson(Dialect::kOpenAI, big).has_value());
  auto info = InspectAnswer(Dialect::kOpenAI, big);
  ASSERT_TRUE(info.usage.has_value());
  EXPECT_EQ(info.usage->output_tokens, 4);
}

std::vector<std::string> FixtureBodies() {
  std::vector<std::string> out;
  for (const auto& path : test_util::FixtureFiles("responses")) {
    std::ifstream in(path);
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_object() && j.contains("input")) out.push_back(j["input"].dump());
  }
  return out;
}

TEST(InspectAnswer, ResponseFixturesMatchTheTree) {
  auto bodies = FixtureBodies();
  ASSERT_GT(bodies.size(), 5u);
  size_t by_simdjson = 0;
  for (const auto& b : bodies)
    for (Dialect wire : {Dialect::kOpenAI, Dialect::kAnthropic}) by_simdjson += ExpectSame(wire, b);
  EXPECT_EQ(by_simdjson, 2 * bodies.size());
}

TEST(InspectAnswer, MutatedBodiesMatchTheTree) {
  std::vector<std::string> seeds = Bodies();
  for (auto& b : FixtureBodies()) seeds.push_back(b);
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20000 && !HasFailure(); ++i) {
    std::string p = test_util::Mutate(seeds[rng() % seeds.size()], rng);
    ExpectSame(i % 2 ? Dialect::kOpenAI : Dialect::kAnthropic, p);
  }
}

std::string Describe(const AnthropicEventInfo& e) {
  std::ostringstream o;
  o << "object=" << e.is_object << " type=" << e.type << " error=" << e.error_message
    << " message=" << e.has_message << " message_usage=" << e.message_usage.input_tokens << "/"
    << e.message_usage.output_tokens << " usage=" << e.usage.input_tokens << "/"
    << e.usage.output_tokens << "/" << e.usage.cached_input_tokens << "/"
    << e.usage.cache_creation_input_tokens << " block=" << e.content_block_type;
  return o.str();
}

// Returns whether simdjson read the event itself.
bool ExpectSameEvent(const std::string& data) {
  auto fast = InspectAnthropicEvent(data);
  auto tree = InspectAnthropicEventTree(data);
  EXPECT_TRUE(fast == tree) << data.substr(0, 300) << "\n  simdjson: " << Describe(fast)
                            << "\n  tree:     " << Describe(tree);
  auto direct = InspectAnthropicEventSimdjson(data);
  if (direct) {
    EXPECT_TRUE(*direct == tree) << data.substr(0, 300);
  }
  return direct.has_value();
}

const std::vector<std::string>& Events() {
  static const std::vector<std::string> events = {
      R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude","stop_reason":null,"usage":{"input_tokens":25,"output_tokens":1,"cache_read_input_tokens":10,"cache_creation_input_tokens":0}}})",
      R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})",
      R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"f","input":{}}})",
      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})",
      R"({"type":"content_block_stop","index":0})",
      R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}})",
      R"({"type":"message_stop"})",
      R"({"type":"ping"})",
      R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})",
      R"({"type":"error","error":"plain"})",
      R"({"type":5,"message":null,"usage":[],"content_block":{"type":7}})",
      R"({"message":{"usage":{"input_tokens":3}},"message":{"usage":{"output_tokens":4}}})",
      R"({"type":"a","type":"b","usage":{"output_tokens":1},"usage":{"input_tokens":2.9}})",
      R"({"error":{"message":"x","message":1}})",
      R"({"x":{"type":"message_start","message":{"usage":{"input_tokens":3}}}})",
      R"([{"type":"ping"}])",
      "",
      "{",
      "\xEF\xBB\xBF{\"type\":\"ping\"}",
      R"({"type":"message_delta","usage":{"output_tokens":18446744073709551616}})",
  };
  return events;
}

TEST(InspectAnthropicEvent, HandWrittenEventsMatchTheTree) {
  for (const auto& e : Events()) ExpectSameEvent(e);
}

TEST(InspectAnthropicEvent, ReadsWhatThePassThroughNeeds) {
  auto start = InspectAnthropicEvent(Events()[0]);
  EXPECT_TRUE(start.is_object);
  EXPECT_EQ(start.type, "message_start");
  EXPECT_TRUE(start.has_message);
  EXPECT_EQ(start.message_usage.input_tokens, 25 + 10);
  EXPECT_EQ(start.message_usage.cached_input_tokens, 10);
  EXPECT_EQ(InspectAnthropicEvent(Events()[2]).content_block_type, "tool_use");
  EXPECT_EQ(InspectAnthropicEvent(Events()[5]).usage.output_tokens, 15);
  EXPECT_EQ(InspectAnthropicEvent(Events()[8]).error_message, "Overloaded");
  EXPECT_EQ(InspectAnthropicEvent(Events()[9]).error_message, "");
  EXPECT_FALSE(InspectAnthropicEvent(Events()[15]).is_object);
  // Duplicate keys: the last one counts.
  EXPECT_EQ(InspectAnthropicEvent(Events()[11]).message_usage.output_tokens, 4);
  EXPECT_EQ(InspectAnthropicEvent(Events()[11]).message_usage.input_tokens, 0);
  EXPECT_EQ(InspectAnthropicEvent(Events()[12]).type, "b");
  EXPECT_EQ(InspectAnthropicEvent(Events()[12]).usage.input_tokens, 2);
  // A byte-order mark and an integer beyond 64 bits reach the tree.
  EXPECT_FALSE(InspectAnthropicEventSimdjson(Events()[18]).has_value());
  EXPECT_EQ(InspectAnthropicEvent(Events()[18]).type, "ping");
  EXPECT_FALSE(InspectAnthropicEventSimdjson(Events()[19]).has_value());
  EXPECT_TRUE(InspectAnthropicEvent(Events()[19]).is_object);
  // Characters of generated text (the estimate without usage): code points of the delta's
  // text, partial_json and thinking.
  EXPECT_EQ(InspectAnthropicEvent(Events()[3]).text_chars, 2);
  EXPECT_EQ(
      InspectAnthropicEvent(
          R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Grüße"}})")
          .text_chars,
      5);
  EXPECT_EQ(
      InspectAnthropicEvent(
          R"({"type":"content_block_delta","delta":{"partial_json":"{\"a\"","thinking":"hm"}})")
          .text_chars,
      6);
  EXPECT_EQ(InspectAnthropicEvent(Events()[0]).text_chars, 0);
}

TEST(InspectAnthropicEvent, StreamFixtureEventsMatchTheTree) {
  auto payloads = test_util::FixtureSsePayloads();
  ASSERT_GT(payloads.size(), 50u);
  size_t by_simdjson = 0;
  for (const auto& p : payloads) by_simdjson += ExpectSameEvent(p);
  // Every fixture payload is well-formed JSON except OpenAI's "[DONE]".
  size_t done = 0;
  for (const auto& p : payloads) done += p == "[DONE]";
  EXPECT_EQ(by_simdjson, payloads.size() - done);
}

TEST(InspectAnthropicEvent, MutatedEventsMatchTheTree) {
  std::vector<std::string> seeds = Events();
  for (auto& p : test_util::FixtureSsePayloads()) seeds.push_back(p);
  std::mt19937_64 rng(13);
  for (int i = 0; i < 20000 && !HasFailure(); ++i)
    ExpectSameEvent(test_util::Mutate(seeds[rng() % seeds.size()], rng));
}

// ---- ReadAnthropicEvent: what the Anthropic-to-OpenAI stream translator reads.

std::string Describe(const AnthropicEventView& e) {
  std::ostringstream o;
  o << "object=" << e.is_object << " type=" << e.type << " error=" << e.error_message
    << " message=" << e.message_id << "/" << e.message_model << "/" << e.message_usage.input_tokens
    << "/" << e.message_usage.output_tokens << " usage=" << e.usage.input_tokens << "/"
    << e.usage.output_tokens << " index=" << e.index << " block=" << e.block_type << "/"
    << e.block_id << "/" << e.block_name << " delta=" << e.delta_type << "/" << e.delta_text << "/"
    << e.delta_partial_json << "/" << e.delta_stop_reason;
  return o.str();
}

// Returns whether simdjson read the event itself.
bool ExpectSameView(const std::string& data) {
  auto fast = ReadAnthropicEvent(data);
  auto tree = ReadAnthropicEventTree(data);
  EXPECT_TRUE(fast == tree) << data.substr(0, 300) << "\n  simdjson: " << Describe(fast)
                            << "\n  tree:     " << Describe(tree);
  auto direct = ReadAnthropicEventSimdjson(data);
  if (direct) {
    EXPECT_TRUE(*direct == tree) << data.substr(0, 300);
  }
  return direct.has_value();
}

const std::vector<std::string>& TranslatorEvents() {
  static const std::vector<std::string> events = [] {
    std::vector<std::string> e = Events();
    for (
        const char* extra : {
            R"({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Pa"}})",
            R"({"type":"content_block_delta","index":1.0,"delta":{"type":"text_delta","text":"a\nb\u0001\"\\é"}})",
            R"({"type":"content_block_delta","index":-3,"delta":{"type":"thinking_delta","thinking":"x"}})",
            R"({"type":"content_block_delta","index":18446744073709551615,"delta":"text"})",
            R"({"type":"content_block_delta","index":"0","delta":{"text":1,"partial_json":null}})",
            R"({"type":"content_block_delta","delta":{"type":"a"},"delta":{"text":"b"}})",
            R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":7,"input_tokens":3}})",
            R"({"type":"message_start","message":{"id":"msg_2","model":"claude-sonnet-4-6","id":7}})",
            R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","name":"f2"}})",
            R"({"type":"content_block_start","content_block":[],"index":true})",
        })
      e.push_back(extra);
    return e;
  }();
  return events;
}

TEST(ReadAnthropicEvent, HandWrittenEventsMatchTheTree) {
  for (const auto& e : TranslatorEvents()) ExpectSameView(e);
}

TEST(ReadAnthropicEvent, ReadsWhatTheTranslatorNeeds) {
  const auto& ev = TranslatorEvents();
  auto start = ReadAnthropicEvent(ev[0]);
  EXPECT_EQ(start.type, "message_start");
  EXPECT_EQ(start.message_id, "msg_1");
  EXPECT_EQ(start.message_model, "claude");
  EXPECT_EQ(start.message_usage.input_tokens, 25 + 10);
  auto tool = ReadAnthropicEvent(ev[2]);
  EXPECT_EQ(tool.index, 1);
  EXPECT_EQ(tool.block_type, "tool_use");
  EXPECT_EQ(tool.block_id, "t");
  EXPECT_EQ(tool.block_name, "f");
  auto text = ReadAnthropicEvent(ev[3]);
  EXPECT_EQ(text.delta_type, "text_delta");
  EXPECT_EQ(text.delta_text, "Hi");
  EXPECT_EQ(ReadAnthropicEvent(ev[5]).delta_stop_reason, "end_turn");
  EXPECT_EQ(ReadAnthropicEvent(ev[8]).error_message, "Overloaded");
  const size_t base = Events().size();
  auto args = ReadAnthropicEvent(ev[base]);
  EXPECT_EQ(args.index, 2);
  EXPECT_EQ(args.delta_type, "input_json_delta");
  EXPECT_EQ(args.delta_partial_json, "{\"city\": \"Pa");
  auto escaped = ReadAnthropicEvent(ev[base + 1]);
  EXPECT_EQ(escaped.index, 0);  // a float index reads 0, as the tree's is_number_integer
  EXPECT_EQ(escaped.delta_text, "a\nb\x01\"\\\xC3\xA9");
  EXPECT_EQ(ReadAnthropicEvent(ev[base + 2]).index, -3);
  EXPECT_EQ(ReadAnthropicEvent(ev[base + 5]).delta_type, "");  // the last `delta` counts
  EXPECT_EQ(ReadAnthropicEvent(ev[base + 5]).delta_text, "b");
  EXPECT_EQ(ReadAnthropicEvent(ev[base + 7]).message_id, "");  // last id is a number
  EXPECT_EQ(ReadAnthropicEvent(ev[base + 8]).block_name, "f2");
}

TEST(ReadAnthropicEvent, StreamFixtureEventsMatchTheTree) {
  auto payloads = test_util::FixtureSsePayloads();
  size_t by_simdjson = 0, done = 0;
  for (const auto& p : payloads) by_simdjson += ExpectSameView(p);
  for (const auto& p : payloads) done += p == "[DONE]";
  EXPECT_EQ(by_simdjson, payloads.size() - done);
}

TEST(ReadAnthropicEvent, MutatedEventsMatchTheTree) {
  std::vector<std::string> seeds = TranslatorEvents();
  for (auto& p : test_util::FixtureSsePayloads()) seeds.push_back(p);
  std::mt19937_64 rng(17);
  for (int i = 0; i < 20000 && !HasFailure(); ++i)
    ExpectSameView(test_util::Mutate(seeds[rng() % seeds.size()], rng));
}

// Regression: the tree readings (the fallback for what simdjson refuses, such as nesting past
// its depth limit) copied the members they read (JsonObj returned a copy), and nlohmann's copy
// recurses: an upstream's stream event whose tool input or arguments nested 200000 levels deep
// crashed the gateway before the cascade's own depth check could refuse the call. The members
// are now read in place, in either dialect's passthrough and in the translator's readings.
TEST(TreeReadings, DeeplyNestedMembersAreReadInPlace) {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  const std::string block =
      R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t",)"
      R"("name":"time","input":{"a":)" +
      deep + "}}}";
  EXPECT_EQ(InspectAnthropicEvent(block).content_block_type, "tool_use");
  EXPECT_EQ(InspectAnthropicEventTree(block).content_block_type, "tool_use");
  EXPECT_EQ(ReadAnthropicEvent(block).block_name, "time");
  EXPECT_EQ(ReadAnthropicEventTree(block).block_name, "time");
  const std::string message = R"({"type":"message_start","message":{"id":"m","content":)" + deep +
                              R"(,"usage":{"input_tokens":7,"output_tokens":1}}})";
  EXPECT_EQ(InspectAnthropicEvent(message).message_usage.input_tokens, 7);
  EXPECT_EQ(ReadAnthropicEventTree(message).message_id, "m");
}

}  // namespace
}  // namespace triage::dialect
