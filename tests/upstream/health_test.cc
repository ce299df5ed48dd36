#include "upstream/health.h"

#include <gtest/gtest.h>

namespace triage::upstream {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

BreakerPolicy Policy() {
  BreakerPolicy p;
  p.consecutive_failures = 3;
  p.error_rate = 0.5;
  p.min_requests = 10;
  p.window = milliseconds(10000);
  p.open_for = milliseconds(1000);
  return p;
}

TEST(Breaker, OpensAfterConsecutiveFailuresAndRejects) {
  DeploymentHealth h("d", 1, Policy());
  std::vector<std::pair<BreakerState, BreakerState>> seen;
  h.on_transition = [&](const std::string&, BreakerState a, BreakerState b) {
    seen.emplace_back(a, b);
  };
  auto t = Clock::now();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(DeploymentHealth::Admission::kAdmitted, h.Admit(t));
    h.End(false, microseconds(100), t);
  }
  EXPECT_EQ(h.state(t), BreakerState::kOpen);
  EXPECT_EQ(DeploymentHealth::Admission::kBreakerOpen, h.Admit(t + milliseconds(10)));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].second, BreakerState::kOpen);
}

TEST(Breaker, HalfOpenAdmitsOneProbeThenClosesOnSuccess) {
  DeploymentHealth h("d", 1, Policy());
  auto t = Clock::now();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(DeploymentHealth::Admission::kAdmitted, h.Admit(t));
    h.End(false, microseconds(100), t);
  }
  auto later = t + milliseconds(1500);
  EXPECT_EQ(h.state(later), BreakerState::kHalfOpen);
  ASSERT_EQ(DeploymentHealth::Admission::kAdmitted, h.Admit(later));
  EXPECT_EQ(DeploymentHealth::Admission::kBreakerOpen, h.Admit(later));  // only one probe at a time
  h.End(true, microseconds(100), later);
  EXPECT_EQ(h.state(later), BreakerState::kClosed);
  EXPECT_EQ(DeploymentHealth::Admission::kAdmitted, h.Admit(later));
}

TEST(Breaker, FailedProbeReopens) {
  DeploymentHealth h("d", 1, Policy());
  auto t = Clock::now();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(DeploymentHealth::Admission::kAdmitted, h.Admit(t));
    h.End(false, microseconds(100), t);
  }
  auto later = t + milliseconds(1500);
  ASSERT_EQ(DeploymentHealth::Admission::kAdmitted, h.Admit(later));
  h.End(false, microseconds(100), later);
  EXPECT_EQ(h.state(later), BreakerState::kOpen);
  EXPECT_EQ(DeploymentHealth::Admission::kBreakerOpen, h.Admit(later + milliseconds(500)));
}

TEST(Breaker, ErrorRateOverWindowOpens) {
  DeploymentHealth h("d", 1, Policy());
  auto t = Clock::now();
  // Alternate ok/fail: never 3 failures in a row, but 50% errors over >= 10 requests.
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(DeploymentHealth::Admission::kAdmitted, h.Admit(t));
    h.End(i % 2 == 0, microseconds(100), t);
  }
  EXPECT_EQ(h.state(t), BreakerState::kOpen);
}

TEST(Breaker, SuccessResetsConsecutiveCount) {
  DeploymentHealth h("d", 1, Policy());
  auto t = Clock::now();
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(DeploymentHealth::Admission::kAdmitted, h.Admit(t));
    h.End(i % 3 == 2, microseconds(100), t);  // fail, fail, ok, ...
  }
  EXPECT_EQ(h.state(t), BreakerState::kClosed);
}

TEST(Capacity, CapRefusesAndQueueIsBounded) {
  DeploymentHealth h("d", 1, Policy());
  auto t = Clock::now();
  EXPECT_EQ(h.Admit(t, 2), DeploymentHealth::Admission::kAdmitted);
  EXPECT_EQ(h.Admit(t, 2), DeploymentHealth::Admission::kAdmitted);
  EXPECT_EQ(h.Admit(t, 2), DeploymentHealth::Admission::kFull);
  EXPECT_EQ(h.in_flight(), 2);
  EXPECT_TRUE(h.TryEnqueue(1));
  EXPECT_FALSE(h.TryEnqueue(1));
  h.Dequeue();
  h.End(DeploymentHealth::Outcome::kSuccess, microseconds(10), t);
  EXPECT_EQ(h.Admit(t, 2), DeploymentHealth::Admission::kAdmitted);
}

TEST(Breaker, NeutralOutcomeGivesNoVerdict) {
  DeploymentHealth h("d", 1, Policy());
  auto t = Clock::now();
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(DeploymentHealth::Admission::kAdmitted, h.Admit(t));
    h.End(DeploymentHealth::Outcome::kNeutral, microseconds(10), t);
  }
  EXPECT_EQ(h.state(t), BreakerState::kClosed);
  EXPECT_EQ(h.in_flight(), 0);
}

TEST(Balance, PrefersLessLoadedAndFaster) {
  DeploymentHealth fast("fast", 1, Policy()), slow("slow", 1, Policy());
  auto t = Clock::now();
  ASSERT_EQ(DeploymentHealth::Admission::kAdmitted, fast.Admit(t));
  fast.End(true, microseconds(2000), t);
  ASSERT_EQ(DeploymentHealth::Admission::kAdmitted, slow.Admit(t));
  slow.End(true, microseconds(50000), t);
  for (uint64_t r = 0; r < 16; ++r) {
    auto order = BalanceOrder({&slow, &fast}, r * 0x9E3779B97F4A7C15ULL);
    EXPECT_EQ(order[0], 1u);
  }
  EXPECT_EQ(fast.in_flight(), 0);
}

TEST(Balance, WeightsShiftTraffic) {
  DeploymentHealth a("a", 1, Policy()), b("b", 4, Policy());
  auto order = BalanceOrder({&a, &b}, 12345);
  EXPECT_EQ(order[0], 1u);  // equal load and latency: the heavier weight wins
}

TEST(Balance, ReturnsEveryCandidateOnce) {
  DeploymentHealth a("a", 1, Policy()), b("b", 1, Policy()), c("c", 1, Policy());
  auto order = BalanceOrder({&a, &b, &c}, 7);
  std::sort(order.begin(), order.end());
  EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2}));
}

}  // namespace
}  // namespace triage::upstream
