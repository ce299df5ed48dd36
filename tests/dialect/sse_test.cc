#include "dialect/sse.h"

#include <gtest/gtest.h>

namespace triage::dialect {
namespace {

std::vector<SseEvent> ParseAll(std::string_view s, size_t step) {
  SseParser p;
  std::vector<SseEvent> out;
  for (size_t i = 0; i < s.size(); i += step) EXPECT_TRUE(p.Feed(s.substr(i, step), out));
  EXPECT_FALSE(p.HasPartial());
  return out;
}

TEST(SseFrame, SingleAndMultiLine) {
  EXPECT_EQ(SseFrame("{}"), "data: {}\n\n");
  EXPECT_EQ(SseFrame("a\nb"), "data: a\ndata: b\n\n");
  EXPECT_EQ(SseFrame("a\r\nb\rc"), "data: a\ndata: b\ndata: c\n\n");
  EXPECT_EQ(SseFrame("x", "message_start"), "event: message_start\ndata: x\n\n");
  EXPECT_EQ(SseFrame(""), "data: \n\n");
}

TEST(SseParser, LineEndingsCommentsAndFieldsAtEveryChunking) {
  const std::string stream =
      ": keep-alive\n\n"
      "event: message_start\r\ndata: {\"a\":1}\r\n\r\n"
      "data:first\rdata: second\r\r"
      "id: 7\nretry: 100\nunknown: x\ndata\n\n"
      "data: [DONE]\n\n";
  for (size_t step : {1, 2, 3, 5, 7, 1000}) {
    auto ev = ParseAll(stream, step);
    ASSERT_EQ(ev.size(), 4u) << "step " << step;
    EXPECT_EQ(ev[0].event, "message_start");
    EXPECT_EQ(ev[0].data, "{\"a\":1}");
    EXPECT_EQ(ev[1].event, "");
    EXPECT_EQ(ev[1].data, "first\nsecond");
    EXPECT_EQ(ev[2].data, "");
    EXPECT_EQ(ev[3].data, "[DONE]");
  }
}

TEST(SseParser, FrameRoundTrips) {
  std::string payload = "line1\nline2\n\nline4";
  auto ev = ParseAll(SseFrame(payload, "e") + SseFrame("z"), 4);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].event, "e");
  EXPECT_EQ(ev[0].data, payload);
  EXPECT_EQ(ev[1].data, "z");
}

TEST(SseParser, OnlyOneLeadingSpaceIsStripped) {
  auto ev = ParseAll("data:  two\n\n", 100);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, " two");
}

TEST(SseParser, EventWithoutDataIsNotDispatched) {
  auto ev = ParseAll("event: ping\n\ndata: x\n\n", 100);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].event, "");  // the event type is reset by the blank line
  EXPECT_EQ(ev[0].data, "x");
}

TEST(SseParser, PartialEventIsReported) {
  SseParser p;
  std::vector<SseEvent> out;
  EXPECT_TRUE(p.Feed("data: abc", out));
  EXPECT_TRUE(p.HasPartial());
  EXPECT_TRUE(p.Feed("\n", out));
  EXPECT_TRUE(p.HasPartial());
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(p.Feed("\n", out));
  EXPECT_FALSE(p.HasPartial());
  ASSERT_EQ(out.size(), 1u);
}

// A stream written with a UTF-8 byte-order mark (the EventSource spec: one leading U+FEFF is
// ignored). Left in, it made the first field "\xEF\xBB\xBFdata", unknown, and the first event
// (the one an OpenAI-compatible server may put its first content in) was lost.
TEST(SseParser, LeadingByteOrderMarkIsIgnored) {
  for (size_t step : {1, 2, 4, 1000}) {
    auto ev = ParseAll(
        "\xEF\xBB\xBF"
        "data: first\n\ndata: second\n\n",
        step);
    ASSERT_EQ(ev.size(), 2u) << "step " << step;
    EXPECT_EQ(ev[0].data, "first");
    EXPECT_EQ(ev[1].data, "second");
  }
  // Only at the start, and only the whole mark: other bytes stay what they were.
  auto mid = ParseAll(
      "data: a\n\n\xEF\xBB\xBF"
      "data: b\n\n",
      3);
  ASSERT_EQ(mid.size(), 1u);
  EXPECT_EQ(mid[0].data, "a");
  auto half = ParseAll(
      "data: \xEF\xBB"
      "x\n\n",
      1);
  ASSERT_EQ(half.size(), 1u);
  EXPECT_EQ(half[0].data,
            "\xEF\xBB"
            "x");
  auto not_mark = ParseAll(
      "\xEF"
      "data: y\n\ndata: z\n\n",
      1);
  ASSERT_EQ(not_mark.size(), 1u);  // "\xEF" "data" is an unknown field, as before
  EXPECT_EQ(not_mark[0].data, "z");
  SseParser p;
  std::vector<SseEvent> out;
  EXPECT_TRUE(p.Feed("\xEF\xBB", out));
  EXPECT_TRUE(p.HasPartial());  // a stream ending inside the mark is cut short
}

TEST(SseParser, LimitFailsAndStaysFailed) {
  SseParser p(16);
  std::vector<SseEvent> out;
  EXPECT_TRUE(p.Feed("data: 0123\n\n", out));
  EXPECT_FALSE(p.Feed("data: 0123456789abcdef\n\n", out));
  EXPECT_TRUE(p.failed());
  EXPECT_FALSE(p.Feed("data: x\n\n", out));
  EXPECT_EQ(out.size(), 1u);
  // Multi-line data counts toward the limit too.
  SseParser q(16);
  std::vector<SseEvent> o2;
  EXPECT_FALSE(q.Feed("data: 0123456\ndata: 0123456\ndata: 0123456\n", o2));
}

}  // namespace
}  // namespace triage::dialect
