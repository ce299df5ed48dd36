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

TEST(Stats, FailedRequestsWithoutTierAreCountedSeparately) {
  Stats s({"open"});
  RequestRecord r;
  r.status = 400;
  r.error = true;
  s.Record(r);
  EXPECT_NE(s.Summary().find("failed 1"), std::string::npos);
  EXPECT_NE(s.Prometheus().find("triage_responses_total{code=\"4xx\"} 1"), std::string::npos);
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

}  // namespace
}  // namespace triage::observe
