// ParseJsonBody reads a request body through simdjson (fast_json::ParseBody) when it can promise
// the tree that nlohmann's parse (ParseJsonBodyTree) makes, and is ParseJsonBodyTree otherwise.
// Every case here is checked both ways: the same tree, type for type (a JSON integer 0 and -0
// compare equal and dump alike, but nlohmann keeps one unsigned and the other signed), or the
// same error, code and message. And that the fast path really is taken where it should be.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "dialect/fast_json.h"
#include "dialect/json_util.h"

namespace triage::dialect {
namespace {

using nlohmann::json;

// a and b alike down to each value's nlohmann type.
bool SameTree(const json& a, const json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto x = a.begin(), y = b.begin(); x != a.end(); ++x, ++y)
      if (x.key() != y.key() || !SameTree(*x, *y)) return false;
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!SameTree(a[i], b[i])) return false;
    return true;
  }
  // Floats by their bits (-0.0 against 0.0), through dump's shortest round-trip text.
  return a == b && a.dump() == b.dump();
}

// ParseJsonBody and ParseJsonBodyTree agree on body.
void ExpectAgree(std::string_view body, int max_depth = 64) {
  auto fast = ParseJsonBody(body, max_depth);
  auto tree = ParseJsonBodyTree(body, max_depth);
  ASSERT_EQ(fast.ok(), tree.ok()) << body;
  if (!fast.ok()) {
    EXPECT_EQ(fast.error().code, tree.error().code) << body;
    EXPECT_EQ(fast.error().message, tree.error().message) << body;
    return;
  }
  EXPECT_TRUE(SameTree(*fast, *tree))
      << body << "\nfast: " << fast->dump() << "\ntree: " << tree->dump();
}

TEST(ParseJsonBody, AgreesWithNlohmannOnHandCases) {
  const char* cases[] = {
      R"({"model":"auto","messages":[{"role":"user","content":"hi"}],"temperature":0.2})",
      R"({"a":0,"b":-0,"c":-0.0,"d":0.0,"e":1e-400,"f":-1e-400,"g":1E400})",
      R"({"a":-0})",
      R"([-0])",
      "-0",
      "0",
      R"({"when":"2024-05-01","n":0})",  // "-0" inside a date with an integer 0: still fast
      R"({"t":"UTC-0","n":0})",          // "-0" text that looks like the integer: slow path
      R"({"u":18446744073709551615,"v":18446744073709551616,"w":9223372036854775807})",
      R"({"x":-9223372036854775808,"y":-9223372036854775809,"z":123456789012345678901234567890})",
      R"({"a":1,"a":2,"b":{"c":1},"b":[1,2]})",
      R"({"s":"\ud83d\ude00 \u00e9 \u0000 \/ \" \\ \b\f\n\r\t"})",
      R"({"s":"\ud800"})",
      R"({"s":"\udc00"})",
      R"({"s":"\ud800\u0041"})",
      "{\"s\":\"\xed\xa0\x80\"}",  // a surrogate encoded in UTF-8
      "{\"s\":\"\xc3\x28\"}",      // invalid UTF-8
      "{\"s\":\"\xf4\x90\x80\x80\"}",
      "{\"s\":\"\x01\"}",  // an unescaped control character
      "\xef\xbb\xbf{\"bom\":true}",
      "{}\x00",
      "{\"a\":1}\x00garbage",
      "{\"a\":\"x\x00y\"}",
      R"({"a":[1,]})",
      R"({"a":1,})",
      R"({"a" 1})",
      R"({'a':1})",
      R"({"a":tru})",
      R"({"a":nul})",
      R"({"a":01})",
      R"({"a":1.})",
      R"({"a":.5})",
      R"({"a":+1})",
      R"({"a":NaN})",
      R"({"a":1e})",
      R"({} {})",
      "",
      "   \t\r\n",
      "{",
      R"({"a":[[[[[]]]]],"b":{"c":{"d":{}}}})",
      R"([true,false,null,1,-1,1.5,"x",[],{}])",
      " { \"a\" : [ 1 , 2 ] } ",
      "\v{}",
  };
  for (const char* c : cases) ExpectAgree(c);
  ExpectAgree(std::string_view("{}\0", 3));
  ExpectAgree(std::string_view("{\"a\":\"x\0y\"}", 11));
}

TEST(ParseJsonBody, DepthLimitGivesTheSameErrorEitherWay) {
  // 3 levels: accepted at a limit of 3, refused at 2, by both paths.
  ExpectAgree(R"({"a":[{"b":1}]})", 3);
  ExpectAgree(R"({"a":[{"b":1}]})", 2);
  auto refused = ParseJsonBody(R"({"a":[{"b":1}]})", 2);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "json_too_deep");
  EXPECT_FALSE(fast_json::ParseBody(R"({"a":[{"b":1}]})", 2).has_value());
  EXPECT_TRUE(fast_json::ParseBody(R"({"a":[{"b":1}]})", 3).has_value());
  // Deeper than simdjson goes (1024): nlohmann's path, within a limit of 2000 and beyond 1500.
  const std::string deep = std::string(1500, '[') + std::string(1500, ']');
  EXPECT_FALSE(fast_json::ParseBody(deep, 2000).has_value());
  ExpectAgree(deep, 2000);
  ExpectAgree(deep, 1499);
}

TEST(ParseJsonBody, TakesTheFastPathWhereItCan) {
  const std::string chat =
      R"({"model":"auto","messages":[{"role":"system","content":"Be brief."},)"
      R"({"role":"user","content":"What is 2+2? Today is 2024-05-01."}],"max_tokens":0,)"
      R"("temperature":0,"stream":false,"tools":[]})";
  auto fast = fast_json::ParseBody(chat, 64);
  ASSERT_TRUE(fast.has_value());
  EXPECT_TRUE(SameTree(*fast, json::parse(chat)));
  EXPECT_TRUE((*fast)["max_tokens"].is_number_unsigned());
  // Where it cannot promise nlohmann's tree, it says so rather than guess.
  EXPECT_FALSE(fast_json::ParseBody(R"({"n":-0})", 64).has_value());
  EXPECT_FALSE(fast_json::ParseBody(R"({"n":0,"s":"-0"})", 64).has_value());
  EXPECT_TRUE(fast_json::ParseBody(R"({"n":1,"s":"-0"})", 64).has_value());  // no integer 0
  EXPECT_FALSE(fast_json::ParseBody("\xef\xbb\xbf{}", 64).has_value());
  EXPECT_FALSE(fast_json::ParseBody(R"({"n":18446744073709551616})", 64).has_value());
  // Over the thread's 64 KB parser: a parser of its own, up to 64 MiB; beyond, nlohmann's.
  const std::string big = R"({"s":")" + std::string(fast_json::kMaxBytes, 'x') + R"("})";
  EXPECT_TRUE(fast_json::ParseBody(big, 64).has_value());
  ExpectAgree(big);
  // A photo of several MB, base64 in an image part: read by its own parser (up to 4 MiB until
  // 2026-12-07, so this one went to nlohmann's parse).
  std::string photo = R"({"model":"auto","max_tokens":9,"messages":[{"role":"user","content":[)"
                      R"({"type":"text","text":"What is in this picture? \u00e9"},)"
                      R"({"type":"image_url","image_url":{"url":"data:image/jpeg;base64,)";
  for (size_t i = 0; photo.size() < 6 * 1024 * 1024; ++i) photo += "QUJD+/9z"[i % 8];
  photo += R"("}}]}],"temperature":0.5,"n":1,"x":-1})";
  auto read = fast_json::ParseBody(photo, 64);
  ASSERT_TRUE(read.has_value());
  EXPECT_TRUE(SameTree(*read, json::parse(photo)));
  const std::string huge = R"({"s":")" + std::string(fast_json::kMaxBodyBytes, 'x') + R"("})";
  EXPECT_FALSE(fast_json::ParseBody(huge, 64).has_value());
  ExpectAgree(huge);
  EXPECT_FALSE(fast_json::ParseBody(R"({"a":")" + std::string(fast_json::kMaxBytes, 'x') + "\",}",
                                    64)
                   .has_value());  // malformed, large
}

// Random documents (every value type, nesting, escapes, numbers at the edges of each type),
// written compactly or with whitespace, and then with one byte changed: both paths agree on
// every one.
class RandomJson {
 public:
  explicit RandomJson(uint32_t seed) : rng_(seed) {}
  std::string Value(int depth) {
    switch (Pick(depth < 5 ? 9 : 7)) {
      case 0:
        return "null";
      case 1:
        return Pick(2) ? "true" : "false";
      case 2:
        return Integer();
      case 3:
        return Float();
      case 4:
      case 5:
      case 6:
        return String();
      case 7: {
        std::string s = "[" + Space();
        for (int i = 0, n = Pick(4); i < n; ++i) s += (i ? "," : "") + Value(depth + 1) + Space();
        return s + "]";
      }
      default: {
        std::string s = "{" + Space();
        for (int i = 0, n = Pick(5); i < n; ++i)
          s += (i ? "," : "") + Space() + Key() + Space() + ":" + Space() + Value(depth + 1);
        return s + Space() + "}";
      }
    }
  }
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

 private:
  std::string Space() {
    static const char* kSpaces[] = {"", "", "", " ", "\n", "\t", "\r\n  "};
    return kSpaces[Pick(7)];
  }
  std::string Key() {
    static const char* kKeys[] = {"\"a\"", "\"b\"", "\"model\"", "\"\"", "\"a\""};
    return Pick(3) ? kKeys[Pick(5)] : String();
  }
  std::string Integer() {
    static const char* kEdges[] = {"0",
                                   "-0",
                                   "1",
                                   "-1",
                                   "9223372036854775807",
                                   "9223372036854775808",
                                   "-9223372036854775808",
                                   "-9223372036854775809",
                                   "18446744073709551615",
                                   "18446744073709551616",
                                   "100000000000000000000000"};
    if (Pick(3) == 0) return kEdges[Pick(11)];
    return std::to_string(std::uniform_int_distribution<int64_t>(-1000000, 1000000)(rng_));
  }
  std::string Float() {
    static const char* kEdges[] = {
        "0.0",      "-0.0",   "1e-400", "-1e-400", "1e308",     "1.7976931348623157e308",
        "4.9e-324", "2.5E+3", "1e-7",   "0.1",     "123.456e-2"};
    if (Pick(2) == 0) return kEdges[Pick(11)];
    return json(std::uniform_real_distribution<double>(-1e6, 1e6)(rng_)).dump();
  }
  std::string String() {
    static const char* kParts[] = {"a",
                                   "hello",
                                   " ",
                                   "\\n",
                                   "\\\"",
                                   "\\\\",
                                   "\\/",
                                   "\\u00e9",
                                   "\\u0000",
                                   "\\ud83d\\ude00",
                                   "\xc3\xa9",
                                   "\xe2\x82\xac",
                                   "\xf0\x9f\x98\x80",
                                   "-0",
                                   "2024-05-01"};
    std::string s = "\"";
    for (int i = 0, n = Pick(5); i < n; ++i) s += kParts[Pick(15)];
    return s + "\"";
  }
  std::mt19937 rng_;
};

TEST(ParseJsonBody, AgreesWithNlohmannOnRandomDocuments) {
  RandomJson gen(20261207);
  int fast = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string doc = gen.Value(0);
    ExpectAgree(doc);
    if (fast_json::ParseBody(doc, 64)) ++fast;
    // One byte changed, dropped or doubled: mostly malformed, sometimes still valid.
    if (!doc.empty()) {
      std::string bent = doc;
      const size_t at = static_cast<size_t>(gen.Pick(static_cast<int>(doc.size())));
      switch (gen.Pick(3)) {
        case 0:
          bent[at] = "{}[],:\"\\-0e.\x80 "[gen.Pick(16)];
          break;
        case 1:
          bent.erase(at, 1);
          break;
        default:
          bent.insert(at, 1, bent[at]);
      }
      ExpectAgree(bent);
    }
    if (HasFailure()) return;
  }
  // Most documents go the fast way; the rest hold a big integer or a possible -0.
  EXPECT_GT(fast, 2000);
}

// The same over 64 KB, where each body gets a parser of its own: random documents gathered
// into arrays of 64-200 KB.
TEST(ParseJsonBody, AgreesWithNlohmannOnLargeDocuments) {
  RandomJson gen(7);
  int fast = 0;
  for (int i = 0; i < 20; ++i) {
    std::string doc = "[";
    const size_t size = fast_json::kMaxBytes + static_cast<size_t>(gen.Pick(140'000));
    while (doc.size() < size) {
      // Only values the fast path takes (no big integer) without the text -0, so that the
      // whole document must go the fast way too.
      std::string value = gen.Value(1);
      if (value.find("-0") == std::string::npos && fast_json::ParseBody(value, 64))
        doc += (doc.size() > 1 ? "," : "") + value;
    }
    doc += "]";
    ExpectAgree(doc);
    if (fast_json::ParseBody(doc, 64)) ++fast;
    doc[static_cast<size_t>(gen.Pick(static_cast<int>(doc.size())))] = '}';
    ExpectAgree(doc);
  }
  EXPECT_EQ(fast, 20);
}

}  // namespace
}  // namespace triage::dialect
