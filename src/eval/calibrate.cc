#include "eval/calibrate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "eval/metrics.h"
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
    // Decimal numbers only: strtod also reads "nan" (which failed no comparison below and
    // made NaN thresholds), "inf" and hex.
    if (part.empty() || part.find_first_not_of("0123456789.eE+-") != std::string::npos ||
        *end != '\0' || !(v > 0))
      return Error::Make(ErrorKind::kInvalidRequest, "bad_split",
                         "--split wants positive percentages like 70/25/5, got '" + text + "'");
    shares.push_back(v / 100.0);
    sum += v;
  }
  // A trailing '/' ("70/30/") is a share left out, as an empty one in the middle is.
  if (!text.empty() && text.back() == '/')
    return Error::Make(ErrorKind::kInvalidRequest, "bad_split",
                       "--split wants positive percentages like 70/25/5, got '" + text + "'");
  if (shares.size() < 2 || !(sum >= 99.5 && sum <= 100.5))
    return Error::Make(ErrorKind::kInvalidRequest, "bad_split",
                       "--split needs at least two shares summing to 100, got '" + text + "'");
  return shares;
}

namespace {

// "%.*f" of `v`.
std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

double ThresholdBetween(double lo, double hi) {
  // The midpoint, written with the fewest decimals (at least six, as the snippet has always
  // shown them) that still lie above `lo` and at most `hi`: the snippet's text is then the
  // threshold itself, and reads back on the same side of every score. Six decimals alone put
  // the threshold past one of two scores closer than 1e-6 (long prompts' `length` scores).
  const double mid = lo + (hi - lo) / 2;
  for (int d = 6; d <= 17; ++d) {
    const double t = std::strtod(Fixed(mid, d).c_str(), nullptr);
    if (lo < t && t <= hi) return t;
  }
  return mid > lo ? mid : hi;
}

namespace {

// Scores below a threshold can only be counted at the edges of tie groups: the cuts achievable
// on sorted scores are 0, every c with sorted[c - 1] < sorted[c], and n when the top score is
// below 1 (a threshold above it must still be a valid one, in [0, 1]). Of those, the one
// closest to `target` (a count); an equal distance goes to the higher cut, which on untied
// scores rounds half up as before.
size_t ClosestCut(const std::vector<double>& sorted, double target) {
  const size_t n = sorted.size();
  const size_t i = std::min(n - 1, static_cast<size_t>(std::max(0.0, target)));
  const auto group = std::equal_range(sorted.begin(), sorted.end(), sorted[i]);
  const size_t down = static_cast<size_t>(group.first - sorted.begin());
  size_t up = static_cast<size_t>(group.second - sorted.begin());
  if (up == n && !(sorted.back() < 1.0)) up = down;
  return target - static_cast<double>(down) < static_cast<double>(up) - target ? down : up;
}

// The threshold that puts exactly `cut` of the sorted scores below it.
double ThresholdAt(const std::vector<double>& sorted, size_t cut) {
  if (cut == 0) return sorted.front();
  // Midpoint to the previous distinct score keeps the threshold robust to tiny drifts.
  if (cut < sorted.size()) return ThresholdBetween(sorted[cut - 1], sorted[cut]);
  return ThresholdBetween(sorted.back(), 1.0);  // above every score: nothing goes up
}

std::string Shares(const std::vector<double>& v) {
  std::string out;
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.1f", i ? "/" : "", 100 * v[i]);
    out += buf;
  }
  return out;
}

}  // namespace

std::vector<double> Calibrate(const std::vector<double>& scores,
                              const std::vector<double>& shares) {
  std::vector<double> sorted = scores;
  std::sort(sorted.begin(), sorted.end());
  std::vector<double> out;
  double cum = 0;
  for (size_t i = 0; i + 1 < shares.size(); ++i) {
    cum += shares[i];
    double t = ThresholdAt(sorted, ClosestCut(sorted, cum * static_cast<double>(sorted.size())));
    if (!out.empty()) t = std::max(t, out.back());
    out.push_back(t);
  }
  return out;
}

std::string SplitShortfall(const std::vector<double>& scores, const std::vector<double>& shares,
                           const std::vector<double>& achieved, double tolerance) {
  double worst = 0;
  for (size_t i = 0; i < shares.size() && i < achieved.size(); ++i)
    worst = std::max(worst, std::abs(achieved[i] - shares[i]));
  if (!(worst > tolerance + 1e-9)) return "";
  std::vector<double> sorted = scores;
  std::sort(sorted.begin(), sorted.end());
  const double n = static_cast<double>(sorted.size());
  char buf[160];
  std::snprintf(buf, sizeof buf, "the achieved split %s is %.1f points from the requested %s",
                Shares(achieved).c_str(), 100 * worst, Shares(shares).c_str());
  std::string out = buf;
  // The tie groups a requested boundary falls inside: they cannot be split between tiers.
  std::string ties;
  double cum = 0, last = -1;
  for (size_t i = 0; i + 1 < shares.size(); ++i) {
    cum += shares[i];
    const double target = cum * n;
    const size_t at = std::min(sorted.size() - 1, static_cast<size_t>(target));
    const auto group = std::equal_range(sorted.begin(), sorted.end(), sorted[at]);
    const double lo = static_cast<double>(group.first - sorted.begin());
    const double hi = static_cast<double>(group.second - sorted.begin());
    if (!(lo < target && target < hi) || hi - lo < 2 || sorted[at] == last) continue;
    last = sorted[at];
    if (ties.empty())
      std::snprintf(buf, sizeof buf, "%.1f%% of the %.0f scores are %.6f", 100 * (hi - lo) / n, n,
                    sorted[at]);
    else
      std::snprintf(buf, sizeof buf, ", %.1f%% are %.6f", 100 * (hi - lo) / n, sorted[at]);
    ties += buf;
  }
  if (!ties.empty())
    return out + ": tied scores always go to the same tier (" + ties +
           "), so only certain splits are achievable and this is the closest";
  std::snprintf(buf, sizeof buf,
                ": with %.0f scores, each one moves a tier's share by %.1f points; this is the "
                "closest achievable split",
                n, 100 / n);
  return out + buf;
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
  r.pgr = StrongBetter(qw, qs) ? 1.0 : 0.0;
  if (!StrongBetter(qw, qs)) return r;
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
      r.threshold = k < n ? ThresholdBetween(scores[order[k]], s) : s;
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
    // Six decimals, or as many more as it takes to read back as exactly this threshold
    // (ThresholdBetween's have at most as many as they need; the lowest score may have 17).
    int d = 6;
    while (d < 17 && std::strtod(Fixed(thresholds[i], d).c_str(), nullptr) != thresholds[i]) ++d;
    o << (i ? ", " : "") << Fixed(thresholds[i], d);
  }
  o << "]\n";
  return o.str();
}

}  // namespace triage::eval
