#include "store/ledger_report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "ledger_test_util.h"
#include "store/ledger.h"
#include "store/sqlite_db.h"

namespace triage::store {
namespace {

using testing::TempDir;

constexpr int64_t kT0 = 1'790'000'000'000;

LedgerRow Row(const std::string& id, int64_t ts_ms, const std::string& tier,
              const std::string& deployment, int status, const std::string& error_kind, int64_t in,
              int64_t out, int64_t cost, int64_t reference, bool price_known,
              const std::string& route) {
  LedgerRow r;
  r.id = id;
  r.ts_ms = ts_ms;
  r.dialect = "openai";
  r.requested_model = "auto";
  r.tier = tier;
  r.deployment = deployment;
  r.status = status;
  r.error_kind = error_kind;
  r.input_tokens = in;
  r.output_tokens = out;
  r.cost_micros = cost;
  r.reference_cost_micros = reference;
  r.price_known = price_known;
  r.route = route;
  return r;
}

// Writes `rows` through the real ledger (OpenLedger, its writer thread) and closes it.
void Write(const std::string& url, const std::vector<LedgerRow>& rows) {
  auto ledger = OpenLedger(url);
  ASSERT_TRUE(ledger.ok()) << ledger.error().message;
  for (const auto& r : rows) (*ledger)->Append(r, [](Status s) { ASSERT_TRUE(s.ok()); });
  (*ledger)->Flush();
}

const std::string kArrow = "\u2192";

std::vector<LedgerRow> Mixed() {
  return {
      // Priced answers on open (gemma) and an upstream failure and a client that left on
      // frontier: all in the saving.
      Row("a", kT0 + 1000, "open", "gemma", 200, "", 100, 50, 30, 1500, true,
          "learned score=0.31 " + kArrow + " open"),
      Row("b", kT0 + 2000, "open", "gemma", 200, "", 200, 100, 61, 3000, true,
          "learned score=0.20 " + kArrow + " open"),
      Row("c", kT0 + 3000, "frontier", "claude", 502, "upstream_error", 10, 0, 50, 50, true,
          "learned score=0.90 " + kArrow + " frontier"),
      Row("d", kT0 + 4000, "frontier", "claude", 200, "client_closed", 5, 5, 150, 150, true,
          "cascade score=0.62 >= 0.50 " + kArrow + " frontier"),
      // Refused before a tier was chosen.
      Row("e", kT0 + 5000, "", "", 400, "invalid_request", 0, 0, 0, 0, true, ""),
      // Unpriced: open-local has no price. The second had a failed attempt on a priced
      // deployment first (cost 20 known), and was spilled there from the default tier.
      Row("f", kT0 + 6000, "local", "open-local", 200, "", 1000, 500, 0, 17500, false,
          "pinned tier=local"),
      Row("g", kT0 + 7000, "local", "open-local", 200, "", 400, 100, 20, 4500, false,
          "default tier=open; spilled to local (open queue full)"),
      Row("h", kT0 + 8000, "open", "gemma", 429, "rate_limit", 0, 0, 0, 0, true,
          "pinned tier=open"),
  };
}

TEST(LedgerReport, SumsPricedRowsAndKeepsUnpricedOutOfTheSaving) {
  TempDir dir;
  const std::string url = "sqlite://" + dir.File("l.db");
  Write(url, Mixed());
  auto r = ReadLedgerReport(url, 0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->rows(), 8);
  EXPECT_EQ(r->first_ts_ms, kT0 + 1000);
  EXPECT_EQ(r->last_ts_ms, kT0 + 8000);
  EXPECT_EQ(r->answered, 4);       // a, b, f, g
  EXPECT_EQ(r->refused, 1);        // e
  EXPECT_EQ(r->client_closed, 1);  // d
  EXPECT_EQ(r->failed, 2);         // c, h
  EXPECT_EQ(
      r->error_kinds,
      (std::map<std::string, int64_t>{
          {"client_closed", 1}, {"invalid_request", 1}, {"rate_limit", 1}, {"upstream_error", 1}}));

  const ReportTotals& o = r->overall;
  EXPECT_EQ(o.requests, 8);
  EXPECT_EQ(o.answered, 4);
  EXPECT_EQ(o.input_tokens, 100 + 200 + 10 + 5 + 1000 + 400);
  EXPECT_EQ(o.output_tokens, 50 + 100 + 5 + 500 + 100);
  // The saving: priced rows only (a, b, c, d, e, h).
  EXPECT_EQ(o.priced_requests, 6);
  EXPECT_EQ(o.spend_micros, 30 + 61 + 50 + 150);
  EXPECT_EQ(o.reference_micros, 1500 + 3000 + 50 + 150);
  EXPECT_EQ(o.saved_micros(), 4700 - 291);
  // Mean cost per answer: the priced answered rows a and b.
  EXPECT_EQ(o.priced_answered, 2);
  EXPECT_EQ(o.answered_spend_micros, 91);
  EXPECT_EQ(o.unpriced_requests, 2);
  EXPECT_EQ(o.unpriced_input_tokens, 1400);
  EXPECT_EQ(o.unpriced_output_tokens, 600);
  EXPECT_EQ(o.unpriced_cost_micros, 20);
  EXPECT_EQ(o.unpriced_reference_micros, 22000);
  EXPECT_EQ(r->unpriced_deployments, (std::map<std::string, int64_t>{{"open-local", 2}}));

  ASSERT_EQ(r->tiers.size(), 4u);  // "", frontier, local, open
  const ReportTotals& open = r->tiers.at("open");
  EXPECT_EQ(open.requests, 3);
  EXPECT_EQ(open.answered, 2);
  EXPECT_EQ(open.spend_micros, 91);
  EXPECT_EQ(open.reference_micros, 4500);
  const ReportTotals& local = r->tiers.at("local");
  EXPECT_EQ(local.requests, 2);
  EXPECT_EQ(local.answered, 2);
  EXPECT_EQ(local.input_tokens, 1400);
  EXPECT_EQ(local.priced_requests, 0);
  EXPECT_EQ(local.spend_micros, 0);
  EXPECT_EQ(local.reference_micros, 0);  // not 22000: that would be a saving nobody measured
  EXPECT_EQ(local.unpriced_reference_micros, 22000);
  EXPECT_EQ(r->tiers.at("").requests, 1);
  EXPECT_EQ(r->tiers.at("frontier").spend_micros, 200);

  EXPECT_EQ(
      r->routes,
      (std::map<std::string, int64_t>{
          {"router", 3}, {"cascade_escalated", 1}, {"none", 1}, {"pinned", 2}, {"spilled", 1}}));
  EXPECT_EQ(r->router_kinds, (std::map<std::string, int64_t>{{"learned", 3}}));
}

TEST(LedgerReport, SinceKeepsOnlyRecentRows) {
  TempDir dir;
  const std::string url = "sqlite://" + dir.File("l.db");
  Write(url, Mixed());
  auto r = ReadLedgerReport(url, kT0 + 6000);  // f, g, h
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->rows(), 3);
  EXPECT_EQ(r->first_ts_ms, kT0 + 6000);
  EXPECT_EQ(r->overall.priced_requests, 1);
  EXPECT_EQ(r->overall.unpriced_requests, 2);
  EXPECT_EQ(r->overall.reference_micros, 0);
  auto none = ReadLedgerReport(url, kT0 + 9000);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->rows(), 0);
  EXPECT_TRUE(none->tiers.empty());
}

TEST(LedgerReport, EmptyLedgerHasNoRows) {
  TempDir dir;
  const std::string url = "sqlite://" + dir.File("l.db");
  Write(url, {});
  auto r = ReadLedgerReport(url, 0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->rows(), 0);
  EXPECT_EQ(r->overall.spend_micros, 0);
  EXPECT_TRUE(r->routes.empty());
}

// It reads while the gateway's ledger is open and writing (a second process in real use).
TEST(LedgerReport, ReadsALedgerThatIsOpenForWriting) {
  TempDir dir;
  const std::string url = "sqlite://" + dir.File("l.db");
  auto ledger = OpenLedger(url);
  ASSERT_TRUE(ledger.ok()) << ledger.error().message;
  for (const auto& row : Mixed()) (*ledger)->Append(row, [](Status) {});
  (*ledger)->Flush();
  auto r = ReadLedgerReport(url, 0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->rows(), 8);
  (*ledger)->Append(Row("i", kT0 + 9000, "open", "gemma", 200, "", 1, 1, 1, 10, true, ""),
                    [](Status) {});
  (*ledger)->Flush();
  auto again = ReadLedgerReport(url, 0);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->rows(), 9);
  EXPECT_EQ(again->overall.spend_micros, 291 + 1);
}

TEST(LedgerReport, ClearErrorsAndNothingCreated) {
  TempDir dir;
  const std::string missing_path = dir.File("none.db");
  auto missing = ReadLedgerReport("sqlite://" + missing_path, 0);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no ledger file " + missing_path), std::string::npos)
      << missing.error().message;
  EXPECT_FALSE(std::filesystem::exists(missing_path));

  std::ofstream(dir.File("text.db")) << "not a database at all, just some text\n";
  auto text = ReadLedgerReport("sqlite://" + dir.File("text.db"), 0);
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.error().message.find(dir.File("text.db") + " is not a triage ledger"),
            std::string::npos)
      << text.error().message;

  // A SQLite database, but not a ledger.
  {
    auto db = SqliteDb::Open(dir.File("other.db"), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->Exec("CREATE TABLE t (x INTEGER)").ok());
  }
  auto other = ReadLedgerReport("sqlite://" + dir.File("other.db"), 0);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message.find("is not a triage ledger"), std::string::npos)
      << other.error().message;

  auto url = ReadLedgerReport("postgres://x", 0);
  ASSERT_FALSE(url.ok());
  EXPECT_EQ(url.error().code, "ledger_bad_url");
  auto mem = ReadLedgerReport("sqlite::memory:", 0);
  ASSERT_FALSE(mem.ok());
  EXPECT_NE(mem.error().message.find("in-memory"), std::string::npos);
}

// A version-1 file (written before the route columns; never opened by a newer gateway) is read
// as it is, its rows without a route; a version this build does not know is refused.
TEST(LedgerReport, ReadsAVersionOneFileAndRefusesAnUnknownVersion) {
  TempDir dir;
  const std::string v1 = dir.File("v1.db");
  {
    auto db = SqliteDb::Open(v1, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->Exec("CREATE TABLE requests (id TEXT PRIMARY KEY NOT NULL, ts_ms INTEGER, "
                         "dialect TEXT, requested_model TEXT, tier TEXT, deployment TEXT, "
                         "status INTEGER, error_kind TEXT, input_tokens INTEGER, "
                         "output_tokens INTEGER, cached_input_tokens INTEGER, "
                         "cost_micros INTEGER, reference_cost_micros INTEGER, "
                         "price_known INTEGER, stream INTEGER, attempts INTEGER, "
                         "latency_ms INTEGER, ttft_ms INTEGER);"
                         "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value);"
                         "INSERT INTO meta VALUES ('schema_version', 1);"
                         "INSERT INTO requests VALUES ('a', 5, 'openai', 'auto', 'open', 'g', "
                         "200, '', 10, 20, 0, 7, 70, 1, 0, 1, 3, 2);")
                    .ok());
  }
  auto r = ReadLedgerReport("sqlite://" + v1, 0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->rows(), 1);
  EXPECT_EQ(r->overall.saved_micros(), 63);
  EXPECT_EQ(r->routes, (std::map<std::string, int64_t>{{"none", 1}}));
  {
    auto db = SqliteDb::Open(v1, SQLITE_OPEN_READWRITE);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->Exec("UPDATE meta SET value = 99 WHERE key = 'schema_version'").ok());
  }
  auto future = ReadLedgerReport("sqlite://" + v1, 0);
  ASSERT_FALSE(future.ok());
  EXPECT_NE(future.error().message.find("need ledger schema version 1 to 4, this file says 99"),
            std::string::npos)
      << future.error().message;
}

TEST(LedgerReport, RouteDecisionOfEveryRouteText) {
  const std::string a = kArrow;
  EXPECT_EQ(RouteDecisionOf(""), "none");
  EXPECT_EQ(RouteDecisionOf("learned score=0.31 " + a + " open"), "router");
  EXPECT_EQ(RouteDecisionOf("length score=0.9 " + a + " frontier"), "router");
  EXPECT_EQ(RouteDecisionOf("default tier=open"), "default");
  EXPECT_EQ(
      RouteDecisionOf("learned score=0.31 " + a + " local; spilled to mid (local queue full)"),
      "spilled");
  EXPECT_EQ(RouteDecisionOf("default tier=local; spilled to mid (local queue full)"), "spilled");
  EXPECT_EQ(RouteDecisionOf("pinned tier=frontier"), "pinned");
  EXPECT_EQ(RouteDecisionOf("pinned deployment=claude"), "pinned");
  EXPECT_EQ(RouteDecisionOf("pinned model=gemma-4-31b"), "pinned");
  EXPECT_EQ(RouteDecisionOf("cascade " + a + " open (not scored)"), "cascade_not_scored");
  EXPECT_EQ(RouteDecisionOf("cascade score=0.42 < 0.50 " + a + " open"), "cascade_released");
  EXPECT_EQ(RouteDecisionOf("cascade tool call checked " + a + " open"), "cascade_released");
  EXPECT_EQ(RouteDecisionOf("cascade score=0.10 < 0.50; tool calls checked " + a + " open"),
            "cascade_released");
  EXPECT_EQ(RouteDecisionOf("cascade score=0.62 >= 0.50 " + a + " mid"), "cascade_escalated");
  EXPECT_EQ(RouteDecisionOf("cascade score=0.62 >= 0.50 " + a + " mid; released open (mid failed)"),
            "cascade_escalated");
  EXPECT_EQ(RouteDecisionOf("cascade tool call invalid (unknown tool x) " + a + " mid"),
            "cascade_escalated");
  EXPECT_EQ(RouteDecisionOf("cascade score=0.1 < 0.5; tool call invalid (a >= b) " + a + " mid"),
            "cascade_escalated");
  EXPECT_EQ(RouteDecisionOf("cascade open failed " + a + " mid"), "cascade_cheap_failed");
  EXPECT_EQ(RouteDecisionOf("cascade open cannot take the request " + a + " mid"),
            "cascade_cheap_failed");
}

TEST(LedgerReport, OutcomeOfStatusAndErrorKind) {
  EXPECT_EQ(OutcomeOf(200, ""), Outcome::kAnswered);
  EXPECT_EQ(OutcomeOf(400, "invalid_request"), Outcome::kRefused);
  EXPECT_EQ(OutcomeOf(404, "not_found"), Outcome::kRefused);
  EXPECT_EQ(OutcomeOf(413, "request_too_large"), Outcome::kRefused);
  EXPECT_EQ(OutcomeOf(499, "client_closed"), Outcome::kClientClosed);
  EXPECT_EQ(OutcomeOf(200, "client_closed"), Outcome::kClientClosed);
  EXPECT_EQ(OutcomeOf(502, "upstream_error"), Outcome::kFailed);
  EXPECT_EQ(OutcomeOf(200, "upstream_error"), Outcome::kFailed);  // an error event in a stream
  EXPECT_EQ(OutcomeOf(429, "rate_limit"), Outcome::kFailed);
  EXPECT_EQ(OutcomeOf(503, "shutdown"), Outcome::kFailed);
  EXPECT_EQ(OutcomeOf(500, "something_new"), Outcome::kFailed);
}

}  // namespace
}  // namespace triage::store
