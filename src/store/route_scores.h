#pragma once
// Reading the routing scores back out of a ledger file, for `triage calibrate --ledger`:
// thresholds recalibrated on the scores live traffic actually got. Read-only; safe while a
// gateway is writing the same file (WAL readers see the last committed snapshot).
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace triage::store {

struct RouteScore {
  std::string kind;  // the first word of the row's `route`: learned, length, rules, random, cascade
  double score = 0;  // its `route_score`
};

// Every row of the ledger at `url` (sqlite://PATH only) with a route_score, ts_ms >= since_ms,
// in insertion order. Errors: a URL that is not a file ledger, a missing or non-ledger file,
// a schema that is not version 2 (a version-1 file has no scores).
Result<std::vector<RouteScore>> ReadRouteScores(const std::string& url, int64_t since_ms);

}  // namespace triage::store
