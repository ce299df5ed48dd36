#pragma once
// `triage report`'s arithmetic: what a ledger says was spent and saved. Reads the ledger
// read-only (OpenLedgerForReading), fine while a gateway is writing it. Money stays integer
// micro-dollars here; formatting is the caller's (catalog::FormatUsd).
//
// Honesty rule: a row whose price is unknown (price_known = 0: its deployment, or a failed
// attempt's, has no price) is counted (requests, tokens) but kept out of both sides of the
// saving: its cost is not known, so comparing its reference cost with a cost of 0 would claim a
// saving nobody measured.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace triage::store {

// How a request ended, from the row's status and error_kind.
enum class Outcome {
  kAnswered,      // error_kind "" (and a status below 400)
  kRefused,       // the client's fault: invalid_request, authentication, permission, not_found,
                  // request_too_large, headers_too_large, unsupported_media_type,
                  // client_timeout, not_implemented
  kClientClosed,  // client_closed: the client left before the answer was complete
  kFailed,        // anything else: upstream_error, upstream_timeout, unavailable, rate_limit,
                  // internal, shutdown (the gateway or its upstreams failed it)
};
Outcome OutcomeOf(int status, std::string_view error_kind);

// The routing decision a row's `route` text records, named like the `decision` label of
// triage_route_decisions_total: "router", "default", "spilled", "pinned", "cascade_released",
// "cascade_escalated", "cascade_cheap_failed", plus "cascade_not_scored" (a cascade request cut
// short before its cheap answer was scored) and "none" (route '': refused before routing).
std::string RouteDecisionOf(std::string_view route);

// Sums over a set of rows (a tier, or all of them).
struct ReportTotals {
  int64_t requests = 0;
  int64_t answered = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  // The saving's two sides: rows with price_known = 1 only.
  int64_t priced_requests = 0;
  int64_t spend_micros = 0;      // their cost_micros
  int64_t reference_micros = 0;  // their reference_cost_micros
  // Mean cost per answer: the answered rows among them.
  int64_t priced_answered = 0;
  int64_t answered_spend_micros = 0;
  // Rows with price_known = 0: in requests and tokens above, in no money figure above.
  int64_t unpriced_requests = 0;
  int64_t unpriced_input_tokens = 0;
  int64_t unpriced_output_tokens = 0;
  int64_t unpriced_cost_micros = 0;       // the part of their cost that is known (priced attempts)
  int64_t unpriced_reference_micros = 0;  // their reference cost, left out of the saving

  int64_t saved_micros() const { return reference_micros - spend_micros; }
};

struct LedgerReport {
  int64_t first_ts_ms = 0;  // the rows' earliest and latest ts_ms (0 when no rows)
  int64_t last_ts_ms = 0;
  int64_t answered = 0, refused = 0, client_closed = 0, failed = 0;
  std::map<std::string, int64_t> error_kinds;  // rows by non-empty error_kind
  std::map<std::string, ReportTotals> tiers;   // by the row's tier ("" = no tier reached)
  ReportTotals overall;
  std::map<std::string, int64_t> unpriced_deployments;  // price_known = 0 rows by deployment
  std::map<std::string, int64_t> routes;                // rows by RouteDecisionOf(route)
  // "router" rows by the router's kind, the first word of their route: learned, length, ...
  std::map<std::string, int64_t> router_kinds;

  int64_t rows() const { return overall.requests; }
};

// Every row of the ledger at `url` (sqlite://PATH) with ts_ms >= since_ms. Errors as
// OpenLedgerForReading's (a bad or in-memory URL, a missing file, not a triage ledger), or a
// failed read.
Result<LedgerReport> ReadLedgerReport(const std::string& url, int64_t since_ms);

}  // namespace triage::store
