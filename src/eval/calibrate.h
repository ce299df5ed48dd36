#pragma once
// Thresholds that split traffic across tiers in requested shares. Pure; thread-safe.
#include <string>
#include <vector>

#include "common/result.h"

namespace triage::eval {

// "70/25/5" -> {0.70, 0.25, 0.05}. Shares must be positive and sum to 100 (±0.5).
Result<std::vector<double>> ParseSplit(const std::string& text);

// Ascending thresholds (shares.size()-1) so that ChooseTier(score) lands shares[i] of the
// scores in tier i. REQUIRES: scores non-empty, shares sum to 1.
std::vector<double> Calibrate(const std::vector<double>& scores, const std::vector<double>& shares);

// Achieved share per tier with those thresholds.
std::vector<double> Achieved(const std::vector<double>& scores,
                             const std::vector<double>& thresholds);

// "routing:\n  thresholds: [a, b]\n" snippet with a comment naming the split.
std::string ThresholdsYaml(const std::vector<double>& thresholds, const std::string& router,
                           const std::vector<double>& achieved);

}  // namespace triage::eval
