// ReceivedTextChars: the generated text of a non-streamed answer's body cut anywhere, what a
// failed attempt's output is estimated from.
#include "pipeline/respond.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace triage::pipeline {
namespace {

using nlohmann::json;

const std::string kOpenAI =
    R"({"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,)"
    R"("message":{"role":"assistant","content":"0123456789","refusal":null,"tool_calls":[)"
    R"({"id":"t","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},)"
    R"("finish_reason":"stop"}]})";

TEST(ReceivedTextChars, CountsTheGeneratedTextOfAWholeAnswer) {
  // content (10) + arguments ({"a":1}: 7); ids, names, roles and the model are not text.
  EXPECT_EQ(ReceivedTextChars(kOpenAI), 17);
  // Anthropic: text blocks, thinking, and a tool_use's input counted whole ({"q":"xy"}: 10).
  const json a = {{"id", "msg"},
                  {"type", "message"},
                  {"content",
                   {{{"type", "thinking"}, {"thinking", "abc"}, {"signature", "sig"}},
                    {{"type", "text"}, {"text", "héllo"}},
                    {{"type", "tool_use"}, {"id", "t"}, {"name", "n"}, {"input", {{"q", "xy"}}}}}},
                  {"stop_reason", "end_turn"}};
  EXPECT_EQ(ReceivedTextChars(a.dump()), 3 + 5 + 10);
}

TEST(ReceivedTextChars, CountsWhatArrivedOfABodyCutAnywhere) {
  // Every prefix counts at most the whole, and never decreases as more arrives.
  int64_t prev = 0;
  for (size_t n = 0; n <= kOpenAI.size(); ++n) {
    const int64_t c = ReceivedTextChars(std::string_view(kOpenAI).substr(0, n));
    EXPECT_GE(c, prev) << n;
    EXPECT_LE(c, 17) << n;
    prev = c;
  }
  // Cut inside the content: the characters received.
  const size_t at = kOpenAI.find("0123456789") + 4;
  EXPECT_EQ(ReceivedTextChars(std::string_view(kOpenAI).substr(0, at)), 4);
  // Cut inside a tool_use's input: what was received of it.
  EXPECT_EQ(ReceivedTextChars(R"({"content":[{"type":"tool_use","input":{"q":)"), 5);
}

TEST(ReceivedTextChars, EscapesAndUtf8AreCharacters) {
  EXPECT_EQ(ReceivedTextChars(R"({"content":"a\"b\\c\u00e9\n"})"), 7);
  EXPECT_EQ(ReceivedTextChars("{\"content\":\"\xc3\xa9\xe2\x82\xac\"}"), 2);  // é€
  // A key's name inside a text is text, not a key.
  EXPECT_EQ(ReceivedTextChars(R"({"content":"\"text\":\"x\"","id":"text"})"), 10);
}

TEST(ReceivedTextChars, NothingGeneratedIsZero) {
  for (std::string_view body :
       {"", "{", "not json", "<html>", R"({"choices":[)", R"({"content":null,"text":3})",
        R"({"id":"content","object":"text"})", R"({"content":["a","b"]})", "}}]"})
    EXPECT_EQ(ReceivedTextChars(body), 0) << body;
  // Closers without openers (a malformed body) add nothing.
  EXPECT_EQ(ReceivedTextChars(R"({"text":"ab"}}}]})"), 2);
}

}  // namespace
}  // namespace triage::pipeline
