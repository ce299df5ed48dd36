#include "store/ledger_report.h"

#include <algorithm>
#include <array>

#include "store/ledger_read.h"

namespace triage::store {
namespace {

// Error kinds of requests refused because of what the client sent (or how it sent it).
constexpr std::array<std::string_view, 9> kClientKinds = {"invalid_request",
                                                          "authentication",
                                                          "permission",
                                                          "not_found",
                                                          "request_too_large",
                                                          "headers_too_large",
                                                          "unsupported_media_type",
                                                          "client_timeout",
                                                          "not_implemented"};

constexpr std::string_view kArrow = "\u2192";

void Add(ReportTotals& t, bool answered, bool price_known, int64_t in, int64_t out, int64_t cost,
         int64_t reference) {
  ++t.requests;
  t.input_tokens += in;
  t.output_tokens += out;
  if (answered) ++t.answered;
  if (price_known) {
    ++t.priced_requests;
    t.spend_micros += cost;
    t.reference_micros += reference;
    if (answered) {
      ++t.priced_answered;
      t.answered_spend_micros += cost;
    }
  } else {
    ++t.unpriced_requests;
    t.unpriced_input_tokens += in;
    t.unpriced_output_tokens += out;
    t.unpriced_cost_micros += cost;
    t.unpriced_reference_micros += reference;
  }
}

}  // namespace

Outcome OutcomeOf(int status, std::string_view error_kind) {
  if (error_kind.empty()) return status < 400 ? Outcome::kAnswered : Outcome::kFailed;
  if (error_kind == "client_closed") return Outcome::kClientClosed;
  if (std::find(kClientKinds.begin(), kClientKinds.end(), error_kind) != kClientKinds.end())
    return Outcome::kRefused;
  return Outcome::kFailed;
}

// The texts are written in src/pipeline/plan.cc (Route) and src/pipeline/cascade.cc:
//   "learned score=0.31 → open" (any router kind), "default tier=open",
//   either of those + "; spilled to mid (open queue full)", "pinned tier=frontier",
//   "pinned deployment=x", "pinned model=m", "cascade → open (not scored)",
//   "cascade score=0.42 < 0.50 → open" (released), "cascade score=0.62 >= 0.50 → mid"
//   (escalated, possibly + "; released open (mid failed)"), "cascade tool call checked → open",
//   "cascade score=...; tool call invalid (...) → mid", "cascade open failed → mid",
//   "cascade open cannot take the request → mid".
std::string RouteDecisionOf(std::string_view route) {
  if (route.empty()) return "none";
  const std::string_view first = route.substr(0, route.find(' '));
  if (first == "cascade") {
    std::string_view rest = route.substr(first.size());
    if (!rest.empty()) rest.remove_prefix(1);
    if (rest.starts_with(kArrow)) return "cascade_not_scored";
    if (!rest.starts_with("score=") && !rest.starts_with("tool call"))
      return "cascade_cheap_failed";  // "<cheap tier> failed → ..." / "... cannot take ..."
    const std::string_view basis = rest.substr(0, rest.find(kArrow));
    const std::string_view score = basis.substr(0, basis.find(';'));
    const bool escalated =
        basis.find("tool call invalid (") != std::string_view::npos ||
        (score.starts_with("score=") && score.find(" >= ") != std::string_view::npos);
    return escalated ? "cascade_escalated" : "cascade_released";
  }
  if (route.find("; spilled to ") != std::string_view::npos) return "spilled";
  if (first == "pinned") return "pinned";
  if (first == "default") return "default";
  return "router";
}

Result<LedgerReport> ReadLedgerReport(const std::string& url, int64_t since_ms) {
  auto file = OpenLedgerForReading(url, 1, "reports");
  if (!file) return file.error();
  SqliteDb& db = file->db;
  // Version 1 has no route column: its rows say '' like a version-2 migration would.
  const std::string sql = std::string(
                              "SELECT ts_ms, tier, deployment, status, error_kind, input_tokens, "
                              "output_tokens, cost_micros, reference_cost_micros, price_known, ") +
                          (file->version >= 2 ? "route" : "''") +
                          " FROM requests WHERE ts_ms >= ? ORDER BY rowid";
  auto select = db.Prepare(sql);
  if (!select) return select.error();
  select->Bind(1, since_ms);
  LedgerReport rep;
  int rc;
  while ((rc = select->Step()) == SQLITE_ROW) {
    const int64_t ts = select->Int(0);
    const std::string tier = select->Text(1);
    const int status = static_cast<int>(select->Int(3));
    const std::string kind = select->Text(4);
    const int64_t in = select->Int(5), out = select->Int(6);
    const int64_t cost = select->Int(7), reference = select->Int(8);
    const bool price_known = select->Int(9) != 0;
    const std::string route = select->Text(10);

    if (rep.overall.requests == 0 || ts < rep.first_ts_ms) rep.first_ts_ms = ts;
    if (rep.overall.requests == 0 || ts > rep.last_ts_ms) rep.last_ts_ms = ts;
    const Outcome o = OutcomeOf(status, kind);
    switch (o) {
      case Outcome::kAnswered:
        ++rep.answered;
        break;
      case Outcome::kRefused:
        ++rep.refused;
        break;
      case Outcome::kClientClosed:
        ++rep.client_closed;
        break;
      case Outcome::kFailed:
        ++rep.failed;
        break;
    }
    if (!kind.empty()) ++rep.error_kinds[kind];
    const bool answered = o == Outcome::kAnswered;
    Add(rep.overall, answered, price_known, in, out, cost, reference);
    Add(rep.tiers[tier], answered, price_known, in, out, cost, reference);
    if (!price_known) ++rep.unpriced_deployments[select->Text(2)];
    const std::string decision = RouteDecisionOf(route);
    ++rep.routes[decision];
    if (decision == "router") ++rep.router_kinds[route.substr(0, route.find(' '))];
  }
  if (rc != SQLITE_DONE) return db.Fail("ledger_read_failed", "reading the ledger's rows");
  return rep;
}

}  // namespace triage::store
