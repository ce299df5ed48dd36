#include "cli/report_command.h"

#include <gtest/gtest.h>

namespace triage::cli {
namespace {

using store::LedgerReport;
using store::ReportTotals;

// 3 priced requests on open (spend $0.000300 against $0.003000 all-frontier) and 12 unpriced on
// local, whose reference cost ($0.090000) must not count as saved.
LedgerReport Sample() {
  LedgerReport r;
  r.first_ts_ms = 1'796'601'600'000;  // 2026-12-07 00:00:00 UTC
  r.last_ts_ms = 1'796'605'262'345;   // 2026-12-07 01:01:02.345 UTC
  r.answered = 14;
  r.failed = 1;
  r.error_kinds = {{"upstream_error", 1}};
  ReportTotals open;
  open.requests = 3;
  open.answered = 2;
  open.input_tokens = 300;
  open.output_tokens = 150;
  open.priced_requests = 3;
  open.spend_micros = 300;
  open.reference_micros = 3000;
  open.priced_answered = 2;
  open.answered_spend_micros = 201;
  ReportTotals local;
  local.requests = 12;
  local.answered = 12;
  local.input_tokens = 1200;
  local.output_tokens = 600;
  local.unpriced_requests = 12;
  local.unpriced_input_tokens = 1200;
  local.unpriced_output_tokens = 600;
  local.unpriced_reference_micros = 90000;
  r.tiers = {{"open", open}, {"local", local}};
  ReportTotals all = open;
  all.requests += 12;
  all.answered += 12;
  all.input_tokens += 1200;
  all.output_tokens += 600;
  all.unpriced_requests = 12;
  all.unpriced_input_tokens = 1200;
  all.unpriced_output_tokens = 600;
  all.unpriced_reference_micros = 90000;
  r.overall = all;
  r.unpriced_deployments = {{"open-local", 12}};
  r.routes = {{"router", 3}, {"pinned", 12}};
  r.router_kinds = {{"learned", 3}};
  return r;
}

TEST(Report, TextSaysWhatWasSavedOnPricedRequestsAndNamesTheUnpriced) {
  const std::string t = ReportText(Sample(), "sqlite://l.db", 0);
  EXPECT_NE(t.find("period    2026-12-07 00:00:00 UTC to 2026-12-07 01:01:02 UTC\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("requests  15: 14 answered, 1 failed upstream or in the gateway "
                   "(upstream_error 1)\n"),
            std::string::npos)
      << t;
  // overall: 15 requests, spend 300 against 3000 (not 93000): saved 2700, 90.0%; mean of the
  // two priced answers 201 / 2 = 100.5 -> 101 micros.
  EXPECT_NE(t.find("overall        15        14         1500          750       0.000300       "
                   "0.003000       0.002700    90.0%     0.000101\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("local          12        12         1200          600       0.000000       "
                   "0.000000       0.000000        -            -\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("routing   router 3 (learned 3), pinned 12\n"), std::string::npos) << t;
  EXPECT_NE(t.find("12 requests on unpriced deployments (open-local) are not in the saving: "
                   "their cost is unknown (all-frontier $0.090000 left out)\n"),
            std::string::npos)
      << t;
}

TEST(Report, JsonKeysAndFigures) {
  const nlohmann::json j = ReportJson(Sample(), "sqlite://l.db", 24);
  EXPECT_EQ(j["ledger"], "sqlite://l.db");
  EXPECT_EQ(j["since_hours"], 24.0);
  EXPECT_EQ(j["period"]["first"], "2026-12-07T00:00:00.000Z");
  EXPECT_EQ(j["period"]["last"], "2026-12-07T01:01:02.345Z");
  EXPECT_EQ(j["period"]["last_ts_ms"], 1'796'605'262'345);
  EXPECT_EQ(j["requests"]["total"], 15);
  EXPECT_EQ(j["requests"]["answered"], 14);
  EXPECT_EQ(j["requests"]["refused"], 0);
  EXPECT_EQ(j["requests"]["failed"], 1);
  EXPECT_EQ(j["requests"]["by_error_kind"]["upstream_error"], 1);
  const auto& o = j["overall"];
  EXPECT_EQ(o["requests"], 15);
  EXPECT_EQ(o["priced_requests"], 3);
  EXPECT_EQ(o["unpriced_requests"], 12);
  // Money: JSON numbers written with FormatUsd's digits.
  EXPECT_EQ(o["spend_usd"].dump(), "0.0003");
  EXPECT_EQ(o["reference_usd"].dump(), "0.003");
  EXPECT_EQ(o["saved_usd"].dump(), "0.0027");
  EXPECT_DOUBLE_EQ(o["saved_fraction"].get<double>(), 0.9);
  EXPECT_EQ(o["mean_cost_per_answer_usd"].dump(), "0.000101");
  ASSERT_EQ(j["tiers"].size(), 2u);
  EXPECT_EQ(j["tiers"][0]["tier"], "local");
  EXPECT_TRUE(j["tiers"][0]["saved_fraction"].is_null());
  EXPECT_TRUE(j["tiers"][0]["mean_cost_per_answer_usd"].is_null());
  EXPECT_EQ(j["unpriced"]["requests"], 12);
  EXPECT_EQ(j["unpriced"]["reference_usd"].dump(), "0.09");
  EXPECT_EQ(j["unpriced"]["deployments"]["open-local"], 12);
  EXPECT_EQ(j["routes"]["router"], 3);
  EXPECT_EQ(j["routes"]["pinned"], 12);
  EXPECT_EQ(j["routes"]["cascade_escalated"], 0);  // every decision key, 0 when none
  EXPECT_EQ(j["router_kinds"]["learned"], 3);
}

TEST(Report, EmptyLedger) {
  EXPECT_EQ(ReportText(LedgerReport{}, "sqlite://l.db", 0), "no rows in sqlite://l.db\n");
  EXPECT_EQ(ReportText(LedgerReport{}, "sqlite://l.db", 1.5),
            "no rows in sqlite://l.db in the last 1.5 hours\n");
  const nlohmann::json j = ReportJson(LedgerReport{}, "sqlite://l.db", 0);
  EXPECT_TRUE(j["period"].is_null());
  EXPECT_EQ(j["requests"]["total"], 0);
  EXPECT_TRUE(j["overall"]["saved_fraction"].is_null());
  EXPECT_TRUE(j["since_hours"].is_null());
}

}  // namespace
}  // namespace triage::cli
