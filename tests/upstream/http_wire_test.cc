#include "upstream/http_wire.h"

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>
#include <sstream>

namespace triage::upstream {
namespace {

namespace http = boost::beast::http;
using Fields = std::vector<std::pair<std::string, std::string>>;

// What Beast's serializer writes for the request the HTTP client used to build.
// The request as Beast writes it. A POST carries Content-Type; a GET, as Beast writes it, has
// no Content-Type and no Content-Length without a body.
std::string Beast(const std::string& target, const std::string& host, const Fields& headers,
                  const std::string& body, http::verb verb = http::verb::post) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "triage/" TRIAGE_VERSION);
  if (verb == http::verb::post) req.set(http::field::content_type, "application/json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.keep_alive(true);
  req.prepare_payload();
  std::ostringstream os;
  os << req;
  return os.str();
}

TEST(HttpWire, SameBytesAsBeast) {
  const Fields openai = {{"authorization", "Bearer sk-test"}, {"accept", "application/json"}};
  const Fields anthropic = {
      {"x-api-key", "k"}, {"anthropic-version", "2023-06-01"}, {"accept", "text/event-stream"}};
  const Fields overrides = {{"content-type", "application/json; charset=utf-8"},
                            {"USER-AGENT", "custom/1"},
                            {"x-a", "1"},
                            {"X-A", "2"}};
  const std::string body = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";
  for (const Fields* h : {&openai, &anthropic, &overrides}) {
    for (const std::string& b : {body, std::string()}) {
      EXPECT_EQ(SerializePost("/v1/chat/completions", "api.example.com", *h, b),
                Beast("/v1/chat/completions", "api.example.com", *h, b));
    }
  }
  EXPECT_EQ(SerializePost("/v1/messages?beta=true", "[::1]:8443", {}, body),
            Beast("/v1/messages?beta=true", "[::1]:8443", {}, body));
}

TEST(HttpWire, GetSameBytesAsBeast) {
  const Fields openai = {{"accept", "application/json"}, {"authorization", "Bearer sk-test"}};
  const Fields anthropic = {
      {"accept", "application/json"}, {"anthropic-version", "2023-06-01"}, {"x-api-key", "k"}};
  for (const Fields* h : {&openai, &anthropic}) {
    const std::string get = SerializeRequest("GET", "/v1/models", "127.0.0.1:8000", *h, "");
    EXPECT_EQ(get, Beast("/v1/models", "127.0.0.1:8000", *h, "", http::verb::get));
    EXPECT_EQ(get.find("Content-Length"), std::string::npos);
  }
  EXPECT_EQ(SerializeRequest("GET", "/health", "h", {}, "x"),
            Beast("/health", "h", {}, "x", http::verb::get));
  EXPECT_EQ(SerializeRequest("POST", "/v1/messages", "h", openai, "{}"),
            SerializePost("/v1/messages", "h", openai, "{}"));
}

TEST(HttpWire, HostCarriesTheNonDefaultPort) {
  auto host = [](std::string_view text) {
    auto u = ParseUrl(text);
    EXPECT_TRUE(u.ok()) << text;
    return HostField(*u);
  };
  EXPECT_EQ(host("https://api.openai.com/v1"), "api.openai.com");
  EXPECT_EQ(host("http://example.com"), "example.com");
  EXPECT_EQ(host("http://127.0.0.1:8000/v1"), "127.0.0.1:8000");
  EXPECT_EQ(host("https://example.com:8443"), "example.com:8443");
  EXPECT_EQ(host("http://example.com:443"), "example.com:443");  // 443 is not http's default
  EXPECT_EQ(host("http://[::1]:11434"), "[::1]:11434");
  EXPECT_EQ(host("https://[2001:db8::1]/v1"), "[2001:db8::1]");
}

}  // namespace
}  // namespace triage::upstream
