// tiers[].hedge: parsed, validated with messages that name the key, explained by `check`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "test_util.h"

namespace triage::config {
namespace {

using testing::BaseWith;
using ::testing::HasSubstr;
using testing::Problems;

std::string WithHedge(const std::string& hedge) {
  return BaseWith("  - name: open\n", "  - name: open\n    hedge: " + hedge + "\n");
}

TEST(Hedge, OffByDefault) {
  auto r = LoadString(testing::kBase);
  ASSERT_TRUE(r.ok());
  for (const Tier& t : (*r)->tiers) EXPECT_FALSE(t.hedge.enabled) << t.name;
  EXPECT_THAT(Explain(**r), HasSubstr("hedging: off\n"));
}

TEST(Hedge, FixedDelay) {
  auto r = LoadString(WithHedge("{after_ms: 400}"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const HedgeConfig& h = (*r)->tiers[0].hedge;
  EXPECT_TRUE(h.enabled);
  EXPECT_FALSE(h.p95);
  EXPECT_EQ(h.after.count(), 400);
  EXPECT_FALSE((*r)->tiers[1].hedge.enabled);
  EXPECT_THAT(Explain(**r), HasSubstr("  open: a second attempt when the first has no first "
                                      "token after 400 ms\n"));
}

TEST(Hedge, P95Delay) {
  auto r = LoadString(WithHedge("{after: p95, after_ms: 900, min_after_ms: 120, min_samples: 50}"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const HedgeConfig& h = (*r)->tiers[0].hedge;
  EXPECT_TRUE(h.p95);
  EXPECT_EQ(h.after.count(), 900);
  EXPECT_EQ(h.min_after.count(), 120);
  EXPECT_EQ(h.min_samples, 50);
  EXPECT_THAT(Explain(**r), HasSubstr("p95 (at least 120 ms; 900 ms until 50 first tokens)"));
  auto d = LoadString(WithHedge("{after: p95, after_ms: 900}"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)->tiers[0].hedge.min_after.count(), 50);
  EXPECT_EQ((*d)->tiers[0].hedge.min_samples, 20);
}

TEST(Hedge, DisabledExplicitly) {
  auto r = LoadString(WithHedge("{enabled: false, after_ms: 400}"));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE((*r)->tiers[0].hedge.enabled);
}

TEST(Hedge, BadValuesNameTheKey) {
  EXPECT_THAT(Problems(WithHedge("{}")), HasSubstr("tiers[0].hedge.after_ms: required"));
  EXPECT_THAT(Problems(WithHedge("{after_ms: 0}")), HasSubstr("tiers[0].hedge.after_ms"));
  EXPECT_THAT(Problems(WithHedge("{after_ms: -5}")), HasSubstr("tiers[0].hedge.after_ms"));
  EXPECT_THAT(Problems(WithHedge("{after_ms: soon}")), HasSubstr("tiers[0].hedge.after_ms"));
  EXPECT_THAT(Problems(WithHedge("{after: p99, after_ms: 100}")),
              HasSubstr("tiers[0].hedge.after: expected fixed or p95, got 'p99'"));
  EXPECT_THAT(Problems(WithHedge("{after_ms: 100, min_after_ms: 10}")),
              HasSubstr("tiers[0].hedge.min_after_ms: applies only with after: p95"));
  EXPECT_THAT(Problems(WithHedge("{after_ms: 100, min_samples: 10}")),
              HasSubstr("tiers[0].hedge.min_samples: applies only with after: p95"));
  EXPECT_THAT(Problems(WithHedge("{after: p95, after_ms: 100, min_samples: 0}")),
              HasSubstr("tiers[0].hedge.min_samples: must be in [1, 1000]"));
  EXPECT_THAT(Problems(WithHedge("{after_ms: 100, max: 2}")),
              HasSubstr("tiers[0].hedge.max: unknown key"));
  EXPECT_THAT(Problems(WithHedge("400")), HasSubstr("tiers[0].hedge"));
}

TEST(Hedge, NeedsRoomForASecondAttempt) {
  EXPECT_THAT(Problems(WithHedge("{after_ms: 100}") + "retry: {max_attempts: 1}\n"),
              HasSubstr("tiers[0].hedge: needs retry.max_attempts >= 2"));
  EXPECT_THAT(Problems(WithHedge("{after_ms: 100}") + "retry: {budget_ratio: 0, budget_min: 0}\n"),
              HasSubstr("tiers[0].hedge: needs a retry budget"));
  // Off: nothing to check.
  EXPECT_EQ(Problems(WithHedge("{enabled: false, after_ms: 100}") + "retry: {max_attempts: 1}\n"),
            "OK");
}

}  // namespace
}  // namespace triage::config
