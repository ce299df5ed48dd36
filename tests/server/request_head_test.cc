#include "server/request_head.h"

#include <gtest/gtest.h>

namespace triage::server {
namespace {

TEST(RequestHead, RoutesAndWhatTheyAllow) {
  EXPECT_EQ(RouteOf("/v1/chat/completions"), Route::kChatCompletions);
  EXPECT_EQ(RouteOf("/v1/messages"), Route::kMessages);
  EXPECT_EQ(RouteOf("/v1/messages/count_tokens"), Route::kCountTokens);
  EXPECT_EQ(RouteOf("/v1/models"), Route::kModels);
  EXPECT_EQ(RouteOf("/healthz"), Route::kHealthz);
  EXPECT_EQ(RouteOf("/readyz"), Route::kReadyz);
  EXPECT_EQ(RouteOf("/metrics"), Route::kMetrics);
  EXPECT_EQ(RouteOf("/v1/messages/"), Route::kNone);
  EXPECT_EQ(RouteOf("/healthz/"), Route::kNone);
  EXPECT_EQ(RouteOf(""), Route::kNone);
  EXPECT_EQ(PathOf("/v1/models?limit=2"), "/v1/models");
  EXPECT_EQ(PathOf("/readyz"), "/readyz");

  EXPECT_TRUE(IsChat(Route::kChatCompletions));
  EXPECT_TRUE(IsChat(Route::kMessages));
  EXPECT_FALSE(IsChat(Route::kCountTokens));
  EXPECT_FALSE(IsChat(Route::kHealthz));

  for (Route r : {Route::kChatCompletions, Route::kMessages, Route::kCountTokens})
    EXPECT_EQ(AllowOf(r), "POST");
  for (Route r : {Route::kModels, Route::kHealthz, Route::kReadyz, Route::kMetrics})
    EXPECT_EQ(AllowOf(r), "GET, HEAD");
}

// RFC 9112 3.2.2: the absolute-form names the resource of its path. It was read as a path
// ("http://x/v1/chat/completions"), so the chat routes answered 404.
TEST(RequestHead, AbsoluteFormTargetsNameTheirPath) {
  EXPECT_EQ(PathOf("http://x/v1/chat/completions"), "/v1/chat/completions");
  EXPECT_EQ(PathOf("HTTPS://gw.example:8443/v1/messages?beta=true"), "/v1/messages");
  EXPECT_EQ(PathOf("http://[::1]:8080/v1/models"), "/v1/models");
  EXPECT_EQ(PathOf("http://x"), "/");
  EXPECT_EQ(PathOf("http://x?a=1"), "/");
  EXPECT_EQ(RouteOf(PathOf("http://127.0.0.1:8080/healthz")), Route::kHealthz);
  // Not absolute-form: left as they are, and no route matches them.
  EXPECT_EQ(PathOf("*"), "*");
  EXPECT_EQ(PathOf("x:443"), "x:443");
  EXPECT_EQ(PathOf("ftp://x/v1/models"), "ftp://x/v1/models");
  EXPECT_EQ(RouteOf(PathOf("httpx://x/healthz")), Route::kNone);
}

TEST(RequestHead, DialectFollowsThePath) {
  EXPECT_EQ(DialectOf("/v1/messages"), dialect::Dialect::kAnthropic);
  EXPECT_EQ(DialectOf("/v1/messages/count_tokens"), dialect::Dialect::kAnthropic);
  EXPECT_EQ(DialectOf("/v1/messages/anything"), dialect::Dialect::kAnthropic);
  EXPECT_EQ(DialectOf("/v1/messagesx"), dialect::Dialect::kOpenAI);
  EXPECT_EQ(DialectOf("/v1/chat/completions"), dialect::Dialect::kOpenAI);
  EXPECT_EQ(DialectOf("/healthz"), dialect::Dialect::kOpenAI);
  EXPECT_EQ(DialectOf(""), dialect::Dialect::kOpenAI);  // unknown: the OpenAI default
}

TEST(RequestHead, PeeksACompleteRequestLine) {
  auto l = PeekRequestLine("POST /v1/messages?beta=true HTTP/1.1\r\nX-Big: xxxxxxxx");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->method, "POST");
  EXPECT_EQ(l->target, "/v1/messages?beta=true");
  EXPECT_EQ(l->version, 11u);

  l = PeekRequestLine("\r\nHEAD /healthz HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->method, "HEAD");
  EXPECT_EQ(l->target, "/healthz");
  EXPECT_EQ(l->version, 10u);
}

TEST(RequestHead, RefusesIncompleteOrMalformedLines) {
  for (const char* bad :
       {"", "POST /v1/messages HTTP/1.1",  // no CRLF yet: line not read
        "POST /v1/messages\r\n", "POST  /v1/messages HTTP/1.1\r\n", " /v1/messages HTTP/1.1\r\n",
        "PO(ST /v1/messages HTTP/1.1\r\n", "POST /v1/messages HTTP/2.0\r\n",
        "POST /v1/messages HTTP/1.1 x\r\n", "POST /v1/mes\x01sages HTTP/1.1\r\n"})
    EXPECT_FALSE(PeekRequestLine(bad).has_value()) << bad;
}

TEST(RequestHead, ContentCodingOtherThanIdentity) {
  EXPECT_EQ(ContentCoding(""), "");
  EXPECT_EQ(ContentCoding("identity"), "");
  EXPECT_EQ(ContentCoding(" Identity , IDENTITY"), "");
  EXPECT_EQ(ContentCoding("gzip"), "gzip");
  EXPECT_EQ(ContentCoding("identity, br"), "br");
  EXPECT_EQ(ContentCoding(" , deflate ,gzip"), "deflate");
  EXPECT_EQ(ContentCoding("x-gzip\t"), "x-gzip");
}

TEST(RequestHead, LeadingLineBreaks) {
  EXPECT_EQ(LeadingLineBreaks(""), 0u);
  EXPECT_EQ(LeadingLineBreaks("GET / HTTP/1.1\r\n"), 0u);
  EXPECT_EQ(LeadingLineBreaks("\r\nGET / HTTP/1.1\r\n"), 2u);
  EXPECT_EQ(LeadingLineBreaks("\r\n\r\n\nPOST"), 5u);
  EXPECT_EQ(LeadingLineBreaks("\r"), 1u);
  EXPECT_EQ(LeadingLineBreaks(" \r\nGET"), 0u);
}

// Regression: "Transfer-Encoding: identity" (or gzip) was read as an empty body, and the body's
// bytes were then parsed as the next request on the connection.
TEST(RequestHead, OnlyPlainChunkedTransferEncodingIsReadable) {
  for (const char* ok : {"", " ", "chunked", "Chunked", " CHUNKED\t", "chunked,", ", chunked"}) {
    EXPECT_EQ(ClassifyTransferEncoding(ok), TransferFraming::kReadable) << ok;
  }
  for (const char* bad : {"identity", "gzip", "chunked, gzip", "chunked, chunked", "chunkedx",
                          "x-chunked", "gzip, chunked, chunked"}) {
    EXPECT_EQ(ClassifyTransferEncoding(bad), TransferFraming::kUnframed) << bad;
  }
}

// RFC 9112 6.1: a transfer coding the server does not understand is a 501; the body is still
// framed by its final "chunked", but triage does not decode gzip or deflate (it was a 400).
TEST(RequestHead, AnotherCodingBeforeChunkedIsNotImplemented) {
  for (const char* coded :
       {"gzip, chunked", "deflate,chunked", "GZIP , Chunked", "br, gzip, chunked"}) {
    EXPECT_EQ(ClassifyTransferEncoding(coded), TransferFraming::kUnknownCoding) << coded;
  }
}

// Regression: percent-encoded and dot-segment spellings of a route were 404 (/v1/%63hat/...,
// /v1//chat/completions, /./v1/messages). RFC 3986 6.2.2 normal form, %2F never a separator.
TEST(NormalPath, DecodesUnreservedEscapesRemovesDotSegmentsAndMergesSlashes) {
  struct Case {
    std::string_view in, out;
  };
  const Case cases[] = {
      {"/v1/chat/completions", "/v1/chat/completions"},
      {"/v1/chat%2Dcompletions", "/v1/chat-completions"},
      {"/v1/%63hat/completions", "/v1/chat/completions"},
      {"/v1/%63Hat/completions", "/v1/cHat/completions"},
      {"/v1//chat/completions", "/v1/chat/completions"},
      {"//v1/chat/completions", "/v1/chat/completions"},
      {"/./v1/messages", "/v1/messages"},
      {"/v1/messages/../messages", "/v1/messages"},
      {"/v1/messages/%2E%2E/messages", "/v1/messages"},
      {"/../v1/models", "/v1/models"},
      {"/v1/models/.", "/v1/models/"},
      {"/v1/chat/completions/", "/v1/chat/completions/"},
      {"/v1/messages%2fcount_tokens", "/v1/messages%2Fcount_tokens"},
      {"/v1/messages%2Fcount_tokens", "/v1/messages%2Fcount_tokens"},
      {"/v1/models%3f", "/v1/models%3F"},
      {"/.well-known", "/.well-known"},
      {"/..", "/"},
      {"*", "*"},
  };
  for (const auto& c : cases) {
    std::string storage;
    bool malformed = true;
    EXPECT_EQ(NormalPath(c.in, &storage, &malformed), c.out) << c.in;
    EXPECT_FALSE(malformed) << c.in;
  }
  std::string storage;
  bool malformed = false;
  const std::string_view normal = "/v1/chat/completions";
  EXPECT_EQ(NormalPath(normal, &storage, &malformed).data(), normal.data()) << "no copy";
}

TEST(NormalPath, FlagsMalformedEscapes) {
  for (std::string_view p : {"/v1/%zz", "/v1/messages/%", "/v1/messages/%4", "/%g0/x"}) {
    std::string storage;
    bool malformed = false;
    NormalPath(p, &storage, &malformed);
    EXPECT_TRUE(malformed) << p;
  }
  std::string storage;
  bool malformed = false;
  EXPECT_EQ(NormalPath("/v1/messages/%zz", &storage, &malformed), "/v1/messages/%zz");
  EXPECT_EQ(DialectOf(NormalPath("/v1/messages/%zz", &storage, &malformed)),
            dialect::Dialect::kAnthropic);
}

}  // namespace
}  // namespace triage::server
