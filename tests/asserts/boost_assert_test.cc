// Boost's assertion handler (src/common/boost_assert.cc) in a build with assertions on. This file
// is compiled without NDEBUG (CMakeLists.txt: test_boost_assert), as a Debug build and the fuzz
// targets are, so BOOST_ASSERT reaches the handler here; the gateway's Release and RelWithDebInfo
// builds define NDEBUG and carry no Boost asserts.
#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/assert.hpp>
#include <boost/beast/http.hpp>
#include <string>
#include <string_view>

#ifdef NDEBUG
#error "this test needs BOOST_ASSERT on: build it without NDEBUG"
#endif
#ifndef BOOST_ENABLE_ASSERT_DEBUG_HANDLER
#error "the gateway builds with BOOST_ENABLE_ASSERT_DEBUG_HANDLER (CMakeLists.txt)"
#endif

namespace {

namespace http = boost::beast::http;

// Feeds `in` to a request parser `piece` bytes at a time, as a socket may deliver it, keeping
// the bytes the parser did not use for the next call (the gateway's session does the same).
// Returns the body, or "error: ..." on a parse error.
std::string ParseInPieces(std::string_view in, size_t piece) {
  http::request_parser<http::string_body> p;
  p.eager(true);
  std::string buf;
  size_t at = 0;
  while (!p.is_done()) {
    if (at >= in.size()) return "error: incomplete";
    buf.append(in.substr(at, piece));
    at += piece;
    boost::beast::error_code ec;
    const size_t used = p.put(boost::asio::buffer(buf), ec);
    buf.erase(0, used);
    if (ec == http::error::need_more) continue;
    if (ec) return "error: " + ec.message();
  }
  return p.get().body();
}

constexpr std::string_view kHead =
    "POST /v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
constexpr std::string_view kTrailer = "0\r\nX-Trailer: message\r\n\r\n";

// Boost.Beast 1.81 asserts `n >= 5` in basic_parser::parse_chunk_header when it resumes after
// the last chunk ("0\r\n", 5 bytes with the CRLF that ends a chunk before it) with the trailer
// incomplete; when the last chunk is the only one, a byte at a time resumes with 4 and, with the
// default handler, aborted (fuzz_request_parser found it, 2026-12-07). The handler lets that one
// assert pass, and the parser, which handles 4 bytes, reads the request.
TEST(BoostAssert, ChunkedBodyWithTrailerFedAByteAtATimeParses) {
  const std::string empty = std::string(kHead) + std::string(kTrailer);
  const std::string two =
      std::string(kHead) + "5\r\nhello\r\n6\r\n world\r\n" + std::string(kTrailer);
  for (size_t piece = 1; piece <= 9; ++piece) {
    EXPECT_EQ(ParseInPieces(empty, piece), "") << piece;
    EXPECT_EQ(ParseInPieces(two, piece), "hello world") << piece;
  }
  EXPECT_EQ(ParseInPieces(empty, empty.size()), "");
  EXPECT_EQ(ParseInPieces(two, two.size()), "hello world");
}

TEST(BoostAssert, EveryOtherFailedAssertStillAborts) {
  // The same expression text elsewhere still aborts: the handler matches the file and the
  // function too.
  EXPECT_DEATH(boost::assertion_failed("n >= 5", "f", __FILE__, __LINE__),
               "Assertion `n >= 5' failed");
  EXPECT_DEATH(BOOST_ASSERT(1 + 1 == 3), "Assertion `1 \\+ 1 == 3' failed");
  EXPECT_DEATH(BOOST_ASSERT_MSG(false, "a message"), "Assertion `false' failed: a message");
}

}  // namespace
