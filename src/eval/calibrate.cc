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

FloorResult CalibrateFloor(const std::vector<double>& scores, const std::vector<double>& cheap,
                           const std::vector<double>& strong, double min_pgr) {
  const size_t n = scores.size();
  double qw = 0, qs = 0;
  for (size_t i = 0; i < n; ++i) {
    qw += cheap[i];
    qs += strong[i];
  }
  qw /= n;
  qs /= n;
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  FloorResult r;
  r.threshold = scores[order.back()];  // everything strong
  r.pgr = qs > qw ? 1.0 : 0.0;
  if (!(qs > qw)) return r;
  double gain = 0;  // sum of (strong - cheap) over the queries sent strong so far
  for (size_t k = 0; k < n;) {
    const double s = scores[order[k]];
    while (k < n && scores[order[k]] == s) {
      gain += strong[order[k]] - cheap[order[k]];
      ++k;
    }
    const double pgr = (gain / n) / (qs - qw);
    if (pgr >= min_pgr - 1e-12) {
      r.reached = true;
      r.pgr = pgr;
      r.strong_fraction = static_cast<double>(k) / n;
      r.threshold = k < n ? (s + scores[order[k]]) / 2 : s;
      return r;
    }
  }
  return r;
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
