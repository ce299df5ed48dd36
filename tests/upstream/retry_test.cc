#include "upstream/retry.h"

#include <gtest/gtest.h>

namespace triage::upstream {
namespace {

using std::chrono::system_clock;

TEST(Backoff, FullJitterWithinExponentialCap) {
  RetryPolicy p;
  p.backoff_base = Millis(100);
  p.backoff_max = Millis(1000);
  for (uint64_t r = 0; r < 1000; r += 37) {
    EXPECT_LE(Backoff(0, p, r).count(), 100);
    EXPECT_LE(Backoff(2, p, r).count(), 400);
    EXPECT_LE(Backoff(10, p, r).count(), 1000);
  }
  EXPECT_EQ(Backoff(3, p, 800).count(), 800);  // 800 % 801
}

TEST(ServerWait, RetryAfterSecondsAndDate) {
  auto now = system_clock::from_time_t(1700000000);  // Tue, 14 Nov 2023 22:13:20 GMT
  EXPECT_EQ(ParseServerWait("retry-after", "3", now), Millis(3000));
  EXPECT_EQ(ParseServerWait("retry-after", "Tue, 14 Nov 2023 22:13:25 GMT", now), Millis(5000));
  EXPECT_EQ(ParseServerWait("retry-after-ms", "250", now), Millis(250));
  EXPECT_FALSE(ParseServerWait("retry-after", "soon", now).has_value());
  EXPECT_FALSE(ParseServerWait("retry-after", "", now).has_value());
  EXPECT_FALSE(ParseServerWait("retry-after", "-1", now).has_value());
}

TEST(ServerWait, OpenAIResetDurations) {
  auto now = system_clock::now();
  EXPECT_EQ(ParseServerWait("x-ratelimit-reset-requests", "1s", now), Millis(1000));
  EXPECT_EQ(ParseServerWait("x-ratelimit-reset-tokens", "6m0s", now), Millis(360000));
  EXPECT_EQ(ParseServerWait("x-ratelimit-reset-tokens", "20ms", now), Millis(20));
  EXPECT_EQ(ParseServerWait("x-ratelimit-reset-tokens", "1.5s", now), Millis(1500));
  EXPECT_FALSE(ParseServerWait("x-ratelimit-reset-tokens", "1x", now).has_value());
}

TEST(ServerWait, AnthropicResetTimestamp) {
  auto now = system_clock::from_time_t(1700000000);
  EXPECT_EQ(ParseServerWait("anthropic-ratelimit-requests-reset", "2023-11-14T22:13:22Z", now),
            Millis(2000));
  // Other offsets than Z, and fractions of a second (rounded up: never wait less than asked).
  EXPECT_EQ(ParseServerWait("anthropic-ratelimit-requests-reset", "2023-11-15T00:13:22+02:00", now),
            Millis(2000));
  EXPECT_EQ(ParseServerWait("anthropic-ratelimit-requests-reset", "2023-11-14T21:13:22-01:00", now),
            Millis(2000));
  EXPECT_EQ(ParseServerWait("anthropic-ratelimit-requests-reset", "2023-11-14T22:13:21.250Z", now),
            Millis(2000));
  // A reset time in the past means "now".
  EXPECT_EQ(ParseServerWait("anthropic-ratelimit-tokens-reset", "2023-11-14T22:00:00Z", now),
            Millis(0));
}

// Regression: a huge Retry-After (or reset header) overflowed the int64 milliseconds to a negative
// wait, so the deployment that asked to be left alone was retried at once instead of skipped.
TEST(ServerWait, AbsurdValuesSaturateInsteadOfOverflowing) {
  auto now = system_clock::from_time_t(1700000000);
  const Millis day(24 * 3600 * 1000);
  const std::pair<const char*, const char*> cases[] = {
      {"retry-after", "1e20"},
      {"retry-after", "99999999999999999999"},
      {"retry-after-ms", "1e19"},
      {"retry-after-ms", "18446744073709551616"},
      {"x-ratelimit-reset-requests", "99999999999999h"},
      {"x-ratelimit-reset-tokens", "99999999999999999999999s"},
      {"anthropic-ratelimit-requests-reset", "9999-12-31T23:59:59Z"},
  };
  for (const auto& [name, value] : cases) {
    auto w = ParseServerWait(name, value, now);
    ASSERT_TRUE(w.has_value()) << name << ": " << value;
    EXPECT_GT(*w, day) << name << ": " << value;
  }
  EXPECT_FALSE(ParseServerWait("retry-after", "inf", now).has_value());
  EXPECT_FALSE(ParseServerWait("retry-after", "nan", now).has_value());
  EXPECT_FALSE(ParseServerWait("retry-after-ms", "-5", now).has_value());
}

TEST(RetryBudget, CapsRetriesAtShareOfTraffic) {
  RetryPolicy p;
  p.budget_ratio = 0.2;
  p.budget_min_tokens = 2;
  RetryBudget b(p);
  // The initial burst allowance.
  EXPECT_TRUE(b.TryRetry());
  EXPECT_TRUE(b.TryRetry());
  EXPECT_FALSE(b.TryRetry());
  // 100 requests earn 20 retries at most, but the bucket holds only 2.
  int allowed = 0;
  for (int i = 0; i < 100; ++i) {
    b.OnRequest();
    if (b.TryRetry()) ++allowed;
  }
  EXPECT_GE(allowed, 19);
  EXPECT_LE(allowed, 20);
}

// Regression: budget_min 0 (no burst) also made the bucket's cap 0, so requests never earned a
// retry and budget_ratio was silently ignored.
TEST(RetryBudget, EarnsRetriesWithoutABurstAllowance) {
  RetryPolicy p;
  p.budget_ratio = 0.5;
  p.budget_min_tokens = 0;
  RetryBudget b(p);
  EXPECT_FALSE(b.TryRetry());  // no burst: the first retry must be earned
  b.OnRequest();
  b.OnRequest();
  EXPECT_TRUE(b.TryRetry());
  EXPECT_FALSE(b.TryRetry());
}

}  // namespace
}  // namespace triage::upstream
