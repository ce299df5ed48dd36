#pragma once
// Thresholds that split traffic across tiers in requested shares. Pure; thread-safe.
#include <string>
#include <vector>

#include "common/result.h"

namespace triage::eval {

// "70/25/5" -> {0.70, 0.25, 0.05}. Shares must be positive decimal numbers (no nan, inf or
// hex) and sum to 100 (±0.5).
Result<std::vector<double>> ParseSplit(const std::string& text);

// Ascending thresholds (shares.size()-1) so that ChooseTier(score) lands shares[i] of the
// scores in tier i, as near as the scores allow: tied scores always go to the same tier, so
// each threshold sits at the achievable boundary (between two distinct scores, below all or,
// when the top score is below 1, above all) closest to its cumulative share, halfway between
// the scores on either side. REQUIRES: scores non-empty, shares sum to 1.
std::vector<double> Calibrate(const std::vector<double>& scores, const std::vector<double>& shares);

// "" when every tier's achieved share (from Achieved) is within `tolerance` of the requested
// one; otherwise a sentence for a warning: how far off the split is and why (the tied scores a
// requested boundary falls inside, or too few scores to split finer).
std::string SplitShortfall(const std::vector<double>& scores, const std::vector<double>& shares,
                           const std::vector<double>& achieved, double tolerance = 0.02);

// Quality floor: the threshold with the fewest strong calls whose PGR on this data reaches
// min_pgr (a query goes strong when its score >= threshold). Scores are taken in descending
// groups of equal value, so the threshold sits halfway between the last group sent strong and
// the next lower score. Sending everything strong is PGR 1, so the floor is always reached
// unless the strong model is no better than the cheap one on this data: then reached = false
// and the threshold sends everything strong.
// REQUIRES: equal sizes, non-empty; min_pgr in (0, 1].
struct FloorResult {
  double threshold = 0, strong_fraction = 1, pgr = 0;
  bool reached = false;
};
FloorResult CalibrateFloor(const std::vector<double>& scores, const std::vector<double>& cheap,
                           const std::vector<double>& strong, double min_pgr);

// A threshold above `lo` and at most `hi` (lo < hi): their midpoint with the fewest decimals,
// at least six, that keep it there, so the snippet's text reads back as this very threshold.
double ThresholdBetween(double lo, double hi);

// Achieved share per tier with those thresholds.
std::vector<double> Achieved(const std::vector<double>& scores,
                             const std::vector<double>& thresholds);

// "routing:\n  thresholds: [a, b]\n" snippet with a comment naming the split.
std::string ThresholdsYaml(const std::vector<double>& thresholds, const std::string& router,
                           const std::vector<double>& achieved);

}  // namespace triage::eval
