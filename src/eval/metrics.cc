#include "eval/metrics.h"

#include <algorithm>
#include <numeric>
#include <random>

namespace triage::eval {

double Pgr(double q, double q_weak, double q_strong) {
  double gap = q_strong - q_weak;
  return gap == 0 ? 0.0 : (q - q_weak) / gap;
}

CurvePoint PointAt(const std::vector<double>& scores, const std::vector<double>& cheap,
                   const std::vector<double>& strong, double threshold) {
  double sum = 0;
  size_t n_strong = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    bool s = scores[i] >= threshold;
    n_strong += s;
    sum += s ? strong[i] : cheap[i];
  }
  double n = static_cast<double>(scores.size());
  return {static_cast<double>(n_strong) / n, sum / n};
}

namespace {

// Quantile of an already sorted vector.
double SortedQuantile(const std::vector<double>& v, double p) {
  double pos = p * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  if (lo + 1 >= v.size()) return v.back();
  double frac = pos - static_cast<double>(lo);
  return v[lo] + (v[lo + 1] - v[lo]) * frac;
}

}  // namespace

double Quantile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return SortedQuantile(v, p);
}

std::vector<CurvePoint> QuantileCurve(const std::vector<double>& scores,
                                      const std::vector<double>& cheap,
                                      const std::vector<double>& strong, int n) {
  std::vector<CurvePoint> out;
  double qw = std::accumulate(cheap.begin(), cheap.end(), 0.0) / cheap.size();
  double qs = std::accumulate(strong.begin(), strong.end(), 0.0) / strong.size();
  out.push_back({0.0, qw});
  std::vector<double> sorted = scores;  // sorted once for all n - 1 thresholds
  std::sort(sorted.begin(), sorted.end());
  for (int k = 1; k < n; ++k) {
    out.push_back(PointAt(scores, cheap, strong, SortedQuantile(sorted, 1.0 - double(k) / n)));
  }
  out.push_back({1.0, qs});
  std::stable_sort(out.begin(), out.end(), [](const CurvePoint& a, const CurvePoint& b) {
    return a.strong_fraction < b.strong_fraction;
  });
  return out;
}

std::vector<CurvePoint> FineCurve(const std::vector<double>& scores,
                                  const std::vector<double>& cheap,
                                  const std::vector<double>& strong) {
  std::vector<size_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  double n = static_cast<double>(scores.size());
  double sum = std::accumulate(cheap.begin(), cheap.end(), 0.0);
  std::vector<CurvePoint> out{{0.0, sum / n}};
  for (size_t k = 0; k < idx.size(); ++k) {
    sum += strong[idx[k]] - cheap[idx[k]];
    // Tied scores move together: only emit once the whole tie group has switched.
    if (k + 1 < idx.size() && scores[idx[k + 1]] == scores[idx[k]]) continue;
    out.push_back({static_cast<double>(k + 1) / n, sum / n});
  }
  return out;
}

double Apgr(const std::vector<CurvePoint>& curve, double q_weak, double q_strong) {
  double area = 0;
  for (size_t i = 1; i < curve.size(); ++i) {
    double dx = curve[i].strong_fraction - curve[i - 1].strong_fraction;
    area +=
        dx *
        (Pgr(curve[i].quality, q_weak, q_strong) + Pgr(curve[i - 1].quality, q_weak, q_strong)) /
        2.0;
  }
  return area;
}

double Cpt(const std::vector<CurvePoint>& curve, double q_weak, double q_strong, double x) {
  for (size_t i = 0; i < curve.size(); ++i) {
    double p = Pgr(curve[i].quality, q_weak, q_strong);
    if (p < x) continue;
    if (i == 0) return curve[0].strong_fraction;
    double p0 = Pgr(curve[i - 1].quality, q_weak, q_strong);
    double f0 = curve[i - 1].strong_fraction, f1 = curve[i].strong_fraction;
    return p == p0 ? f1 : f0 + (x - p0) / (p - p0) * (f1 - f0);
  }
  return 1.0;
}

std::optional<BootstrapInterval> Bootstrap(const std::vector<double>& scores,
                                           const std::vector<double>& cheap,
                                           const std::vector<double>& strong, int resamples,
                                           uint64_t seed, double level) {
  if (resamples < 1 || scores.empty()) return std::nullopt;
  const size_t n = scores.size();
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, n - 1);
  std::vector<double> s(n), c(n), st(n), apgr, cpt50;
  for (int r = 0; r < resamples; ++r) {
    double qw = 0, qs = 0;
    for (size_t i = 0; i < n; ++i) {
      const size_t k = pick(rng);
      s[i] = scores[k];
      c[i] = cheap[k];
      st[i] = strong[k];
      qw += c[i];
      qs += st[i];
    }
    qw /= n;
    qs /= n;
    if (!(qs > qw)) continue;
    auto curve = QuantileCurve(s, c, st, 10);
    apgr.push_back(Apgr(curve, qw, qs));
    cpt50.push_back(Cpt(curve, qw, qs, 0.5));
  }
  if (apgr.empty() || 2 * apgr.size() < static_cast<size_t>(resamples)) return std::nullopt;
  const double tail = (1.0 - level) / 2;
  BootstrapInterval out;
  out.apgr_lo = Quantile(apgr, tail);
  out.apgr_hi = Quantile(apgr, 1.0 - tail);
  out.cpt50_lo = Quantile(cpt50, tail);
  out.cpt50_hi = Quantile(cpt50, 1.0 - tail);
  out.used = static_cast<int>(apgr.size());
  return out;
}

}  // namespace triage::eval
