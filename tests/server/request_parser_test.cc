#include "server/request_parser.h"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <string>

namespace triage::server {
namespace {

namespace http = boost::beast::http;

// Feeds `bytes` to `p` in one piece, as the session's read loop does with its buffer.
boost::beast::error_code Put(RequestParser& p, const std::string& bytes) {
  boost::beast::error_code ec;
  p.eager(true);
  p.put(boost::asio::buffer(bytes), ec);
  return ec;
}

std::string Head(const std::string& extra) {
  return "POST /v1/messages HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
}

// Beast's fields container threw std::length_error for these (uncaught in a session: the
// process ended).
TEST(RequestParser, RefusesAHeaderValueBeastCannotStore) {
  RequestParser p;
  p.header_limit(1 << 20);
  const std::string value(RequestParser::kMaxFieldPart + 1, 'a');
  boost::beast::error_code ec;
  EXPECT_NO_THROW(ec = Put(p, Head("X-Big: " + value + "\r\n")));
  EXPECT_EQ(ec, http::error::header_limit);
  EXPECT_TRUE(p.field_too_large());
}

TEST(RequestParser, RefusesAHeaderNameBeastCannotStore) {
  RequestParser p;
  p.header_limit(1 << 20);
  boost::beast::error_code ec;
  EXPECT_NO_THROW(ec =
                      Put(p, Head(std::string(RequestParser::kMaxFieldPart + 1, 'n') + ": v\r\n")));
  EXPECT_EQ(ec, http::error::header_limit);
  EXPECT_TRUE(p.field_too_large());
}

TEST(RequestParser, RefusesATrailerValueBeastCannotStore) {
  RequestParser p;
  const std::string value(RequestParser::kMaxFieldPart + 1, 'b');
  boost::beast::error_code ec;
  EXPECT_NO_THROW(ec = Put(p, Head("Transfer-Encoding: chunked\r\n") +
                                  "2\r\n{}\r\n0\r\nX-T: " + value + "\r\n\r\n"));
  EXPECT_EQ(ec, http::error::header_limit);
  EXPECT_TRUE(p.field_too_large());
}

TEST(RequestParser, KeepsFieldsAndTrailersUpToTheLimit) {
  RequestParser p;
  p.header_limit(1 << 20);
  const std::string value(RequestParser::kMaxFieldPart, 'c');
  const auto ec = Put(p, Head("X-Big: " + value + "\r\nTransfer-Encoding: chunked\r\n") +
                             "2\r\n{}\r\n0\r\nX-T: " + value + "\r\n\r\n");
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_FALSE(p.field_too_large());
  ASSERT_TRUE(p.is_done());
  EXPECT_EQ(p.get().body(), "{}");
  EXPECT_EQ(p.get()["x-big"].size(), value.size());
  EXPECT_EQ(p.get()["x-t"].size(), value.size());
  EXPECT_EQ(p.get()[http::field::host], "x");
}

}  // namespace
}  // namespace triage::server
