#include "upstream/url.h"

#include <gtest/gtest.h>

#include "upstream/provider.h"

namespace triage::upstream {
namespace {

TEST(ParseUrl, HttpWithPortAndPath) {
  auto u = ParseUrl("http://127.0.0.1:11434/v1/");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, "11434");
  EXPECT_EQ(u->path, "/v1");  // trailing slash dropped
}

TEST(ParseUrl, HttpsDefaultsPort443) {
  auto u = ParseUrl("https://api.example.com/v1");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->path, "/v1");
}

TEST(ParseUrl, HttpDefaultsPort80AndEmptyPath) {
  auto u = ParseUrl("http://example.com");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(u->path, "");
}

TEST(ParseUrl, Ipv6) {
  auto u = ParseUrl("http://[::1]:9000/v1");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "9000");
}

TEST(ParseUrl, RejectsBadInput) {
  for (const char* bad : {"ftp://x", "http://", "http://host:0", "http://host:70000",
                          "http://host:12ab", "http://[::1", "example.com"}) {
    auto u = ParseUrl(bad);
    EXPECT_FALSE(u.ok()) << bad;
    if (!u.ok()) {
      EXPECT_NE(u.error().message.find("invalid URL"), std::string::npos);
    }
  }
}

// OpenAI's own API (and Azure OpenAI) take at most 4 stop sequences; other OpenAI-compatible
// servers have no known limit.
TEST(OpenAIHostMaxStop, OpenAIApiHostsOnly) {
  for (const char* h :
       {"api.openai.com", "API.OpenAI.com", "api.openai.com.", "x.openai.azure.com"})
    EXPECT_EQ(OpenAIHostMaxStop(h), 4u) << h;
  for (const char* h : {"127.0.0.1", "localhost", "api.deepseek.com", "openai.com",
                        "api.openai.com.evil.io", "openai.azure.com.evil.io", "api.groq.com"})
    EXPECT_EQ(OpenAIHostMaxStop(h), 0u) << h;
}

}  // namespace
}  // namespace triage::upstream
