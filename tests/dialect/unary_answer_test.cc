// The cross-dialect non-streaming answer path without trees, against what it replaced:
// WriteOpenAIResponse / WriteAnthropicResponse against RenderOpenAIResponse /
// RenderAnthropicResponse (parsing the written body gives exactly the rendered tree), and
// ReadAnswer (simdjson) against ReadAnswerTree (nlohmann + ParseOpenAIResponse /
// ParseAnthropicResponse), on the response fixtures, on generated answers and on byte
// mutations of the fixtures.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "dialect/answer.h"
#include "dialect/translate.h"
#include "differential.h"

namespace triage::dialect {
namespace {

using json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Fixtures: every upstream answer of tests/fixtures/dialect/responses*.

struct FixtureAnswer {
  Dialect wire;
  std::string body;
};

std::vector<FixtureAnswer> FixtureAnswers() {
  std::vector<FixtureAnswer> out;
  auto add = [&](const json& entry) {
    if (!entry.is_object() || !entry.contains("input") || !entry.contains("from")) return;
    out.push_back({entry["from"] == "anthropic" ? Dialect::kAnthropic : Dialect::kOpenAI,
                   entry["input"].dump()});
  };
  for (const auto& path : test_util::FixtureFiles("responses")) {
    std::ifstream in(path);
    add(json::parse(in));
  }
  std::ifstream all(std::string(TRIAGE_SOURCE_DIR) + "/tests/fixtures/dialect/responses.json");
  for (const auto& entry : json::parse(all)) add(entry);
  return out;
}

TEST(UnaryAnswerFixtures, AreFound) { EXPECT_GE(FixtureAnswers().size(), 14u); }

// ---------------------------------------------------------------------------------------------
// Writers.

bool AllValidUtf8(const CanonicalResponse& r) {
  auto ok = [](const std::string& s) { return simdjson::validate_utf8(s.data(), s.size()); };
  bool all = ok(r.id) && ok(r.model) && ok(r.stop_sequence);
  for (const auto& b : r.content) all = all && ok(b.text) && ok(b.id) && ok(b.name);
  return all;
}

bool DumpThrows(const json& j) {
  try {
    (void)j.dump();
    return false;
  } catch (const json::type_error&) {
    return true;
  }
}

// Parsing the written bodies gives the rendered trees; with invalid UTF-8 in what they show,
// where dump() throws, the trees dumped with U+FFFD in its place. Returns whether it did.
bool ExpectWritersMatch(const CanonicalResponse& r) {
  const std::string oa = WriteOpenAIResponse(r, 1700000000);
  const std::string an = WriteAnthropicResponse(r);
  const json oa_parsed = json::parse(oa, nullptr, false);
  const json an_parsed = json::parse(an, nullptr, false);
  EXPECT_FALSE(oa_parsed.is_discarded()) << oa;
  EXPECT_FALSE(an_parsed.is_discarded()) << an;
  const json oa_tree = RenderOpenAIResponse(r, 1700000000);
  const json an_tree = RenderAnthropicResponse(r);
  const auto replaced = [](const json& j) {
    return json::parse(j.dump(-1, ' ', false, json::error_handler_t::replace));
  };
  bool invalid = false;
  for (const auto& [parsed, tree, body] :
       {std::tie(oa_parsed, oa_tree, oa), std::tie(an_parsed, an_tree, an)}) {
    if (DumpThrows(tree)) {
      invalid = true;
      EXPECT_FALSE(AllValidUtf8(r));
      EXPECT_EQ(parsed, replaced(tree)) << body;
    } else {
      EXPECT_EQ(parsed, tree) << body << "\n" << tree.dump();
    }
  }
  return invalid;
}

TEST(WriteResponse, FixtureAnswersMatchTheRenderedTrees) {
  int n = 0;
  for (const auto& f : FixtureAnswers()) {
    const json j = json::parse(f.body);
    auto r = f.wire == Dialect::kOpenAI ? ParseOpenAIResponse(j) : ParseAnthropicResponse(j);
    if (!r) continue;
    ExpectWritersMatch(*r);
    ++n;
  }
  EXPECT_GE(n, 14);
}

TEST(WriteResponse, MembersComeInTheProvidersOrder) {
  CanonicalResponse r;
  r.id = "1";
  r.model = "m";
  r.content.push_back(ContentBlock{});
  r.content[0].text = "Hi \"there\"\n";
  EXPECT_EQ(WriteAnthropicResponse(r),
            R"({"id":"msg_1","type":"message","role":"assistant","model":"m","content":)"
            R"([{"type":"text","text":"Hi \"there\"\n"}],"stop_reason":"end_turn",)"
            R"("stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0,)"
            R"("cache_read_input_tokens":0,"cache_creation_input_tokens":0}})");
  EXPECT_EQ(WriteOpenAIResponse(r, 5),
            R"({"id":"chatcmpl-1","object":"chat.completion","created":5,"model":"m",)"
            R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hi \"there\"\n",)"
            R"("refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":)"
            R"({"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,)"
            R"("prompt_tokens_details":{"cached_tokens":0}}})");
}

TEST(WriteResponse, InvalidUtf8BecomesReplacementCharacters) {
  CanonicalResponse r;
  r.id = "a\xff";
  r.content.push_back(ContentBlock{});
  r.content[0].text = "x\xc3(";
  EXPECT_NE(WriteAnthropicResponse(r).find("\"text\":\"x\xEF\xBF\xBD(\""), std::string::npos)
      << WriteAnthropicResponse(r);
  EXPECT_TRUE(ExpectWritersMatch(r));
}

// Random strings: ASCII with quotes, backslashes and control bytes, multi-byte UTF-8 and,
// when `invalid`, stray bytes that are not UTF-8.
std::string RandomText(std::mt19937_64& rng, bool invalid) {
  static const std::vector<std::string> kPieces = {
      "a",    "Z",         " ",    "\"",     "\\", "/",
      "\n",   "\r",        "\t",   "\b",     "\f", std::string(1, '\0'),
      "\x01", "\x1f",      "\x7f", "é",      "€",  "😀",
      "日本", "chatcmpl-", "msg_", "toolu_", "{}", "\\u0041"};
  static const std::vector<std::string> kInvalid = {"\xff",         "\xc3", "\xe2\x82",
                                                    "\xed\xa0\x80", "\x80", "\xf8\x88\x80\x80\x80"};
  std::string s;
  const int n = static_cast<int>(rng() % 12);
  for (int i = 0; i < n; ++i) {
    if (invalid && rng() % 6 == 0) {
      s += kInvalid[rng() % kInvalid.size()];
    } else {
      s += kPieces[rng() % kPieces.size()];
    }
  }
  return s;
}

json RandomValue(std::mt19937_64& rng, int depth) {
  switch (rng() % (depth > 2 ? 6 : 8)) {
    case 0:
      return nullptr;
    case 1:
      return rng() % 2 == 0;
    case 2:
      return static_cast<int64_t>(rng() % 2000) - 1000;
    case 3:
      return static_cast<uint64_t>(rng());
    case 4:
      return static_cast<double>(static_cast<int64_t>(rng() % 100000) - 50000) / 7.0;
    case 5:
      return RandomText(rng, false);
    case 6: {
      json a = json::array();
      for (int i = static_cast<int>(rng() % 4); i > 0; --i)
        a.push_back(RandomValue(rng, depth + 1));
      return a;
    }
    default: {
      json o = json::object();
      for (int i = static_cast<int>(rng() % 4); i > 0; --i)
        o[RandomText(rng, false)] = RandomValue(rng, depth + 1);
      return o;
    }
  }
}

CanonicalResponse RandomResponse(std::mt19937_64& rng) {
  const bool invalid = rng() % 4 == 0;
  CanonicalResponse r;
  r.id = rng() % 5 == 0   ? "chatcmpl-" + RandomText(rng, invalid)
         : rng() % 5 == 0 ? "msg_" + RandomText(rng, invalid)
                          : RandomText(rng, invalid);
  r.model = RandomText(rng, invalid);
  for (int i = static_cast<int>(rng() % 5); i > 0; --i) {
    ContentBlock b;
    switch (rng() % 4) {
      case 0:
      case 1:
        b.text = RandomText(rng, invalid);
        break;
      case 2:
        b.type = BlockType::kToolUse;
        b.id = rng() % 3 == 0 ? "toolu_" + RandomText(rng, invalid) : RandomText(rng, invalid);
        b.name = RandomText(rng, invalid);
        b.input = rng() % 8 == 0 ? RandomValue(rng, 0) : json::object();
        for (int k = static_cast<int>(rng() % 4); k > 0; --k)
          if (b.input.is_object()) b.input[RandomText(rng, false)] = RandomValue(rng, 1);
        break;
      default:
        b.type = BlockType::kThinking;
        b.text = RandomText(rng, invalid);
        break;
    }
    r.content.push_back(std::move(b));
  }
  if (rng() % 8 != 0) r.stop_reason = static_cast<StopReason>(rng() % 5);
  if (rng() % 2 == 0) r.stop_sequence = RandomText(rng, invalid);
  r.usage.input_tokens = static_cast<int64_t>(rng() % 100000);
  r.usage.output_tokens = static_cast<int64_t>(rng() % 100000);
  if (rng() % 2 == 0) {
    r.usage.cached_input_tokens = static_cast<int64_t>(rng() % 50000);
    r.usage.cache_creation_input_tokens = static_cast<int64_t>(rng() % 50000);
  }
  return r;
}

TEST(WriteResponse, GeneratedResponsesMatchTheRenderedTrees) {
  std::mt19937_64 rng(20261203);
  int invalid = 0, tools = 0;
  for (int i = 0; i < 20000; ++i) {
    const CanonicalResponse r = RandomResponse(rng);
    invalid += ExpectWritersMatch(r);
    for (const auto& b : r.content) tools += b.type == BlockType::kToolUse;
    if (HasFailure()) FAIL() << "response " << i;
  }
  EXPECT_GE(invalid, 1000);
  EXPECT_GE(tools, 5000);
}

// ---------------------------------------------------------------------------------------------
// Readers.

// Every field of a reading, number types of tool inputs included.
void DescribeJson(std::ostringstream& o, const json& j) {
  o << static_cast<int>(j.type()) << ":";
  if (j.is_object()) {
    o << "{";
    for (const auto& [k, v] : j.items()) {
      o << k.size() << ":" << k << "=";
      DescribeJson(o, v);
    }
    o << "}";
  } else if (j.is_array()) {
    o << "[";
    for (const auto& v : j) DescribeJson(o, v);
    o << "]";
  } else {
    o << j.dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

std::string Describe(const AnswerReading& a) {
  std::ostringstream o;
  o << "object=" << a.info.is_object << " answer=" << a.info.has_answer;
  if (a.info.usage)
    o << " usage=" << a.info.usage->input_tokens << "/" << a.info.usage->output_tokens << "/"
      << a.info.usage->cached_input_tokens << "/" << a.info.usage->cache_creation_input_tokens;
  if (!a.response) return o.str() + " no-response";
  const auto& r = *a.response;
  if (!r) {
    o << " error=" << static_cast<int>(r.error().kind) << "/" << r.error().code << "/"
      << r.error().message << "/" << r.error().upstream_status;
    return o.str();
  }
  o << "\n id=" << r->id.size() << ":" << r->id << " model=" << r->model.size() << ":" << r->model
    << " stop=" << (r->stop_reason ? static_cast<int>(*r->stop_reason) : -1)
    << " seq=" << r->stop_sequence.size() << ":" << r->stop_sequence
    << " usage=" << r->usage.input_tokens << "/" << r->usage.output_tokens << "/"
    << r->usage.cached_input_tokens << "/" << r->usage.cache_creation_input_tokens;
  for (const auto& b : r->content) {
    o << "\n block type=" << static_cast<int>(b.type) << " text=" << b.text.size() << ":" << b.text
      << " id=" << b.id.size() << ":" << b.id << " name=" << b.name.size() << ":" << b.name
      << " input=";
    DescribeJson(o, b.input);
    o << " dump=" << b.input.dump(-1, ' ', false, json::error_handler_t::replace);
    o << " rest=" << b.media_type << b.data << b.url << b.tool_use_id << b.content.size()
      << b.is_error;
  }
  return o.str();
}

// Returns whether simdjson read the body itself.
bool ExpectSameReading(Dialect wire, const std::string& body) {
  const std::string tree = Describe(ReadAnswerTree(wire, body));
  EXPECT_EQ(Describe(ReadAnswer(wire, body)), tree) << DialectName(wire) << " " << body;
  auto fast = ReadAnswerSimdjson(wire, body);
  if (fast) {
    EXPECT_EQ(Describe(*fast), tree) << DialectName(wire) << " " << body;
  }
  return fast.has_value();
}

TEST(ReadAnswer, FixturesMatchTheTree) {
  int fast = 0, n = 0;
  for (const auto& f : FixtureAnswers())
    for (Dialect wire : {Dialect::kOpenAI, Dialect::kAnthropic}) {
      fast += ExpectSameReading(wire, f.body);
      ++n;
    }
  EXPECT_EQ(fast, n);  // simdjson reads every fixture itself
}

TEST(ReadAnswer, HandWrittenBodiesMatchTheTree) {
  const std::vector<std::string> bodies = {
      R"({"choices":[{"message":{"content":"a"},"finish_reason":"length"}],"choices":[{"message":{"content":"b"}}]})",
      R"({"choices":[{"message":{"content":[{"type":"text","text":"x"},{"type":"image"},7,{"type":"text","text":3}]}}]})",
      R"({"choices":[{"message":{"content":"","refusal":"no"},"finish_reason":"stop"}]})",
      R"({"choices":[{"message":{"content":null,"tool_calls":[{"id":"c","function":{"name":"f","arguments":"{\"a\":-0}"}},{"function":[]},5,{"id":1,"function":{"arguments":"[1]"}}]}}]})",
      R"({"choices":[{"message":{"tool_calls":[{"function":{"arguments":"{\"a\":1,\"a\":2}"}}]}}]})",
      R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}})",
      R"({"choices":[1]})",
      R"({"choices":{}})",
      R"({"choices":[{"message":"hi"}]})",
      R"({"choices":[{"message":{}}],"usage":{"prompt_tokens":-0,"completion_tokens":1e3,"prompt_tokens_details":{"cached_tokens":2.9}}})",
      R"({"content":"x"})",
      R"({"content":[{"type":"text","text":"a"},{"type":"tool_use","id":"t","name":"n","input":{"b":[1,-2,3.5,-0.0,1e2,18446744073709551615,true,null,"\u00e9"],"a":{"x":1,"x":{}}}},{"type":"thinking","thinking":"hm"},{"type":"redacted_thinking","data":"x"},{"type":"tool_use","input":[]}],"stop_reason":"stop_sequence","stop_sequence":"END","usage":{"input_tokens":3,"cache_read_input_tokens":4}})",
      R"({"content":[{"type":"tool_use","input":{"a":-0}}]})",
      R"({"content":[{"type":"tool_use","input":{"a":0,"b":-1}}],"usage":null})",
      R"({"content":[],"stop_reason":7,"stop_sequence":null,"id":5,"model":["m"]})",
      R"({"content":[{"type":"text","text":"\ud83d\ude00 \u0000"}]})",
      R"({"content":[{"type":"text","text":"\udc00"}]})",
      R"({"content":[{"type":"text","text":"\ud800x"}]})",
      R"({"choices":[{"message":{"content":"\udc00"}}]})",
      R"({"content":[{"type":"tool_use","input":{"a":1e400}}]})",
      R"({"content":[{"type":"tool_use","input":{"a":-9223372036854775809}}]})",
      R"({"content":[{"type":"tool_use","input":{"a":1.7976931348623157e308,"b":5e-324,"c":0.1}}]})",
      "\xEF\xBB\xBF{\"content\":[]}",
      R"([])",
      "",
  };
  for (Dialect wire : {Dialect::kOpenAI, Dialect::kAnthropic})
    for (const auto& b : bodies) ExpectSameReading(wire, b);
}

// simdjson reads "-0" as the integer 0; nlohmann keeps it signed, 0 unsigned. Only text that can
// be the integer -0 ("-0" not followed by a digit, '.', 'e' or 'E') sends an integer 0 there.
TEST(ReadAnswer, AZeroInAToolInputOfABodyWithMinusZeroGoesToTheTree) {
  EXPECT_FALSE(ReadAnswerSimdjson(Dialect::kAnthropic,
                                  R"({"content":[{"type":"tool_use","input":{"a":-0}}]})"));
  EXPECT_FALSE(ReadAnswerSimdjson(Dialect::kAnthropic,
                                  R"({"content":[{"type":"tool_use","input":{"a":0}}],"x":-0})"));
  EXPECT_FALSE(ReadAnswerSimdjson(
      Dialect::kAnthropic, R"({"content":[{"type":"tool_use","input":{"a":0,"s":"UTC-0"}}]})"));
  EXPECT_TRUE(ReadAnswerSimdjson(Dialect::kAnthropic,
                                 R"({"content":[{"type":"tool_use","input":{"a":0,"b":-0.0}}]})"));
  EXPECT_TRUE(
      ExpectSameReading(Dialect::kAnthropic,
                        R"({"content":[{"type":"tool_use","input":{"a":0,"b":-0.0,"c":-0e1}}]})"));
  EXPECT_TRUE(ReadAnswerSimdjson(Dialect::kAnthropic,
                                 R"({"content":[{"type":"tool_use","input":{"a":0,"b":-1}}]})"));
  EXPECT_TRUE(ReadAnswerSimdjson(Dialect::kAnthropic,
                                 R"({"content":[{"type":"tool_use","input":{"b":-0.0}}]})"));
}

// A generated upstream answer of `wire`, valid or not quite: duplicate keys, members of the
// wrong type, missing members, usage in every shape, tool inputs with every kind of number.
std::string RandomAnswer(Dialect wire, std::mt19937_64& rng) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  auto str = [&] { return json(RandomText(rng, false)).dump(); };
  auto odd = [&]() -> std::string {
    static const std::vector<std::string> kOdd = {
        "null", "1", "-0", "\"\"", "[]", "{}", "true", "2.5", "-3", "18446744073709551615"};
    return kOdd[rng() % kOdd.size()];
  };
  auto value = [&](bool usual, const std::string& v) { return usual ? v : odd(); };
  auto number = [&]() -> std::string {
    static const std::vector<std::string> kNum = {"0",
                                                  "7",
                                                  "12345",
                                                  "-4",
                                                  "1.9",
                                                  "1e3",
                                                  "-0",
                                                  "null",
                                                  "\"5\"",
                                                  "9e18",
                                                  "9223372036854775807"};
    return kNum[rng() % kNum.size()];
  };
  auto input = [&]() -> std::string {
    std::string s = "{";
    for (int i = pick(4); i > 0; --i) {
      s += str() + ":";
      switch (pick(6)) {
        case 0:
          s += number();
          break;
        case 1:
          s += "[" + number() + "," + str() + ",{}]";
          break;
        case 2:
          s += "{\"k\":" + number() + ",\"k\":" + str() + "}";
          break;
        default:
          s += str();
      }
      if (i > 1) s += ",";
    }
    return s + "}";
  };
  std::vector<std::string> members;
  auto add = [&](const std::string& k, const std::string& v) {
    members.push_back("\"" + k + "\":" + v);
  };
  if (pick(8)) add("id", value(pick(8), str()));
  if (pick(8)) add("model", value(pick(8), str()));
  std::string usage;
  if (wire == Dialect::kOpenAI) {
    std::vector<std::string> u;
    if (pick(6)) u.push_back("\"prompt_tokens\":" + number());
    if (pick(6)) u.push_back("\"completion_tokens\":" + number());
    if (pick(2)) u.push_back("\"total_tokens\":" + number());
    if (pick(2))
      u.push_back("\"prompt_tokens_details\":" +
                  (pick(4) ? "{\"cached_tokens\":" + number() + "}" : odd()));
    std::shuffle(u.begin(), u.end(), rng);
    usage = "{";
    for (size_t i = 0; i < u.size(); ++i) usage += (i ? "," : "") + u[i];
    usage += "}";
    std::string message = "{\"role\":\"assistant\"";
    switch (pick(5)) {
      case 0:
        break;
      case 1:
        message += ",\"content\":" + odd();
        break;
      case 2:
        message += ",\"content\":[{\"type\":\"text\",\"text\":" + str() +
                   "},{\"type\":" + value(pick(2), "\"text\"") +
                   ",\"text\":" + value(pick(3), str()) + "}," + odd() + "]";
        break;
      default:
        message += ",\"content\":" + str();
    }
    if (pick(3) == 0) {
      message += ",\"tool_calls\":[";
      for (int i = pick(3) + 1; i > 0; --i) {
        message +=
            "{\"id\":" + value(pick(6), str()) + ",\"type\":\"function\",\"function\":" +
            (pick(8)
                 ? "{\"name\":" + value(pick(6), str()) + ",\"arguments\":" +
                       value(pick(6), json(pick(4) ? input() : RandomText(rng, false)).dump()) + "}"
                 : odd()) +
            "}";
        if (i > 1) message += ",";
      }
      message += "]";
    }
    if (pick(4) == 0) message += ",\"refusal\":" + value(pick(2), str());
    message += "}";
    static const std::vector<std::string> kFinish = {
        "\"stop\"",  "\"length\"", "\"tool_calls\"", "\"content_filter\"", "\"function_call\"",
        "\"other\"", "null"};
    std::string choice = "{\"index\":0,\"message\":" + value(pick(10), message) +
                         ",\"finish_reason\":" + kFinish[rng() % kFinish.size()] + "}";
    std::string choices = pick(10) ? "[" + choice + (pick(4) ? "" : "," + choice) + "]" : odd();
    if (pick(10)) add("choices", choices);
    if (pick(20) == 0) add("choices", odd());
  } else {
    std::vector<std::string> u;
    for (const char* k : {"input_tokens", "output_tokens", "cache_read_input_tokens",
                          "cache_creation_input_tokens"})
      if (pick(3)) u.push_back(std::string("\"") + k + "\":" + number());
    std::shuffle(u.begin(), u.end(), rng);
    usage = "{";
    for (size_t i = 0; i < u.size(); ++i) usage += (i ? "," : "") + u[i];
    usage += "}";
    std::string content = "[";
    for (int i = pick(5); i > 0; --i) {
      switch (pick(6)) {
        case 0:
        case 1:
          content += "{\"type\":\"text\",\"text\":" + value(pick(8), str()) + "}";
          break;
        case 2:
          content += "{\"type\":\"tool_use\",\"id\":" + value(pick(6), str()) +
                     ",\"name\":" + value(pick(6), str()) +
                     ",\"input\":" + (pick(6) ? input() : odd()) + "}";
          break;
        case 3:
          content += "{\"type\":\"thinking\",\"thinking\":" + value(pick(6), str()) +
                     ",\"signature\":\"s\"}";
          break;
        case 4:
          content += "{\"type\":\"redacted_thinking\",\"data\":\"x\"}";
          break;
        default:
          content += odd();
      }
      if (i > 1) content += ",";
    }
    content += "]";
    if (pick(10)) add("content", content);
    if (pick(20) == 0) add("content", odd());
    static const std::vector<std::string> kStop = {
        "\"end_turn\"", "\"max_tokens\"", "\"stop_sequence\"",
        "\"tool_use\"", "\"refusal\"",    "\"pause_turn\"",
        "null",         "\"x\""};
    add("stop_reason", kStop[rng() % kStop.size()]);
    add("stop_sequence", pick(2) ? str() : "null");
    add("type", "\"message\"");
  }
  if (pick(8)) add("usage", value(pick(8), usage));
  if (pick(10) == 0) add("usage", odd());
  if (pick(10) == 0) add("id", str());
  std::shuffle(members.begin(), members.end(), rng);
  std::string body = "{";
  for (size_t i = 0; i < members.size(); ++i) body += (i ? "," : "") + members[i];
  return body + "}";
}

TEST(ReadAnswer, GeneratedAnswersMatchTheTree) {
  std::mt19937_64 rng(7);
  int fast = 0, n = 0;
  for (int i = 0; i < 12000; ++i)
    for (Dialect wire : {Dialect::kOpenAI, Dialect::kAnthropic}) {
      const std::string body = RandomAnswer(wire, rng);
      fast += ExpectSameReading(wire, body);
      ++n;
      if (HasFailure()) FAIL() << "answer " << n;
    }
  EXPECT_GE(n, 20000);
  EXPECT_GE(fast, n * 9 / 10);  // -0 in tool inputs goes to the tree
}

TEST(ReadAnswer, MutatedFixturesMatchTheTree) {
  const auto fixtures = FixtureAnswers();
  std::mt19937_64 rng(11);
  int n = 0;
  for (int i = 0; i < 24000; ++i) {
    const auto& f = fixtures[rng() % fixtures.size()];
    const std::string body = test_util::Mutate(f.body, rng);
    for (Dialect wire : {Dialect::kOpenAI, Dialect::kAnthropic}) ExpectSameReading(wire, body);
    ++n;
    if (HasFailure()) FAIL() << "mutation " << n;
  }
}

// What the readers give never holds invalid UTF-8, so the writers' U+FFFD never shows on the
// answer path; the rendered bodies parse back to the trees.
TEST(UnaryAnswer, ReadThenWrittenMatchesReadThenRendered) {
  for (const auto& f : FixtureAnswers()) {
    auto read = ReadAnswer(f.wire, f.body);
    ASSERT_TRUE(read.response.has_value());
    if (!*read.response) continue;
    EXPECT_TRUE(AllValidUtf8(**read.response));
    EXPECT_FALSE(ExpectWritersMatch(**read.response));
  }
}

}  // namespace
}  // namespace triage::dialect
