#include "dialect/sse.h"

#include <gtest/gtest.h>

#include <random>

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

// The EventSource rules read the simple way, on the whole stream at once: what SseParser, fed
// the same bytes in pieces and searching line ends with memchr, must reproduce.
std::vector<SseEvent> Reference(std::string_view s, bool* partial) {
  if (s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);
  std::vector<SseEvent> out;
  SseEvent cur;
  bool has_data = false;
  std::string line;
  size_t i = 0;
  bool open_line = false;
  while (i < s.size()) {
    const char c = s[i++];
    if (c != '\r' && c != '\n') {
      line += c;
      open_line = true;
      continue;
    }
    if (c == '\r' && i < s.size() && s[i] == '\n') ++i;
    open_line = false;
    if (line.empty()) {
      if (has_data) out.push_back(cur);
      cur = SseEvent{};
      has_data = false;
    } else if (line[0] != ':') {
      const size_t colon = line.find(':');
      std::string field = line.substr(0, colon), value;
      if (colon != std::string::npos) {
        value = line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      }
      if (field == "data") {
        if (has_data) cur.data += '\n';
        cur.data += value;
        has_data = true;
      } else if (field == "event") {
        cur.event = value;
      }
    }
    line.clear();
  }
  *partial = open_line || has_data || !cur.event.empty();
  return out;
}

// Random streams of field names, values, colons, spaces and every kind of line end (CR-only
// lines included, which make the LF search find nothing for a long way), fed in random pieces.
TEST(SseParser, AgreesWithTheRulesReadByteByByteOnRandomStreams) {
  std::mt19937 rng(7);
  const std::vector<std::string> parts = {"data",      "event", ":",           " ",    "x",
                                          "{\"a\":1}", "\n",    "\r",          "\r\n", "\n\n",
                                          "\r\r",      ": c",   "message_stop"};
  for (int n = 0; n < 3000; ++n) {
    std::string s = n % 10 == 0 ? "\xEF\xBB\xBF" : "";
    const int len = static_cast<int>(rng() % 60);
    for (int k = 0; k < len; ++k) s += parts[rng() % parts.size()];
    if (n % 3 == 0) s += std::string(rng() % 200, rng() % 2 ? '\r' : 'y');
    bool partial = false;
    const std::vector<SseEvent> want = Reference(s, &partial);
    SseParser p;
    std::vector<SseEvent> got;
    for (size_t i = 0; i < s.size();) {
      const size_t piece = 1 + rng() % (n % 2 ? 4 : 300);
      ASSERT_TRUE(p.Feed(std::string_view(s).substr(i, piece), got));
      i += piece;
    }
    SCOPED_TRACE(::testing::PrintToString(s));
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].event, want[i].event);
      EXPECT_EQ(got[i].data, want[i].data);
    }
    // A CR last may still be a CRLF's first half, which the reference counts as a line end.
    EXPECT_EQ(p.HasPartial(), partial);
  }
}

// Every CR, LF or CRLF in a frame's payload starts a new data: line, wherever it stands.
TEST(SseFrame, EveryLineEndOfRandomPayloadsStartsADataLine) {
  std::mt19937 rng(11);
  const char alphabet[] = {'a', 'b', '\r', '\n', ' ', ':'};
  for (int n = 0; n < 3000; ++n) {
    std::string payload;
    const int len = static_cast<int>(rng() % 80);
    for (int k = 0; k < len; ++k) payload += alphabet[rng() % sizeof(alphabet)];
    std::string want = "data: ";
    for (size_t i = 0; i < payload.size(); ++i) {
      if (payload[i] == '\r' || payload[i] == '\n') {
        if (payload[i] == '\r' && i + 1 < payload.size() && payload[i + 1] == '\n') ++i;
        want += "\ndata: ";
      } else {
        want += payload[i];
      }
    }
    want += "\n\n";
    EXPECT_EQ(SseFrame(payload), want) << ::testing::PrintToString(payload);
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
