#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"

namespace triage::config {
namespace {

using ::testing::HasSubstr;

std::pair<std::string, uint16_t> Parse(const std::string& s) {
  auto r = ParseHostPort(s, "--listen");
  EXPECT_TRUE(r.ok()) << s << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : std::pair<std::string, uint16_t>{"FAILED", 0};
}

TEST(ParseHostPort, Accepts) {
  EXPECT_EQ(Parse("127.0.0.1:8080"), (std::pair<std::string, uint16_t>{"127.0.0.1", 8080}));
  EXPECT_EQ(Parse("localhost:0"), (std::pair<std::string, uint16_t>{"localhost", 0}));
  EXPECT_EQ(Parse("[::1]:9000"), (std::pair<std::string, uint16_t>{"::1", 9000}));
  EXPECT_EQ(Parse("[::]:65535"), (std::pair<std::string, uint16_t>{"::", 65535}));
  // Empty host = every IPv4 interface.
  EXPECT_EQ(Parse(":8080"), (std::pair<std::string, uint16_t>{"0.0.0.0", 8080}));
  EXPECT_EQ(Parse("0.0.0.0:1"), (std::pair<std::string, uint16_t>{"0.0.0.0", 1}));
  EXPECT_EQ(Parse("[fe80::1%lo]:80"), (std::pair<std::string, uint16_t>{"fe80::1%lo", 80}));
}

// Regression: a host name passed `triage check` ("config OK") and then failed `serve` with exit 1
// ("'myhost' is not an IP address"); the listener binds addresses and resolves no names.
TEST(ParseHostPort, HostMustBeAnAddress) {
  for (std::string bad : {"myhost:8080", "999.1.1.1:80", "1.2.3:80", "example.com:443",
                          "[1.2.3.4]:80", "[myhost]:80", "[::g]:80"}) {
    auto r = ParseHostPort(bad, "listen");
    ASSERT_FALSE(r.ok()) << "accepted '" << bad << "'";
    EXPECT_THAT(r.error().message, HasSubstr("listen: host '")) << bad;
    EXPECT_THAT(r.error().message, HasSubstr("is not an IP address or localhost")) << bad;
  }
}

TEST(ParseHostPort, RejectsAndNamesWhat) {
  for (std::string bad :
       {"", "localhost", "localhost:", "host:65536", "host:-1", "host:80a", "host:123456",
        "::1:8080", "[::1]8080", "[::1", "[]:80", "a b:80", "host:+80"}) {
    auto r = ParseHostPort(bad, "--listen");
    ASSERT_FALSE(r.ok()) << "accepted '" << bad << "'";
    EXPECT_THAT(r.error().message, HasSubstr("--listen: ")) << bad;
  }
}

}  // namespace
}  // namespace triage::config
