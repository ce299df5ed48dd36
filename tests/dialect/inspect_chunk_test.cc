// InspectOpenAIChunk (simdjson) against InspectOpenAIChunkTree (nlohmann's tree, the reading it
// replaced and its fallback): hand-written payloads, every payload of the stream fixtures,
// generated objects built from the keys the inspection reads (duplicates, wrong types, odd
// numbers), and byte mutations of all of them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "dialect/openai.h"
#include "differential.h"

namespace triage::dialect {
namespace {

std::string Describe(const ChunkInfo& i) {
  std::ostringstream o;
  o << "content=" << i.has_content << " choices=" << i.has_choices
    << " finish=" << (i.finish_reason ? *i.finish_reason : "-") << " error=" << i.is_error
    << " msg=" << i.error_message;
  if (i.usage)
    o << " usage=" << i.usage->input_tokens << "/" << i.usage->output_tokens << "/"
      << i.usage->cached_input_tokens;
  return o.str();
}

// Compares the two readings; returns whether simdjson read the payload itself (false when it
// refused it and InspectOpenAIChunk fell back to the tree).
bool ExpectSame(const std::string& payload) {
  auto fast = InspectOpenAIChunk(payload);
  auto tree = InspectOpenAIChunkTree(payload);
  EXPECT_TRUE(fast == tree) << payload << "\n  simdjson: " << Describe(fast)
                            << "\n  tree:     " << Describe(tree);
  auto direct = InspectOpenAIChunkSimdjson(payload);
  if (direct) {
    EXPECT_TRUE(*direct == tree) << payload;
  }
  // The translator's reading (OpenAI upstream, Anthropic client) of the same payload.
  if (payload != "[DONE]") {
    EXPECT_TRUE(ReadOpenAIChunk(payload) == ReadOpenAIChunkTree(payload)) << payload;
    auto view = ReadOpenAIChunkSimdjson(payload);
    EXPECT_EQ(view.has_value(), direct.has_value()) << payload;
    if (view) {
      EXPECT_TRUE(*view == ReadOpenAIChunkTree(payload)) << payload;
    }
  }
  return direct.has_value();
}

const std::vector<std::string>& HandWritten() {
  static const std::vector<std::string> cases = {
      "[DONE]",
      "",
      "null",
      "[1,2]",
      "\"text\"",
      "{}",
      "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}",
      "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":\"stop\"}]}",
      "{\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}",
      "{\"choices\":[{\"delta\":{\"tool_calls\":[]}}]}",
      "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0}]}}]}",
      "{\"choices\":[{\"delta\":{\"tool_calls\":[[]]}}]}",
      "{\"choices\":[{\"delta\":{\"function_call\":{}}}]}",
      "{\"choices\":[{\"delta\":{\"function_call\":\"x\"}}]}",
      "{\"choices\":[{\"delta\":{\"reasoning_content\":\"think\"}}]}",
      "{\"choices\":[{\"delta\":{\"reasoning\":\"think\"}}]}",
      "{\"choices\":[{\"delta\":{\"refusal\":\"no\"}}]}",
      "{\"choices\":[1,{\"delta\":{\"content\":\"a\"}},null]}",
      "{\"choices\":[{\"finish_reason\":\"length\"},{\"finish_reason\":\"stop\"}]}",
      "{\"choices\":[{\"finish_reason\":\"length\"},{\"finish_reason\":null}]}",
      "{\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5}}",
      "{\"usage\":{\"prompt_tokens\":10.9,\"completion_tokens\":1e30,"
      "\"prompt_tokens_details\":{\"cached_tokens\":18446744073709551615}}}",
      "{\"usage\":{\"prompt_tokens\":-3,\"completion_tokens\":\"5\"}}",
      "{\"usage\":null}",
      "{\"usage\":[1]}",
      "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}",
      "{\"error\":{\"message\":5}}",
      "{\"error\":\"plain\"}",
      "{\"error\":\"\"}",
      "{\"error\":null,\"choices\":[{\"delta\":{\"content\":\"a\"}}]}",
      "{\"error\":false}",
      "{\"error\":[]}",
      // Duplicate keys: the last occurrence counts, as in a parsed object.
      "{\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"choices\":[]}",
      "{\"choices\":[{\"delta\":{\"content\":\"a\",\"content\":\"\"}}]}",
      "{\"choices\":[{\"delta\":{\"content\":\"\",\"content\":\"a\"}}]}",
      "{\"choices\":[{\"delta\":{\"content\":\"a\"},\"delta\":{}}]}",
      "{\"choices\":[{\"delta\":{\"tool_calls\":[1],\"tool_calls\":[]}}]}",
      "{\"choices\":[{\"finish_reason\":\"stop\",\"finish_reason\":null}]}",
      "{\"error\":{\"message\":\"x\"},\"error\":null}",
      "{\"error\":{\"message\":\"x\",\"message\":null}}",
      "{\"usage\":{\"prompt_tokens\":3},\"usage\":{\"completion_tokens\":4}}",
      "{\"usage\":{\"prompt_tokens\":3,\"prompt_tokens\":\"x\"}}",
      "{\"usage\":{\"prompt_tokens_details\":{\"cached_tokens\":2},"
      "\"prompt_tokens_details\":null}}",
      // Keys that matter, in places where they do not.
      "{\"x\":{\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"error\":\"e\"}}",
      "{\"choices\":[{\"x\":{\"delta\":{\"content\":\"a\"}}}]}",
      "{\"choices\":[{\"delta\":{\"x\":{\"content\":\"a\"}}}]}",
      // Nesting deeper than the contexts the inspection tracks.
      "{\"choices\":[{\"delta\":{\"tool_calls\":[[[[[[[[[[1]]]]]]]]]]}}]}",
      "{\"x\":[[[[[[[[[[{\"choices\":1,\"error\":2}]]]]]]]]]],"
      "\"choices\":[{\"delta\":{\"content\":\"a\"}}]}",
      "{\"usage\":{\"prompt_tokens_details\":{\"x\":[[[[[[[[{\"cached_tokens\":9}]]]]]]]],"
      "\"cached_tokens\":3}}}",
      // Malformed.
      "{\"choices\":[{\"delta\":{\"content\":\"a\"}}]",
      "{\"choices\":[{\"delta\":{\"content\":\"a\"}}]} trailing",
      "{\"a\":\"\xff\"}",
      "{\"a\":1,}",
  };
  return cases;
}

TEST(InspectChunkSimdjson, HandWrittenPayloadsMatchTheTree) {
  for (const auto& c : HandWritten()) ExpectSame(c);
}

TEST(InspectChunkSimdjson, ReadsWhatMatters) {
  auto c = InspectOpenAIChunk(
      R"({"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop"}],)"
      R"("usage":{"prompt_tokens":12,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":4}}})");
  EXPECT_TRUE(c.has_content);
  EXPECT_TRUE(c.has_choices);
  EXPECT_EQ(c.finish_reason, "stop");
  ASSERT_TRUE(c.usage.has_value());
  EXPECT_EQ(c.usage->input_tokens, 12);
  EXPECT_EQ(c.usage->output_tokens, 3);
  EXPECT_EQ(c.usage->cached_input_tokens, 4);
  EXPECT_FALSE(c.is_error);

  auto u =
      InspectOpenAIChunk(R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}})");
  EXPECT_FALSE(u.has_choices);
  EXPECT_FALSE(u.has_content);

  auto dup = InspectOpenAIChunk(R"({"choices":[{"delta":{"content":"a"}}],"choices":[]})");
  EXPECT_FALSE(dup.has_content);
  EXPECT_FALSE(dup.has_choices);

  auto e = InspectOpenAIChunk(R"({"error":{"message":"overloaded"}})");
  EXPECT_TRUE(e.is_error);
  EXPECT_EQ(e.error_message, "overloaded");
  auto bad = InspectOpenAIChunk(R"({"choices":[)");
  EXPECT_TRUE(bad.is_error);
  EXPECT_EQ(bad.error_message, "");
}

// The characters of generated text, what a stream without usage is estimated from: code
// points, not bytes, of content, refusal, reasoning and every tool call's arguments; the last
// of a duplicate key; nothing for names, ids or the JSON around them.
TEST(InspectChunkSimdjson, CountsTheCharactersOfGeneratedText) {
  EXPECT_EQ(InspectOpenAIChunk(R"({"choices":[{"delta":{"content":"Grüße"}}]})").text_chars, 5);
  EXPECT_EQ(InspectOpenAIChunk(
                R"({"choices":[{"delta":{"content":"ab","refusal":"c","reasoning_content":"de",)"
                R"("reasoning":"f"}},{"delta":{"content":"gh"}}]})")
                .text_chars,
            8);
  EXPECT_EQ(
      InspectOpenAIChunk(
          R"({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_1","function":)"
          R"({"name":"get_weather","arguments":"{\"a\":1}"}},{"function":{"arguments":"xy"}},)"
          R"(5]}}]})")
          .text_chars,
      9);
  EXPECT_EQ(InspectOpenAIChunk(R"({"choices":[{"delta":{"function_call":{"arguments":"abc"}}}]})")
                .text_chars,
            3);
  EXPECT_EQ(
      InspectOpenAIChunk(R"({"choices":[{"delta":{"content":"long","content":"x"}}]})").text_chars,
      1);
  EXPECT_EQ(InspectOpenAIChunk(R"({"choices":[{"delta":{"content":7}}]})").text_chars, 0);
  EXPECT_EQ(InspectOpenAIChunk("[DONE]").text_chars, 0);
}

TEST(InspectChunkSimdjson, StreamFixturePayloadsMatchTheTree) {
  auto payloads = test_util::FixtureSsePayloads();
  ASSERT_GT(payloads.size(), 50u);
  size_t by_simdjson = 0;
  for (const auto& p : payloads) by_simdjson += ExpectSame(p);
  EXPECT_EQ(by_simdjson, payloads.size());  // real events never need the fallback
}

// What simdjson refuses and nlohmann reads goes to the tree, with the same answer.
TEST(InspectChunkSimdjson, FallsBackToTheTreeForWhatSimdjsonRefuses) {
  const std::string chunk = R"({"choices":[{"delta":{"content":"a"}}]})";
  const std::string usage = R"({"usage":{"prompt_tokens":18446744073709551616}})";
  std::string big = R"({"choices":[{"delta":{"content":")" + std::string(70000, 'x') + "\"}}]}";
  for (const std::string& p : {"\xEF\xBB\xBF" + chunk, usage, big}) {
    EXPECT_FALSE(InspectOpenAIChunkSimdjson(p).has_value()) << p.substr(0, 60);
    EXPECT_FALSE(InspectOpenAIChunk(p).is_error) << p.substr(0, 60);
    ExpectSame(p);
  }
  EXPECT_TRUE(InspectOpenAIChunk("\xEF\xBB\xBF" + chunk).has_content);
  EXPECT_TRUE(InspectOpenAIChunk(big).has_content);
  // 2^64 is a float to nlohmann: truncated to int64 it is out of range, so 0 tokens.
  EXPECT_EQ(InspectOpenAIChunk(usage).usage->input_tokens, 0);
  EXPECT_TRUE(InspectOpenAIChunkSimdjson(chunk).has_value());
}

// Random objects over the keys the inspection reads: mostly shaped like real chunks (a key
// gets the kind of value it expects two times in three), otherwise any value, any key anywhere,
// and duplicate keys.
class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}
  std::string Top() { return Object(kTopKeys, 0); }
  // A chunk carrying tool-call deltas (as an OpenAI server streams a call), with random keys
  // and values mixed into each level.
  std::string ToolCallChunk() {
    std::string calls = "[";
    const int n = 1 + Pick(3);
    for (int i = 0; i < n; ++i) calls += (i ? "," : "") + (Pick(8) ? ToolCall() : Any(2));
    calls += "]";
    std::string extra = Object(kAnyKeys, 3);
    return "{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":" + calls +
           ",\"x\":" + extra + "},\"finish_reason\":" + ValueFor("finish_reason", 2) + "}]}";
  }

 private:
  using Keys = std::vector<const char*>;
  inline static const Keys kTopKeys = {"choices", "usage", "error", "id",
                                       "choices", "usage", "model"};
  inline static const Keys kChoiceKeys = {"delta", "finish_reason", "index", "delta"};
  inline static const Keys kDeltaKeys = {
      "content",    "refusal",       "reasoning", "reasoning_content",
      "tool_calls", "function_call", "role",      "content"};
  inline static const Keys kUsageKeys = {"prompt_tokens", "completion_tokens",
                                         "prompt_tokens_details", "cached_tokens"};
  inline static const Keys kErrorKeys = {"message", "type", "message"};
  inline static const Keys kToolCallKeys = {"index", "id", "function", "type", "index"};
  inline static const Keys kFunctionKeys = {"name", "arguments", "arguments"};
  inline static const Keys kAnyKeys = {"choices",
                                       "delta",
                                       "content",
                                       "refusal",
                                       "reasoning",
                                       "tool_calls",
                                       "usage",
                                       "error",
                                       "reasoning_content",
                                       "function_call",
                                       "finish_reason",
                                       "message",
                                       "index",
                                       "prompt_tokens",
                                       "completion_tokens",
                                       "cached_tokens",
                                       "prompt_tokens_details",
                                       "x",
                                       "function",
                                       "name",
                                       "arguments",
                                       "id"};

  int Pick(size_t n) { return static_cast<int>(rng_() % n); }
  // {"index", "id", "type", "function": {"name", "arguments"}}, each member there three
  // times in four, with a random extra member now and then (duplicates included).
  std::string ToolCall() {
    std::vector<std::string> members;
    auto maybe = [&](const char* key, const std::string& value) {
      if (Pick(4)) members.push_back("\"" + std::string(key) + "\":" + value);
    };
    maybe("index", ValueFor("index", 3));
    maybe("id", ValueFor("id", 3));
    maybe("type", "\"function\"");
    std::string fn = "{";
    if (Pick(4)) fn += "\"name\":" + ValueFor("name", 4);
    if (Pick(4))
      fn += std::string(fn.size() > 1 ? "," : "") + "\"arguments\":" + ValueFor("arguments", 4);
    maybe("function", Pick(8) ? fn + "}" : Any(3));
    if (!Pick(4)) {
      const std::string key = kToolCallKeys[Pick(kToolCallKeys.size())];
      members.push_back("\"" + key + "\":" + ValueFor(key, 3));
    }
    std::string s = "{";
    for (size_t i = 0; i < members.size(); ++i) s += (i ? "," : "") + members[i];
    return s + "}";
  }
  std::string Object(const Keys& keys, int depth) {
    std::string s = "{";
    const int n = Pick(5);
    for (int i = 0; i < n; ++i) {
      const std::string key = Pick(6) ? keys[Pick(keys.size())] : kAnyKeys[Pick(kAnyKeys.size())];
      s += (i ? ",\"" : "\"") + key + "\":" + ValueFor(key, depth + 1);
    }
    return s + "}";
  }
  // Elements: objects of `shape` (choice objects when `choices`) three times in four.
  std::string Array(int depth, bool choices, const Keys* shape = nullptr) {
    std::string s = "[";
    const int n = Pick(4);
    for (int i = 0; i < n; ++i) {
      const Keys* keys = choices ? &kChoiceKeys : shape;
      s += (i ? "," : "") + (keys && Pick(4) ? Object(*keys, depth + 1) : Any(depth + 1));
    }
    return s + "]";
  }
  std::string ValueFor(const std::string& key, int depth) {
    if (depth > 6 || Pick(3) == 0) return Any(depth);
    if (key == "choices") return Array(depth, /*choices=*/true);
    if (key == "delta") return Object(kDeltaKeys, depth);
    if (key == "usage" || key == "prompt_tokens_details") return Object(kUsageKeys, depth);
    if (key == "error") return Pick(2) ? Object(kErrorKeys, depth) : "\"boom\"";
    if (key == "tool_calls") return Array(depth, /*choices=*/false, &kToolCallKeys);
    if (key == "function") return Object(kFunctionKeys, depth);
    if (key == "function_call") return Object(kAnyKeys, depth);
    if (key == "content" || key == "refusal" || key == "reasoning" || key == "reasoning_content" ||
        key == "message" || key == "finish_reason" || key == "id" || key == "model" ||
        key == "name" || key == "arguments")
      return Pick(3) ? "\"stop\"" : "\"\"";
    return std::to_string(Pick(5000));
  }
  std::string Any(int depth) {
    switch (Pick(depth > 6 ? 9 : 11)) {
      case 0:
        return "null";
      case 1:
        return Pick(2) ? "true" : "false";
      case 2:
        return std::to_string(Pick(2000) - 1000);
      case 3:
        return "18446744073709551615";
      case 4:
        return Pick(2) ? "12.75" : "-1e300";
      case 5:
        return "\"\"";
      case 6:
        return "\"stop\"";
      case 7:
        return "\"caf\\u00e9 \\\"q\\\"\"";
      case 8:
        return "[]";
      case 9:
        return Object(kAnyKeys, depth);
      default:
        return Array(depth, /*choices=*/false);
    }
  }
  std::mt19937_64 rng_;
};

TEST(InspectChunkSimdjson, GeneratedObjectsMatchTheTree) {
  Generator gen(20261129);
  int with_content = 0, with_usage = 0, errors = 0, by_simdjson = 0, with_tool_args = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string p = i % 3 == 2 ? gen.ToolCallChunk() : gen.Top();
    by_simdjson += ExpectSame(p);
    auto info = InspectOpenAIChunk(p);
    with_content += info.has_content;
    with_usage += info.usage.has_value();
    const auto view = ReadOpenAIChunk(p);
    with_tool_args += !view.tool_calls.empty() && !view.tool_calls.front().arguments.empty();
    errors += info.is_error;
    if (HasFailure()) break;
  }
  // The generator reaches every branch often enough for the comparison to mean something.
  EXPECT_GT(with_content, 300);
  EXPECT_GT(with_usage, 1000);
  EXPECT_GT(with_tool_args, 500);
  EXPECT_GT(errors, 1000);
  EXPECT_EQ(by_simdjson, 20000);  // all well-formed, so none needed the fallback
}

TEST(InspectChunkSimdjson, MutatedPayloadsMatchTheTree) {
  std::vector<std::string> seeds = HandWritten();
  for (auto& p : test_util::FixtureSsePayloads()) seeds.push_back(p);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000 && !HasFailure(); ++i) {
    std::string p = test_util::Mutate(seeds[rng() % seeds.size()], rng);
    ExpectSame(p);
  }
}

// Regression: the tree reading (the fallback for what simdjson refuses, such as nesting past its
// depth limit) copied each tool call's `function` (JsonObj returned a copy), and nlohmann's copy
// recurses: an OpenAI stream chunk whose arguments were a JSON value nested 200000 levels deep
// crashed the gateway. Read in place now, by the passthrough's inspection and the translator's.
TEST(InspectChunkSimdjson, DeeplyNestedArgumentsAreReadInPlace) {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  const std::string chunk =
      R"({"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[)"
      R"({"index":0,"id":"c","type":"function","function":{"name":"time","arguments":{"a":)" +
      deep + "}}}]},\"finish_reason\":null}]}";
  EXPECT_TRUE(InspectOpenAIChunk(chunk).has_content);
  EXPECT_TRUE(InspectOpenAIChunkTree(chunk).has_content);
  const OpenAIChunkView v = ReadOpenAIChunk(chunk);
  ASSERT_EQ(v.tool_calls.size(), 1u);
  EXPECT_EQ(v.tool_calls[0].name, "time");
}

}  // namespace
}  // namespace triage::dialect
