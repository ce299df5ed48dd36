#include "observe/stats.h"

#include <gtest/gtest.h>

namespace triage::observe {
namespace {

TEST(Stats, SummaryCountsTiersAndSavings) {
  Stats s({"open", "mid", "frontier"});
  RequestRecord r;
  r.tier = "open";
  r.status = 200;
  r.cost_micros = 100;
  r.reference_cost_micros = 1000;
  s.Record(r);
  r.tier = "frontier";
  r.cost_micros = 900;
  r.reference_cost_micros = 1000;
  s.Record(r);
  EXPECT_EQ(s.total_requests(), 2);
  EXPECT_EQ(s.Summary(),
            "requests 2 (open 1, mid 0, frontier 1) | spend $0.001000 | all-frontier $0.002000 "
            "| saved 50.0%");
}

// A request on a deployment without a price costs 0 while its reference cost is counted: the
// old line compared $0.000100 with $0.010000 and claimed 99.0% saved. Over the priced request
// alone it is 90.0%, and the line says one request is not in it.
TEST(Stats, SummaryLeavesUnpricedRequestsOutOfTheSaving) {
  Stats s({"local", "open"});
  RequestRecord r;
  r.tier = "open";
  r.status = 200;
  r.cost_micros = 100;
  r.reference_cost_micros = 1000;
  s.Record(r);
  r.tier = "local";
  r.cost_micros = 0;
  r.reference_cost_micros = 9000;
  r.price_known = false;
  s.Record(r);
  EXPECT_EQ(s.Summary(),
            "requests 2 (local 1, open 1) | spend $0.000100 | all-frontier $0.001000 | saved "
            "90.0% | 1 unpriced");
  // /metrics keeps its meaning (reference counts every request) and says which part is unpriced.
  const std::string text = s.Prometheus();
  EXPECT_NE(text.find("\ntriage_reference_cost_usd_total{tier=\"local\"} 0.009000\n"),
            std::string::npos);
  EXPECT_NE(text.find("\ntriage_unpriced_reference_cost_usd_total{tier=\"local\"} 0.009000\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\ntriage_unpriced_reference_cost_usd_total{tier=\"open\"} 0.000000\n"),
            std::string::npos);
  EXPECT_NE(text.find("\ntriage_unpriced_reference_cost_usd_total{tier=\"none\"} 0.000000\n"),
            std::string::npos);
}

TEST(Stats, FailedRequestsWithoutTierAreCountedSeparately) {
  Stats s({"open"});
  RequestRecord r;
  r.status = 400;
  r.error = true;
  s.Record(r);
  EXPECT_EQ(s.Summary(),
            "requests 1 (open 0, no tier 1) | errors 1 | spend $0.000000 | all-frontier "
            "$0.000000 | saved 0.0%");
  EXPECT_NE(s.Prometheus().find("triage_responses_total{code=\"4xx\"} 1"), std::string::npos);
}

TEST(Stats, ReloadsAreCountedByResultAndTheLastOneFlagged) {
  Stats s({"open"});
  auto has = [&](const std::string& line) {
    return s.Prometheus().find("\n" + line + "\n") != std::string::npos;
  };
  EXPECT_TRUE(has("triage_config_reloads_total{result=\"ok\"} 0"));
  EXPECT_TRUE(has("triage_config_last_reload_successful 1"));  // no reload yet: not a failure
  s.AddReload(false);
  EXPECT_TRUE(has("triage_config_reloads_total{result=\"failed\"} 1"));
  EXPECT_TRUE(has("triage_config_last_reload_successful 0"));
  s.AddReload(true);
  s.AddReload(true);
  EXPECT_TRUE(has("triage_config_reloads_total{result=\"ok\"} 2"));
  EXPECT_TRUE(has("triage_config_reloads_total{result=\"failed\"} 1"));
  EXPECT_TRUE(has("triage_config_last_reload_successful 1"));
}

// An upstream failure on a tier is an error too, though the request reached a tier.
// A tier name is any string the config allows: a quote or backslash in it used to end the label
// value early and make the whole /metrics page unparseable.
TEST(Stats, TierNamesAreEscapedInLabels) {
  Stats s({"op\"en\\x", "mid"});
  const std::string text = s.Prometheus();
  EXPECT_NE(text.find("triage_requests_total{tier=\"op\\\"en\\\\x\"} 0\n"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("tier=\"op\"en"), std::string::npos);
  EXPECT_EQ(PromLabel("a\nb"), "a\\nb");
}

TEST(Stats, SummaryCountsErrorsOnTiers) {
  Stats s({"open", "mid"});
  RequestRecord r;
  r.tier = "open";
  r.status = 200;
  s.Record(r);
  r.tier = "mid";
  r.status = 502;
  r.error = true;
  s.Record(r);
  EXPECT_EQ(s.Summary(),
            "requests 2 (open 1, mid 1) | errors 1 | spend $0.000000 | all-frontier $0.000000 "
            "| saved 0.0%");
}

TEST(Stats, PrometheusHistogramIsCumulative) {
  Stats s({"open"});
  RequestRecord r;
  r.tier = "open";
  r.status = 200;
  r.latency_seconds = 0.02;
  s.Record(r);
  r.latency_seconds = 3;
  s.Record(r);
  std::string text = s.Prometheus();
  EXPECT_NE(text.find("triage_request_duration_seconds_bucket{le=\"0.025\"} 1"), std::string::npos);
  EXPECT_NE(text.find("triage_request_duration_seconds_bucket{le=\"5\"} 2"), std::string::npos);
  EXPECT_NE(text.find("triage_request_duration_seconds_bucket{le=\"+Inf\"} 2"), std::string::npos);
  EXPECT_NE(text.find("triage_requests_total{tier=\"open\"} 2"), std::string::npos);
}

// Decisions count against the tier they chose, not the tier that answered after a fallback.
TEST(Stats, RouteDecisionsByChosenTier) {
  Stats s({"open", "frontier"});
  RequestRecord r;
  r.status = 200;
  r.tier = "frontier";  // answered by frontier after open failed
  r.decision = RouteDecision::kRouter;
  r.route_tier = "open";
  s.Record(r);
  r.decision = RouteDecision::kCascadeEscalated;
  r.route_tier = "frontier";
  s.Record(r);
  s.Record(r);
  r.decision = RouteDecision::kNone;  // refused: no decision counted
  r.route_tier = "";
  s.Record(r);
  std::string text = s.Prometheus();
  EXPECT_NE(text.find("triage_route_decisions_total{decision=\"router\",tier=\"open\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("triage_route_decisions_total{decision=\"router\",tier=\"frontier\"} 0"),
            std::string::npos);
  EXPECT_NE(
      text.find("triage_route_decisions_total{decision=\"cascade_escalated\",tier=\"frontier\"} 2"),
      std::string::npos);
  EXPECT_NE(text.find("triage_route_decisions_total{decision=\"pinned\",tier=\"open\"} 0"),
            std::string::npos);
  EXPECT_EQ(text.find("decision=\"none\""), std::string::npos);
  EXPECT_EQ(RouteDecisionName(RouteDecision::kCascadeCheapFailed), "cascade_cheap_failed");
}

TEST(Stats, RouteScoreHistogramPerKind) {
  Stats s({"open", "frontier"});
  RequestRecord r;
  r.status = 200;
  r.tier = r.route_tier = "open";
  r.decision = RouteDecision::kRouter;
  for (double x : {0.0, 0.05, 0.31, 0.7, 1.0}) {
    r.route_score = x;
    s.Record(r);
  }
  r.decision = RouteDecision::kSpilled;  // a router score, then spilled: still the router's
  r.route_score = 0.3;
  s.Record(r);
  r.decision = RouteDecision::kCascadeEscalated;
  r.route_score = 0.62;
  s.Record(r);
  r.decision = RouteDecision::kPinned;  // no score
  r.route_score = -1;
  s.Record(r);
  const std::string text = s.Prometheus();
  auto has = [&](const std::string& line) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n" << text;
  };
  has("# TYPE triage_route_score histogram");
  has("triage_route_score_bucket{kind=\"router\",le=\"0.05\"} 2");  // 0 and 0.05
  has("triage_route_score_bucket{kind=\"router\",le=\"0.30\"} 3");  // + 0.3
  has("triage_route_score_bucket{kind=\"router\",le=\"0.35\"} 4");  // + 0.31
  has("triage_route_score_bucket{kind=\"router\",le=\"0.95\"} 5");  // + 0.7
  has("triage_route_score_bucket{kind=\"router\",le=\"1.00\"} 6");
  has("triage_route_score_bucket{kind=\"router\",le=\"+Inf\"} 6");
  has("triage_route_score_sum{kind=\"router\"} 2.360000");
  has("triage_route_score_count{kind=\"router\"} 6");
  has("triage_route_score_bucket{kind=\"cascade\",le=\"0.60\"} 0");
  has("triage_route_score_bucket{kind=\"cascade\",le=\"0.65\"} 1");
  has("triage_route_score_count{kind=\"cascade\"} 1");
}

}  // namespace
}  // namespace triage::observe
