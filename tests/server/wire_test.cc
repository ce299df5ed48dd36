#include "server/wire.h"

#include <gtest/gtest.h>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <sstream>

namespace triage::server {
namespace {

namespace http = boost::beast::http;

// What Beast's serializer writes for the response SessionWriter used to build.
std::string Beast(int status, unsigned version, bool keep_alive, const pipeline::Headers& headers,
                  const std::string& body) {
  http::response<http::string_body> res{static_cast<http::status>(status), version};
  res.set(http::field::server, "triage");
  for (const auto& [k, v] : headers) res.set(k, v);
  res.body() = body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  std::ostringstream os;
  os << res;
  return os.str();
}

TEST(Wire, SameBytesAsBeast) {
  const pipeline::Headers gateway = {{"x-request-id", "req_0123"},
                                     {"x-triage-tier", "open"},
                                     {"x-triage-route", "learned score=0.31 \xe2\x86\x92 open"},
                                     {"content-type", "application/json"}};
  const pipeline::Headers repeated = {
      {"content-type", "text/plain"}, {"x-a", "1"}, {"Content-Type", "application/json"}};
  const std::string body = R"({"id":"chatcmpl-1","choices":[]})";
  struct Case {
    int status;
    unsigned version;
    bool keep_alive;
    const pipeline::Headers* headers;
    std::string body;
  };
  const pipeline::Headers none;
  const Case cases[] = {{200, 11, true, &gateway, body},   {200, 11, false, &gateway, body},
                        {200, 10, true, &gateway, body},   {200, 10, false, &gateway, body},
                        {413, 11, true, &none, body},      {404, 11, true, &repeated, ""},
                        {503, 11, false, &gateway, body},  {429, 11, true, &gateway, "{}"},
                        {405, 10, false, &repeated, "no"}, {529, 11, true, &none, "overloaded"}};
  for (const auto& c : cases) {
    EXPECT_EQ(SerializeResponse(c.status, c.version, c.keep_alive, *c.headers, c.body),
              Beast(c.status, c.version, c.keep_alive, *c.headers, c.body))
        << c.status << " HTTP/" << c.version << " keep_alive=" << c.keep_alive;
  }
}

// What Beast wrote for a stream: the head of a chunked response, then chunks, then the last
// chunk with trailers.
std::string BeastStreamHead(unsigned version, bool keep_alive, const pipeline::Headers& headers,
                            const std::vector<std::string>& trailers) {
  http::response<http::empty_body> res{http::status::ok, version};
  res.set(http::field::server, "triage");
  for (const auto& [k, v] : headers) res.set(k, v);
  std::string t;
  for (const auto& name : trailers) t += (t.empty() ? "" : ", ") + name;
  if (!t.empty()) res.set(http::field::trailer, t);
  res.keep_alive(keep_alive);
  res.chunked(true);
  http::response_serializer<http::empty_body> sr{res};
  std::string out;
  boost::system::error_code ec;
  while (!sr.is_header_done()) {
    sr.next(ec, [&](boost::system::error_code&, const auto& buffers) {
      out += boost::beast::buffers_to_string(buffers);
      sr.consume(boost::asio::buffer_size(buffers));
    });
  }
  return out;
}

TEST(Wire, StreamHeadChunksAndEndAsBeast) {
  const pipeline::Headers h = {{"x-request-id", "req_1"},
                               {"content-type", "text/event-stream"},
                               {"cache-control", "no-cache"}};
  const std::vector<std::string> trailers = {"x-triage-cost-usd", "x-triage-reference-cost-usd"};
  for (unsigned version : {11u, 10u}) {
    for (bool keep_alive : {true, false}) {
      for (const auto* t : {&trailers, static_cast<const std::vector<std::string>*>(nullptr)}) {
        const std::vector<std::string> names = t ? *t : std::vector<std::string>{};
        EXPECT_EQ(SerializeStreamHead(version, keep_alive, h, names),
                  BeastStreamHead(version, keep_alive, h, names))
            << "HTTP/" << version << " keep_alive=" << keep_alive << " trailers=" << names.size();
      }
    }
  }
  for (const std::string& data :
       {std::string("data: {}\n\n"), std::string(300, 'x'), std::string("a")}) {
    std::string ours;
    AppendChunk(ours, data);
    EXPECT_EQ(ours, boost::beast::buffers_to_string(http::make_chunk(boost::asio::buffer(data))));
  }
  const pipeline::Headers end = {{"x-triage-cost-usd", "0.000014"},
                                 {"x-triage-reference-cost-usd", "0.001105"}};
  http::fields f;
  for (const auto& [k, v] : end) f.set(k, v);
  std::string ours;
  AppendLastChunk(ours, end);
  EXPECT_EQ(ours, boost::beast::buffers_to_string(http::make_chunk_last(f)));
  std::string bare;
  AppendLastChunk(bare, {});
  EXPECT_EQ(bare, boost::beast::buffers_to_string(http::make_chunk_last()));
}

// A HEAD answer is the GET answer's head, Content-Length included, and nothing after it.
TEST(Wire, HeadResponseIsTheGetResponseWithoutItsBody) {
  const pipeline::Headers h = {{"content-type", "application/json"}};
  const std::string body = R"({"status":"ok"})";
  for (unsigned version : {11u, 10u}) {
    for (bool keep_alive : {true, false}) {
      const std::string get = SerializeResponse(200, version, keep_alive, h, body);
      const std::string head = SerializeHeadResponse(200, version, keep_alive, h, body);
      EXPECT_EQ(head + body, get);
      EXPECT_TRUE(head.ends_with("Content-Length: 15\r\n\r\n")) << head;
    }
  }
  EXPECT_EQ(SerializeHeadResponse(405, 11, true, {{"allow", "POST"}}, "{}"),
            "HTTP/1.1 405 Method Not Allowed\r\nServer: triage\r\nallow: POST\r\n"
            "Content-Length: 2\r\n\r\n");
}

// An HTTP/1.0 stream: no chunked coding, no Trailer, the body delimited by the close.
TEST(Wire, CloseDelimitedStreamHead) {
  const pipeline::Headers h = {{"x-request-id", "req_1"},
                               {"content-type", "text/event-stream"},
                               {"cache-control", "no-cache"}};
  EXPECT_EQ(SerializeCloseDelimitedHead(10, h),
            "HTTP/1.0 200 OK\r\nServer: triage\r\nx-request-id: req_1\r\n"
            "content-type: text/event-stream\r\ncache-control: no-cache\r\n"
            "Connection: close\r\n\r\n");
  // What Beast writes for the same head with keep_alive(false) on 1.0 is the same minus the
  // explicit Connection field (1.0 closes by default): ours only adds that line.
  std::string beast = BeastStreamHead(10, false, h, {});
  const std::string te = "Transfer-Encoding: chunked\r\n";
  ASSERT_NE(beast.find(te), std::string::npos);
  beast.replace(beast.find(te), te.size(), "Connection: close\r\n");
  EXPECT_EQ(SerializeCloseDelimitedHead(10, h), beast);
}

TEST(Wire, LaterFieldOfTheSameNameWins) {
  const std::string s = SerializeResponse(
      200, 11, true, {{"x-a", "1"}, {"X-B", "2"}, {"x-b", "3"}, {"X-A", "4"}}, "");
  EXPECT_EQ(s,
            "HTTP/1.1 200 OK\r\nServer: triage\r\nx-b: 3\r\nX-A: 4\r\nContent-Length: 0\r\n\r\n");
}

}  // namespace
}  // namespace triage::server
