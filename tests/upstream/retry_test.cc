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
  // A reset time in the past means "now".
  EXPECT_EQ(ParseServerWait("anthropic-ratelimit-tokens-reset", "2023-11-14T22:00:00Z", now),
            Millis(0));
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

}  // namespace
}  // namespace triage::upstream
