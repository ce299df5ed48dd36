#include "upstream/health.h"

#include <gtest/gtest.h>

#include <barrier>
#include <thread>

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

TEST(CoolDown, RefusesUntilItsDeadlineWhichOnlyALaterOneMoves) {
  using Admission = DeploymentHealth::Admission;
  DeploymentHealth h("d", 1, Policy());
  auto t = Clock::now();
  EXPECT_EQ(h.cooldown_left(t).count(), 0);
  h.CoolDown(t + milliseconds(2000), 429);
  EXPECT_EQ(Admission::kCoolingDown, h.Admit(t));
  EXPECT_EQ(h.in_flight(), 0);  // a refusal holds no slot
  EXPECT_EQ(h.cooldown_left(t), milliseconds(2000));
  EXPECT_EQ(h.cooldown_status(), 429);
  h.CoolDown(t + milliseconds(500), 503);  // an earlier deadline does not shorten it
  EXPECT_EQ(h.cooldown_left(t), milliseconds(2000));
  EXPECT_EQ(h.cooldown_status(), 429);
  h.CoolDown(t + milliseconds(3000), 529);
  EXPECT_EQ(h.cooldown_status(), 529);
  EXPECT_EQ(Admission::kCoolingDown, h.Admit(t + milliseconds(2999)));
  EXPECT_EQ(h.Snapshot(t + milliseconds(1000))["cooldown_ms"], 2000);
  EXPECT_EQ(h.state(t), BreakerState::kClosed);  // no verdict on its health
  EXPECT_EQ(Admission::kAdmitted, h.Admit(t + milliseconds(3000)));
  h.End(true, microseconds(100), t + milliseconds(3001));
  EXPECT_EQ(h.Snapshot(t + milliseconds(3001))["cooldown_ms"], 0);
}

// Regression: CoolDown moved the deadline and stored the status in two steps, so two upstream
// answers at once could leave the later deadline with the earlier answer's status. A race: on the
// old code this failed in about half of the runs of 500,000 rounds, here fewer to stay quick.
TEST(CoolDown, TheLatestDeadlineKeepsItsOwnStatusUnderConcurrentCalls) {
  DeploymentHealth h("d", 1, Policy());
  const auto base = Clock::now();
  constexpr int kRounds = 200000;
  std::barrier sync(2);
  int wrong = 0;
  std::thread other([&] {
    for (int r = 0; r < kRounds; ++r) {
      sync.arrive_and_wait();
      h.CoolDown(base + Clock::duration(4 * r + 2), 503);  // the later deadline of the round
      sync.arrive_and_wait();
    }
  });
  for (int r = 0; r < kRounds; ++r) {
    sync.arrive_and_wait();
    h.CoolDown(base + Clock::duration(4 * r + 1), 429);
    sync.arrive_and_wait();
    if (h.cooldown_status() != 503) ++wrong;
  }
  other.join();
  EXPECT_EQ(wrong, 0);
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

// Regression: an attempt admitted while the circuit was still closed that ended during half-open
// (a slow answer, or its client gone: no verdict) gave back a probe's place it never had, so a
// second probe went in beside the one in flight (half_open_probes: 1).
TEST(Breaker, AnAttemptFromBeforeTheCircuitOpenedIsNoProbe) {
  DeploymentHealth h("d", 1, Policy());
  auto t = Clock::now();
  using A = DeploymentHealth::Admission;
  ASSERT_EQ(A::kAdmitted, h.Admit(t));  // two slow ones, still in flight when the circuit opens
  ASSERT_EQ(A::kAdmitted, h.Admit(t));
  const auto old_start = t;
  auto t1 = t + milliseconds(10);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(A::kAdmitted, h.Admit(t1));
    h.End(DeploymentHealth::Outcome::kFailure, microseconds(100), t1, t1);
  }
  ASSERT_EQ(h.state(t1), BreakerState::kOpen);
  auto later = t1 + milliseconds(1500);
  ASSERT_EQ(A::kAdmitted, h.Admit(later));  // the probe
  h.End(DeploymentHealth::Outcome::kNeutral, microseconds(100), later, old_start);
  EXPECT_EQ(A::kBreakerOpen, h.Admit(later));  // still one probe in flight
  h.End(DeploymentHealth::Outcome::kSuccess, microseconds(100), later, old_start);
  EXPECT_EQ(h.state(later), BreakerState::kHalfOpen);  // only the probe decides
  h.End(DeploymentHealth::Outcome::kSuccess, microseconds(100), later, later);
  EXPECT_EQ(h.state(later), BreakerState::kClosed);
  EXPECT_EQ(h.in_flight(), 0);
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
  const uint64_t ticket = h.TryEnqueue(1);
  EXPECT_NE(ticket, 0u);
  EXPECT_EQ(h.TryEnqueue(1), 0u);
  h.Dequeue(ticket);
  h.End(DeploymentHealth::Outcome::kSuccess, microseconds(10), t);
  EXPECT_EQ(h.Admit(t, 2), DeploymentHealth::Admission::kAdmitted);
}

// Regression: queued requests polled for a free slot and whichever looked first took it, and a
// request arriving just then took it before all of them: the queue was served in no order, and
// the first to queue could wait out its queue_timeout_ms while later ones were served.
TEST(Capacity, QueueIsServedInArrivalOrder) {
  DeploymentHealth h("d", 1, Policy());
  auto t = Clock::now();
  using A = DeploymentHealth::Admission;
  ASSERT_EQ(h.Admit(t, 1), A::kAdmitted);
  const uint64_t first = h.TryEnqueue(3), second = h.TryEnqueue(3);
  ASSERT_NE(first, 0u);
  ASSERT_NE(second, 0u);
  EXPECT_EQ(h.queued(), 2);
  h.End(DeploymentHealth::Outcome::kSuccess, microseconds(10), t);
  // The slot is free, but it is the first waiter's: neither the second nor a newcomer takes it.
  EXPECT_EQ(h.Admit(t, 1, second), A::kFull);
  EXPECT_EQ(h.Admit(t, 1), A::kFull);
  EXPECT_EQ(h.Admit(t, 1, first), A::kAdmitted);
  h.Dequeue(first);
  h.End(DeploymentHealth::Outcome::kSuccess, microseconds(10), t);
  EXPECT_EQ(h.Admit(t, 1), A::kFull);
  EXPECT_EQ(h.Admit(t, 1, second), A::kAdmitted);
  h.Dequeue(second);
  EXPECT_EQ(h.queued(), 0);
  h.End(DeploymentHealth::Outcome::kSuccess, microseconds(10), t);
  EXPECT_EQ(h.Admit(t, 1), A::kAdmitted);  // nobody waits: a newcomer is served at once
}

// A waiter that gives up (timeout, client gone) leaves its place to the next one.
TEST(Capacity, AWaiterThatLeavesHandsItsTurnOn) {
  DeploymentHealth h("d", 1, Policy());
  auto t = Clock::now();
  using A = DeploymentHealth::Admission;
  ASSERT_EQ(h.Admit(t, 2), A::kAdmitted);
  ASSERT_EQ(h.Admit(t, 2), A::kAdmitted);
  const uint64_t first = h.TryEnqueue(3), second = h.TryEnqueue(3);
  h.End(DeploymentHealth::Outcome::kSuccess, microseconds(10), t);
  EXPECT_EQ(h.Admit(t, 2, second), A::kFull);
  h.Dequeue(first);
  EXPECT_EQ(h.Admit(t, 2, second), A::kAdmitted);
  h.Dequeue(second);
}

// Queued requests used to poll Admit every 2 ms; now the health wakes the first waiter when
// a slot frees (an attempt ends, a breaker refusal gives its slot back, the waiter ahead leaves),
// and nobody else.
TEST(Capacity, FreedSlotWakesTheFirstWaiterOnly) {
  DeploymentHealth h("d", 1, Policy());
  auto t = Clock::now();
  using A = DeploymentHealth::Admission;
  int woke_first = 0, woke_second = 0;
  ASSERT_EQ(h.Admit(t, 2), A::kAdmitted);
  ASSERT_EQ(h.Admit(t, 2), A::kAdmitted);
  h.End(DeploymentHealth::Outcome::kSuccess, microseconds(10), t);  // nobody waits: no wake
  ASSERT_EQ(h.Admit(t, 2), A::kAdmitted);
  const uint64_t first = h.TryEnqueue(3, [&] { ++woke_first; });
  const uint64_t second = h.TryEnqueue(3, [&] { ++woke_second; });
  EXPECT_EQ(woke_first + woke_second, 0);
  h.End(DeploymentHealth::Outcome::kFailure, microseconds(10), t);
  EXPECT_EQ(woke_first, 1);
  EXPECT_EQ(woke_second, 0);
  EXPECT_EQ(h.Admit(t, 2, first), A::kAdmitted);
  h.Dequeue(first);  // the next in line is woken: there may be another free slot
  EXPECT_EQ(woke_second, 1);
  EXPECT_EQ(h.Admit(t, 2, second), A::kFull);  // there is not: the wake was spurious
  h.End(DeploymentHealth::Outcome::kNeutral, microseconds(10), t);
  EXPECT_EQ(woke_second, 2);
  EXPECT_EQ(h.Admit(t, 2, second), A::kAdmitted);
  h.Dequeue(second);
  EXPECT_EQ(woke_first, 1);
  h.End(DeploymentHealth::Outcome::kSuccess, microseconds(10), t);
  h.End(DeploymentHealth::Outcome::kSuccess, microseconds(10), t);
  EXPECT_EQ(woke_first + woke_second, 3);  // an empty queue wakes nobody
  EXPECT_EQ(h.in_flight(), 0);
}

// A waiter that leaves from the middle of the queue wakes nobody; one that leaves from the front
// wakes the next (its turn has come).
TEST(Capacity, OnlyTheFrontLeavingWakesTheNext) {
  DeploymentHealth h("d", 1, Policy());
  auto t = Clock::now();
  using A = DeploymentHealth::Admission;
  std::vector<int> woke(3);
  ASSERT_EQ(h.Admit(t, 1), A::kAdmitted);
  uint64_t tickets[3];
  for (int i = 0; i < 3; ++i) tickets[i] = h.TryEnqueue(3, [&woke, i] { ++woke[i]; });
  h.Dequeue(tickets[1]);
  EXPECT_EQ(woke, (std::vector<int>{0, 0, 0}));
  h.Dequeue(tickets[0]);
  EXPECT_EQ(woke, (std::vector<int>{0, 0, 1}));
  h.Dequeue(tickets[2]);
  h.End(DeploymentHealth::Outcome::kSuccess, microseconds(10), t);
  EXPECT_EQ(woke, (std::vector<int>{0, 0, 1}));
}

// Regression: every 429 with a Retry-After cooled the deployment down for all requests, so an
// upstream that refused 4% of requests (a large one over a token limit, an odd 429) had the
// gateway refuse nearly all of them (bench/load/run.sh: 0.2% success). A cool-down now needs
// such refusals to be at least min_share of the deployment's last 20 answers (within 10 s).
TEST(CoolDown, StartsOnlyWhenRefusalsAreAShareOfTheAnswers) {
  using A = DeploymentHealth::Admission;
  const auto t = Clock::time_point{} + std::chrono::hours(1000);
  const auto wait = std::chrono::seconds(1);
  BreakerPolicy lenient = Policy();  // the breaker stays out of it
  lenient.consecutive_failures = 1000;
  lenient.min_requests = 1000;
  auto answer = [](DeploymentHealth& h, Clock::time_point now, bool ok) {
    ASSERT_EQ(h.Admit(now), A::kAdmitted);
    h.End(ok ? DeploymentHealth::Outcome::kSuccess : DeploymentHealth::Outcome::kFailure,
          microseconds(10), now);
  };
  {
    // A quiet deployment's single refusal starts it (the share is 1).
    DeploymentHealth h("d", 1, lenient);
    answer(h, t, false);
    EXPECT_TRUE(h.RefusedWithWait(t, t + wait, 429, 0.5));
    EXPECT_EQ(h.Admit(t), A::kCoolingDown);
  }
  {
    // One refusal among 24 answers: no cool-down, the deployment keeps serving.
    DeploymentHealth h("d", 1, lenient);
    for (int i = 0; i < 23; ++i) answer(h, t, true);
    answer(h, t, false);
    EXPECT_FALSE(h.RefusedWithWait(t, t + wait, 429, 0.5));
    EXPECT_EQ(h.cooldown_left(t).count(), 0);
    ASSERT_EQ(h.Admit(t), A::kAdmitted);
    h.End(DeploymentHealth::Outcome::kSuccess, microseconds(10), t);
    // min_share 0: every stated wait starts it (the behaviour before).
    answer(h, t, false);
    EXPECT_TRUE(h.RefusedWithWait(t, t + wait, 429, 0.0));
    EXPECT_EQ(h.Admit(t), A::kCoolingDown);
  }
  {
    // An upstream that starts refusing everything: refusals overtake the earlier answers of
    // the last second or two, and the cool-down starts.
    DeploymentHealth h("d", 1, lenient);
    for (int i = 0; i < 10; ++i) answer(h, t, true);
    int refusals = 0;
    bool started = false;
    while (!started && refusals < 100) {
      answer(h, t, false);
      ++refusals;
      started = h.RefusedWithWait(t, t + wait, 429, 0.5);
    }
    EXPECT_TRUE(started);
    EXPECT_EQ(refusals, 10);
    // Answers older than kRecentWindow do not count: a quiet deployment's refusal, long after
    // them, is the whole share.
    const auto later = t + DeploymentHealth::kRecentWindow + std::chrono::seconds(1);
    answer(h, later, false);
    EXPECT_TRUE(h.RefusedWithWait(later, later + wait, 429, 0.5));
  }
  {
    // The silence of a cool-down is no evidence: answers are counted, not seconds. (A share
    // over the last second or two made the first odd refusal after a cool-down the whole
    // share, and one cool-down followed another: bench/load/run.sh at 37% success.)
    DeploymentHealth h("d", 1, lenient);
    for (int i = 0; i < 19; ++i) answer(h, t, true);
    const auto after = t + std::chrono::milliseconds(1500);
    answer(h, after, false);
    EXPECT_FALSE(h.RefusedWithWait(after, after + wait, 429, 0.5));
    EXPECT_EQ(h.cooldown_left(after).count(), 0);
  }
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

// Active health checks: the state machine behind health_checks.

using Admission = DeploymentHealth::Admission;

struct CheckLog {
  std::vector<std::pair<CheckState, CheckState>> transitions;
  void Attach(DeploymentHealth& h) {
    h.on_check_transition = [this](const std::string&, CheckState from, CheckState to, int,
                                   const std::string&) { transitions.emplace_back(from, to); };
  }
};

TEST(HealthCheck, OffUntilEnabledAndResultsIgnoredWhileOff) {
  DeploymentHealth h("d", 1, Policy());
  auto t = Clock::now();
  EXPECT_EQ(h.check_state(), CheckState::kOff);
  for (int i = 0; i < 5; ++i) h.RecordCheck(false, 503, "HTTP 503", t);
  EXPECT_EQ(h.check_state(), CheckState::kOff);
  EXPECT_EQ(h.checks_failed(), 0);
  EXPECT_EQ(h.Admit(t), Admission::kAdmitted);
  h.End(true, microseconds(100), t);
  EXPECT_EQ(h.CheckSnapshot(t), nlohmann::json({{"state", "off"}}));
}

TEST(HealthCheck, UnhealthyAfterFailuresInARowThenAdmitRefuses) {
  DeploymentHealth h("d", 1, Policy());
  CheckLog log;
  log.Attach(h);
  h.EnableChecks(CheckPolicy{3, 1});
  auto t = Clock::now();
  EXPECT_EQ(h.check_state(), CheckState::kPassing);  // in service before the first check
  h.RecordCheck(false, 0, "connect failed", t);
  h.RecordCheck(false, 503, "HTTP 503", t);
  h.RecordCheck(true, 200, "", t);  // a pass in between resets the count
  h.RecordCheck(false, 503, "HTTP 503", t);
  h.RecordCheck(false, 503, "HTTP 503", t);
  EXPECT_EQ(h.check_state(), CheckState::kPassing);
  EXPECT_EQ(h.Admit(t), Admission::kAdmitted);
  h.End(true, microseconds(100), t);
  EXPECT_TRUE(log.transitions.empty());
  h.RecordCheck(false, 404, "HTTP 404", t);  // third in a row
  EXPECT_EQ(h.check_state(), CheckState::kFailing);
  EXPECT_EQ(h.Admit(t), Admission::kCheckFailing);
  EXPECT_EQ(h.in_flight(), 0);  // a refusal holds no slot
  ASSERT_EQ(log.transitions.size(), 1u);
  EXPECT_EQ(log.transitions[0], std::make_pair(CheckState::kPassing, CheckState::kFailing));
  EXPECT_EQ(h.checks_passed(), 1);
  EXPECT_EQ(h.checks_failed(), 5);
  // The breaker saw none of it: checks and live traffic are counted apart.
  EXPECT_EQ(h.state(t), BreakerState::kClosed);
}

TEST(HealthCheck, HealthyAfterPassesInARowBringsItBack) {
  DeploymentHealth h("d", 1, Policy());
  CheckLog log;
  log.Attach(h);
  h.EnableChecks(CheckPolicy{1, 2});
  auto t = Clock::now();
  h.RecordCheck(false, 0, "timed out", t);
  ASSERT_EQ(h.check_state(), CheckState::kFailing);
  h.RecordCheck(true, 200, "", t);
  h.RecordCheck(false, 0, "timed out", t);  // resets the passes
  h.RecordCheck(true, 200, "", t);
  EXPECT_EQ(h.check_state(), CheckState::kFailing);
  EXPECT_EQ(h.Admit(t), Admission::kCheckFailing);
  h.RecordCheck(true, 204, "", t);  // second pass in a row
  EXPECT_EQ(h.check_state(), CheckState::kPassing);
  EXPECT_EQ(h.Admit(t), Admission::kAdmitted);
  h.End(true, microseconds(100), t);
  ASSERT_EQ(log.transitions.size(), 2u);
  EXPECT_EQ(log.transitions[1], std::make_pair(CheckState::kFailing, CheckState::kPassing));
}

TEST(HealthCheck, RefusesBeforeCapacityAndBreaker) {
  DeploymentHealth h("d", 1, Policy());
  h.EnableChecks(CheckPolicy{1, 1});
  auto t = Clock::now();
  h.RecordCheck(false, 500, "HTTP 500", t);
  // Even with room (no cap) and a closed circuit, and with a full cap, the verdict is the same.
  EXPECT_EQ(h.Admit(t, 0), Admission::kCheckFailing);
  EXPECT_EQ(h.Admit(t, 1), Admission::kCheckFailing);
}

TEST(HealthCheck, RecoveryMovesAnOpenCircuitToHalfOpen) {
  DeploymentHealth h("d", 1, Policy());  // open_for 1000 ms
  h.EnableChecks(CheckPolicy{1, 1});
  auto t = Clock::now();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(h.Admit(t), Admission::kAdmitted);
    h.End(false, microseconds(100), t);
  }
  ASSERT_EQ(h.state(t), BreakerState::kOpen);
  // A passing check while passing changes nothing: the breaker keeps its cool-down.
  h.RecordCheck(true, 200, "", t);
  EXPECT_EQ(h.state(t + milliseconds(10)), BreakerState::kOpen);
  // Down per the checks, then back: the circuit is half-open at once, long before open_for.
  h.RecordCheck(false, 0, "connect failed", t + milliseconds(20));
  h.RecordCheck(true, 200, "", t + milliseconds(30));
  EXPECT_EQ(h.state(t + milliseconds(30)), BreakerState::kHalfOpen);
  EXPECT_EQ(h.Admit(t + milliseconds(30)), Admission::kAdmitted);  // the probe
  EXPECT_EQ(h.Admit(t + milliseconds(30)), Admission::kBreakerOpen);
  h.End(true, microseconds(100), t + milliseconds(40));
  EXPECT_EQ(h.state(t + milliseconds(40)), BreakerState::kClosed);
}

TEST(HealthCheck, SnapshotShowsTheLastCheck) {
  DeploymentHealth h("d", 1, Policy());
  h.EnableChecks(CheckPolicy{2, 1});
  auto t = Clock::now();
  auto before = h.CheckSnapshot(t);
  EXPECT_EQ(before["state"], "passing");
  EXPECT_TRUE(before["last_checked_ms_ago"].is_null());
  EXPECT_TRUE(before["last_status"].is_null());
  h.RecordCheck(false, 503, "HTTP 503", t);
  auto j = h.CheckSnapshot(t + milliseconds(250));
  EXPECT_EQ(j["state"], "passing");
  EXPECT_EQ(j["consecutive_failures"], 1);
  EXPECT_EQ(j["consecutive_passes"], 0);
  EXPECT_EQ(j["last_status"], 503);
  EXPECT_EQ(j["last_error"], "HTTP 503");
  EXPECT_EQ(j["last_checked_ms_ago"], 250);
  h.RecordCheck(false, 0, "upstream connect to h:1 failed: Connection refused", t);
  j = h.Snapshot(t)["health_check"];
  EXPECT_EQ(j["state"], "failing");
  EXPECT_TRUE(j["last_status"].is_null());  // no response at all
  EXPECT_EQ(j["last_error"], "upstream connect to h:1 failed: Connection refused");
  h.RecordCheck(true, 200, "", t);
  j = h.CheckSnapshot(t);
  EXPECT_EQ(j["state"], "passing");
  EXPECT_EQ(j["last_status"], 200);
  EXPECT_TRUE(j["last_error"].is_null());
}

}  // namespace
}  // namespace triage::upstream
