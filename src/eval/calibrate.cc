#include "eval/calibrate.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "routing/router.h"

namespace triage::eval {

Result<std::vector<double>> ParseSplit(const std::string& text) {
  std::vector<double> shares;
  std::stringstream ss(text);
  std::string part;
  double sum = 0;
  while (std::getline(ss, part, '/')) {
    char* end = nullptr;
    double v = std::strtod(part.c_str(), &end);
    if (part.empty() || *end != '\0' || v <= 0)
      return Error::Make(ErrorKind::kInvalidRequest, "bad_split",
                         "--split wants positive percentages like 70/25/5, got '" + text + "'");
    shares.push_back(v / 100.0);
    sum += v;
  }
  if (shares.size() < 2 || sum < 99.5 || sum > 100.5)
    return Error::Make(ErrorKind::kInvalidRequest, "bad_split",
                       "--split needs at least two shares summing to 100, got '" + text + "'");
  return shares;
}

std::vector<double> Calibrate(const std::vector<double>& scores,
                              const std::vector<double>& shares) {
  std::vector<double> sorted = scores;
  std::sort(sorted.begin(), sorted.end());
  std::vector<double> out;
  double cum = 0;
  for (size_t i = 0; i + 1 < shares.size(); ++i) {
    cum += shares[i];
    // The first score of the next tier: everything below it stays in the lower tiers.
    size_t k = std::min(sorted.size() - 1, static_cast<size_t>(cum * sorted.size() + 0.5));
    double t = sorted[k];
    // Midpoint to the previous distinct score keeps the threshold robust to tiny drifts.
    if (k > 0 && sorted[k - 1] < t) t = (sorted[k - 1] + t) / 2;
    if (!out.empty()) t = std::max(t, out.back());
    out.push_back(t);
  }
  return out;
}

std::vector<double> Achieved(const std::vector<double>& scores,
                             const std::vector<double>& thresholds) {
  std::vector<double> share(thresholds.size() + 1, 0.0);
  for (double s : scores) share[routing::ChooseTier(s, thresholds)] += 1.0;
  for (auto& v : share) v /= static_cast<double>(scores.size());
  return share;
}

std::string ThresholdsYaml(const std::vector<double>& thresholds, const std::string& router,
                           const std::vector<double>& achieved) {
  std::ostringstream o;
  o << "# calibrated for " << router << "; achieved split";
  char buf[64];
  for (size_t i = 0; i < achieved.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.1f", i ? "/" : " ", 100 * achieved[i]);
    o << buf;
  }
  o << "\nrouting:\n  router: " << router << "\n  thresholds: [";
  for (size_t i = 0; i < thresholds.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.6f", i ? ", " : "", thresholds[i]);
    o << buf;
  }
  o << "]\n";
  return o.str();
}

}  // namespace triage::eval
