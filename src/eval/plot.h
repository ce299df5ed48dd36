#pragma once
// SVG cost-quality curve: the router's fine curve and deciles, with the random (straight
// line) and oracle references. Pure; thread-safe.
#include <string>
#include <utility>
#include <vector>

#include "eval/dataset.h"
#include "eval/report.h"

namespace triage::eval {

// oracle: the best achievable curve (strong only where it beats cheap), from the queries.
std::string PlotSvg(const BenchReport& r, const std::vector<CurvePoint>& oracle,
                    const std::string& title);

// Several routers' curves on the same queries in one picture, each with its own colour and a
// legend entry "SPEC (APGR x)". REQUIRES: routers non-empty, all from the same queries.
std::string PlotSvgCompare(const std::vector<std::pair<std::string, BenchReport>>& routers,
                           const std::vector<CurvePoint>& oracle);

// Curve of the oracle router for these queries (scores = strong - cheap).
std::vector<CurvePoint> OracleCurve(const std::vector<const Query*>& qs);

}  // namespace triage::eval
