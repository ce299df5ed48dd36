// AppendJsonString against nlohmann's dump(), which wrote every translated frame before: hand
// cases for each escape, then random byte strings, valid UTF-8 (dump's strict output) and
// invalid (dump with error_handler_t::replace). And JsonInteger's reading.
#include "dialect/json_util.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

namespace triage::dialect {
namespace {

using nlohmann::json;

std::string Appended(std::string_view s) {
  std::string out = "prefix:";
  AppendJsonString(out, s);
  return out.substr(7);
}

std::string Dumped(std::string_view s, bool replace) {
  return json(std::string(s))
      .dump(-1, ' ', false,
            replace ? json::error_handler_t::replace : json::error_handler_t::strict);
}

TEST(AppendJsonString, EscapesAsNlohmannDoes) {
  EXPECT_EQ(Appended(""), "\"\"");
  EXPECT_EQ(Appended("plain text"), "\"plain text\"");
  EXPECT_EQ(Appended("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(Appended("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(Appended(std::string("\x00\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\x7f\"");
  EXPECT_EQ(Appended("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");  // UTF-8 stays as is
  for (int c = 0; c < 256; ++c) {
    const std::string one(1, static_cast<char>(c));
    EXPECT_EQ(Appended(one), Dumped(one, c >= 0x80)) << c;
  }
}

TEST(AppendJsonString, InvalidUtf8BecomesTheReplacementCharacter) {
  EXPECT_EQ(Appended("a\xFF"
                     "b"),
            "\"a\xEF\xBF\xBD"
            "b\"");
  EXPECT_EQ(Appended("\xC3"), Dumped("\xC3", true));                  // truncated sequence
  EXPECT_EQ(Appended("\xED\xA0\x80"), Dumped("\xED\xA0\x80", true));  // a UTF-16 surrogate
}

TEST(AppendJsonString, RandomStringsMatchDump) {
  std::mt19937_64 rng(5);
  // Bytes drawn mostly from what needs care: controls, quote, backslash, UTF-8 lead and
  // continuation bytes, plus letters.
  const std::string alphabet = std::string("\x00\x01\x08\x09\x0a\x0d\x1f\"\\/ az~\x7f", 15) +
                               "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\x80\xBF\xFF";
  int valid = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const size_t n = rng() % 24;
    for (size_t k = 0; k < n; ++k) s += alphabet[rng() % alphabet.size()];
    std::string expected;
    try {
      expected = Dumped(s, false);
      ++valid;
    } catch (const json::type_error&) {
      expected = Dumped(s, true);
    }
    ASSERT_EQ(Appended(s), expected) << i;
  }
  EXPECT_GT(valid, 1000);  // both kinds were drawn
  EXPECT_LT(valid, 19000);
}

// Prose is skipped eight bytes at a time (AnyToEscape): every byte value at every offset of
// a run of plain and multi-byte text, and long random strings where bytes to escape are rare.
TEST(AppendJsonString, SparseEscapesAtEveryOffsetMatchDump) {
  const std::string prose = "The caf\xC3\xA9 opened \xE2\x80\x94 at noon, in G\xC3\xB6teborg.";
  for (int c = 0; c < 256; ++c) {
    for (size_t at = 0; at <= prose.size(); ++at) {
      std::string s = prose;
      s.insert(at, 1, static_cast<char>(c));
      std::string expected;
      try {
        expected = Dumped(s, false);
      } catch (const json::type_error&) {
        expected = Dumped(s, true);
      }
      ASSERT_EQ(Appended(s), expected) << c << " at " << at;
    }
  }
  std::mt19937_64 rng(11);
  const std::string specials("\x00\x01\x1f\"\\\n\t\x7f\x80\xff", 10);
  for (int i = 0; i < 5000; ++i) {
    std::string s;
    const size_t n = rng() % 200;
    for (size_t k = 0; k < n; ++k)
      s += rng() % 20 == 0 ? specials[rng() % specials.size()] : prose[rng() % prose.size()];
    std::string expected;
    try {
      expected = Dumped(s, false);
    } catch (const json::type_error&) {
      expected = Dumped(s, true);
    }
    ASSERT_EQ(Appended(s), expected) << i;
  }
}

// The same check in both dialects' parsers: a model name of up to 256 bytes.
TEST(CheckModelField, NamesTheFaultAndCapsTheLength) {
  EXPECT_FALSE(CheckModelField(json{{"model", std::string(256, 'm')}}).has_value());
  auto long_one = CheckModelField(json{{"model", std::string(5'000'000, 'm')}});
  ASSERT_TRUE(long_one.has_value());
  EXPECT_EQ(long_one->code, "invalid_value");
  EXPECT_LT(long_one->message.size(), 100u);  // the name itself is not echoed
  EXPECT_EQ(CheckModelField(json::object())->code, "missing_field");
  EXPECT_EQ(CheckModelField(json{{"model", 1}})->code, "invalid_type");
  EXPECT_EQ(CheckModelField(json{{"model", ""}})->code, "invalid_value");
}

TEST(JsonInteger, ReadsIntegersOnly) {
  const json o = json::parse(R"({"a":3,"b":-4,"c":2.0,"d":"5","e":null,"f":18446744073709551615})");
  EXPECT_EQ(JsonInteger(o, "a"), 3);
  EXPECT_EQ(JsonInteger(o, "b"), -4);
  EXPECT_EQ(JsonInteger(o, "c"), 0);
  EXPECT_EQ(JsonInteger(o, "d"), 0);
  EXPECT_EQ(JsonInteger(o, "e"), 0);
  EXPECT_EQ(JsonInteger(o, "f"), -1);  // unsigned, cast as the translators always did
  EXPECT_EQ(JsonInteger(o, "missing"), 0);
  EXPECT_EQ(JsonInteger(json::array(), "a"), 0);
}

}  // namespace
}  // namespace triage::dialect
