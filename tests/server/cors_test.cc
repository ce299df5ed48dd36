#include "server/cors.h"

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>
#include <sstream>

#include "server/wire.h"

namespace triage::server {
namespace {

namespace http = boost::beast::http;

config::CorsConfig Origins(std::vector<std::string> origins) {
  config::CorsConfig c;
  c.allow_origins = std::move(origins);
  return c;
}

std::string Field(const pipeline::Headers& h, std::string_view name) {
  for (const auto& [k, v] : h)
    if (k == name) return v;
  return "<absent>";
}

TEST(Cors, OffByDefault) {
  const Cors cors{config::CorsConfig{}};
  EXPECT_FALSE(cors.enabled());
  EXPECT_FALSE(cors.Allows("https://app.example.com"));
}

TEST(Cors, ExactOriginsOnly) {
  const Cors cors{Origins({"https://app.example.com", "http://localhost:5173"})};
  ASSERT_TRUE(cors.enabled());
  EXPECT_TRUE(cors.Allows("https://app.example.com"));
  EXPECT_TRUE(cors.Allows("http://localhost:5173"));
  EXPECT_FALSE(cors.Allows(""));
  EXPECT_FALSE(cors.Allows("null"));
  EXPECT_FALSE(cors.Allows("http://app.example.com"));        // other scheme
  EXPECT_FALSE(cors.Allows("https://app.example.com:8443"));  // other port
  EXPECT_FALSE(cors.Allows("https://evil.app.example.com"));
  EXPECT_FALSE(cors.Allows("https://app.example.com.evil.com"));
  EXPECT_FALSE(cors.Allows("https://app.example.co"));
}

TEST(Cors, ResponseFieldsEchoTheAllowedOrigin) {
  const Cors cors{Origins({"https://app.example.com"})};
  pipeline::Headers h = {{"content-type", "application/json"}};
  cors.AddResponseFields("https://app.example.com", h);
  EXPECT_EQ(Field(h, "access-control-allow-origin"), "https://app.example.com");
  EXPECT_EQ(Field(h, "vary"), "Origin");
  const std::string exposed = Field(h, "access-control-expose-headers");
  for (const char* name : {"x-request-id", "request-id", "retry-after", "x-triage-route",
                           "x-triage-tier", "x-triage-deployment", "x-triage-cost-usd",
                           "x-triage-reference-cost-usd", "x-triage-dropped-params"}) {
    EXPECT_NE(exposed.find(name), std::string::npos) << name;
  }
  EXPECT_EQ(Field(h, "access-control-allow-credentials"), "<absent>");
}

TEST(Cors, ResponseToAnotherOriginOnlyVaries) {
  const Cors cors{Origins({"https://app.example.com"})};
  for (std::string_view origin : {"https://evil.example.com", ""}) {
    pipeline::Headers h;
    cors.AddResponseFields(origin, h);
    ASSERT_EQ(h.size(), 1u) << origin;
    EXPECT_EQ(h[0], (std::pair<std::string, std::string>{"vary", "Origin"}));
  }
}

TEST(Cors, WildcardSendsStar) {
  const Cors cors{Origins({"*"})};
  EXPECT_TRUE(cors.Allows("https://anything.example"));
  EXPECT_TRUE(cors.Allows("null"));
  EXPECT_FALSE(cors.Allows(""));  // not a CORS request
  pipeline::Headers h;
  cors.AddResponseFields("https://anything.example", h);
  EXPECT_EQ(Field(h, "access-control-allow-origin"), "*");
  const pipeline::Headers p = cors.PreflightFields("https://anything.example", "POST", "");
  EXPECT_EQ(Field(p, "access-control-allow-origin"), "*");
}

TEST(Cors, PreflightFields) {
  config::CorsConfig c = Origins({"https://app.example.com"});
  c.max_age_seconds = 7200;
  const Cors cors{c};
  const pipeline::Headers h = cors.PreflightFields(
      "https://app.example.com", "POST", "authorization,content-type,x-stainless-retry-count");
  EXPECT_EQ(Field(h, "access-control-allow-origin"), "https://app.example.com");
  EXPECT_EQ(Field(h, "access-control-allow-methods"), "POST");
  EXPECT_EQ(Field(h, "access-control-allow-headers"),
            "authorization, content-type, x-stainless-retry-count");
  EXPECT_EQ(Field(h, "access-control-max-age"), "7200");
  EXPECT_EQ(Field(h, "vary"),
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  EXPECT_EQ(Field(h, "access-control-allow-credentials"), "<absent>");
  // Nothing requested: no Allow-Headers at all.
  EXPECT_EQ(Field(cors.PreflightFields("https://app.example.com", "GET, HEAD", ""),
                  "access-control-allow-headers"),
            "<absent>");
}

TEST(Cors, SdkHeadersAreAllowed) {
  const Cors cors{Origins({"https://app.example.com"})};
  // What Chromium sends for the Anthropic SDK with dangerouslyAllowBrowser (sorted, lowercase).
  const std::string anthropic =
      "anthropic-dangerous-direct-browser-access, anthropic-version, content-type, x-api-key, "
      "x-stainless-arch, x-stainless-lang, x-stainless-os, x-stainless-package-version, "
      "x-stainless-retry-count, x-stainless-runtime, x-stainless-runtime-version, "
      "x-stainless-timeout";
  EXPECT_EQ(cors.AllowedRequestHeaders(anthropic), anthropic);
  const std::string openai =
      "authorization, content-type, openai-organization, openai-project, x-stainless-helper-method";
  EXPECT_EQ(cors.AllowedRequestHeaders(openai), openai);
  EXPECT_EQ(cors.AllowedRequestHeaders("anthropic-beta,idempotency-key,user-agent"),
            "anthropic-beta, idempotency-key, user-agent");
}

TEST(Cors, RequestHeadersAreFilteredAndLowercased) {
  const Cors cors{Origins({"https://app.example.com"})};
  EXPECT_EQ(cors.AllowedRequestHeaders(" Authorization ,\tX-Custom, Content-Type,,"),
            "authorization, content-type");
  EXPECT_EQ(cors.AllowedRequestHeaders("x-custom"), "");
  // Not a token: dropped, never echoed.
  EXPECT_EQ(cors.AllowedRequestHeaders("authorization, bad name, x-api-key:1, \"q\""),
            "authorization");
}

TEST(Cors, ExtraAndAnyRequestHeaders) {
  config::CorsConfig c = Origins({"https://app.example.com"});
  c.allow_headers = {"x-custom", "x-tenant"};
  EXPECT_EQ(Cors{c}.AllowedRequestHeaders("X-Custom, x-tenant, x-other, authorization"),
            "x-custom, x-tenant, authorization");
  c.allow_headers = {"*"};
  EXPECT_EQ(Cors{c}.AllowedRequestHeaders("X-Custom, x-other, authorization, b@d"),
            "x-custom, x-other, authorization");
}

// Beast's prepare_payload() would add "Content-Length: 0", which RFC 9110 8.6 forbids on a 204:
// the bytes are Beast's for the same response without it.
TEST(Cors, NoContentIsBeastWithoutContentLength) {
  const pipeline::Headers h = Cors{Origins({"https://a.example"})}.PreflightFields(
      "https://a.example", "POST", "authorization");
  for (unsigned version : {10u, 11u}) {
    for (bool keep_alive : {true, false}) {
      http::response<http::empty_body> res{http::status::no_content, version};
      res.set(http::field::server, "triage");
      for (const auto& [k, v] : h) res.set(k, v);
      res.keep_alive(keep_alive);
      std::ostringstream os;
      os << res;
      EXPECT_EQ(SerializeNoContent(version, keep_alive, h), os.str())
          << version << " " << keep_alive;
    }
  }
  EXPECT_EQ(SerializeNoContent(11, true, {}).find("Content-Length"), std::string::npos);
}

}  // namespace
}  // namespace triage::server
