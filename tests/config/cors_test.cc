// server.cors: parsing, defaults and every validation rule, each message naming the key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "test_util.h"

namespace triage::config {
namespace {

using ::testing::HasSubstr;
using testing::kBase;
using testing::Problems;

std::string WithCors(const std::string& cors) {
  return std::string(kBase) + "server:\n  cors:\n" + cors;
}

std::shared_ptr<const Config> Load(const std::string& yaml) {
  auto r = LoadString(yaml);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : nullptr;
}

TEST(Cors, OffByDefault) {
  auto c = Load(kBase);
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->cors.enabled());
  EXPECT_TRUE(c->cors.allow_origins.empty());
  EXPECT_EQ(c->cors.max_age_seconds, 600);
}

TEST(Cors, Parsed) {
  auto c =
      Load(WithCors("    allow_origins: [\"https://app.example.com\", \"http://localhost:5173\", "
                    "\"http://[::1]:3000\", \"chrome-extension://abcdef\"]\n"
                    "    allow_headers: [X-Tenant, x-custom]\n"
                    "    max_age_seconds: 7200\n"));
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->cors.enabled());
  EXPECT_EQ(c->cors.allow_origins,
            (std::vector<std::string>{"https://app.example.com", "http://localhost:5173",
                                      "http://[::1]:3000", "chrome-extension://abcdef"}));
  EXPECT_EQ(c->cors.allow_headers, (std::vector<std::string>{"x-tenant", "x-custom"}));
  EXPECT_EQ(c->cors.max_age_seconds, 7200);
}

TEST(Cors, WildcardAndEmpty) {
  auto any = Load(WithCors("    allow_origins: [\"*\"]\n    allow_headers: [\"*\"]\n"));
  ASSERT_NE(any, nullptr);
  EXPECT_EQ(any->cors.allow_origins, std::vector<std::string>{"*"});
  EXPECT_EQ(any->cors.allow_headers, std::vector<std::string>{"*"});
  auto off = Load(WithCors("    allow_origins: []\n"));
  ASSERT_NE(off, nullptr);
  EXPECT_FALSE(off->cors.enabled());
}

TEST(Cors, BadTypes) {
  EXPECT_THAT(Problems(std::string(kBase) + "server: {cors: yes}\n"),
              HasSubstr("server.cors: expected a map"));
  EXPECT_THAT(Problems(WithCors("    allow_origins: https://app.example.com\n")),
              HasSubstr("server.cors.allow_origins: expected a list of strings"));
  EXPECT_THAT(Problems(WithCors("    allow_origins: [[https://a.example]]\n")),
              HasSubstr("server.cors.allow_origins[0]: expected a string"));
  EXPECT_THAT(Problems(WithCors("    allow_origins: [\"*\"]\n    allow_headers: x-a\n")),
              HasSubstr("server.cors.allow_headers: expected a list of strings"));
  EXPECT_THAT(Problems(WithCors("    allow_origins: [\"*\"]\n    max_age_seconds: 1.5\n")),
              HasSubstr("server.cors.max_age_seconds: expected an integer"));
  EXPECT_THAT(Problems(WithCors("    allow_origins: [\"*\"]\n    max_age_seconds: -1\n")),
              HasSubstr("server.cors.max_age_seconds: must be in [0, 86400]"));
  EXPECT_THAT(Problems(WithCors("    allow_origins: [\"*\"]\n    max_age_seconds: 86401\n")),
              HasSubstr("server.cors.max_age_seconds: must be in [0, 86400]"));
}

TEST(Cors, UnknownKeyAndMissingOrigins) {
  EXPECT_THAT(Problems(WithCors("    allow_origin: [\"*\"]\n")),
              HasSubstr("server.cors.allow_origin: unknown key (did you mean 'allow_origins'?)"));
  EXPECT_THAT(Problems(WithCors("    max_age_seconds: 60\n")),
              HasSubstr("server.cors.allow_origins: required when server.cors is present"));
}

// Each message says what is wrong with the entry, which never equals a browser's Origin.
TEST(Cors, BadOrigins) {
  const std::pair<const char*, const char*> cases[] = {
      {"app.example.com", "missing scheme"},
      {"//app.example.com", "missing scheme"},
      {"https://app.example.com/", "must not end with '/'"},
      {"https://app.example.com/chat", "must not have a path"},
      {"https://App.Example.com", "must be lowercase"},
      {"HTTPS://app.example.com", "must be lowercase"},
      {"https://*.example.com", "wildcards are not supported"},
      {"https://", "missing host"},
      {"https://app.example.com:", "empty port"},
      {"https://app.example.com:99999", "invalid port"},
      {"https://app.example.com:8a", "invalid port"},
      {"https://app.example.com:443", "the default port 443 is never in a browser's Origin"},
      {"http://app.example.com:80", "the default port 80"},
      {"https://user@app.example.com", "must not contain '@'"},
      {"https://app.example.com?x=1", "must not contain '?'"},
      {"https://[::1", "unclosed '['"},
      {"null", "'null' is refused"},
      {"https://app example.com", "must not contain spaces"},
      {"https://b\u00fccher.example", "must be ASCII"},  // UTF-8, not punycode
      {"", "missing scheme"},
  };
  for (const auto& [origin, why] : cases) {
    const std::string text = Problems(
        WithCors("    allow_origins: [\"https://ok.example\", \"" + std::string(origin) + "\"]\n"));
    EXPECT_THAT(text,
                HasSubstr("server.cors.allow_origins[1]: '" + std::string(origin) + "': " + why))
        << origin;
  }
}

TEST(Cors, WildcardMixedOrDuplicate) {
  EXPECT_THAT(Problems(WithCors("    allow_origins: [\"*\", \"https://a.example\"]\n")),
              HasSubstr("server.cors.allow_origins: '*' allows every origin: give it alone"));
  EXPECT_THAT(
      Problems(WithCors("    allow_origins: [\"https://a.example\", \"https://a.example\"]\n")),
      HasSubstr("server.cors.allow_origins[1]: 'https://a.example' is listed twice"));
}

TEST(Cors, BadHeaderNames) {
  EXPECT_THAT(Problems(WithCors(
                  "    allow_origins: [\"*\"]\n    allow_headers: [\"x-ok\", \"bad name\"]\n")),
              HasSubstr("server.cors.allow_headers[1]: 'bad name' is not a header name"));
  EXPECT_THAT(Problems(WithCors("    allow_origins: [\"*\"]\n    allow_headers: [\"x-*\"]\n")),
              HasSubstr("server.cors.allow_headers[0]: 'x-*' is not a header name"));
  EXPECT_THAT(Problems(WithCors("    allow_origins: [\"*\"]\n    allow_headers: [\"\"]\n")),
              HasSubstr("server.cors.allow_headers[0]: '' is not a header name"));
  EXPECT_THAT(Problems(WithCors("    allow_origins: [\"*\"]\n    allow_headers: [\"*\", x-a]\n")),
              HasSubstr("server.cors.allow_headers: '*' allows every requested header"));
}

}  // namespace
}  // namespace triage::config
