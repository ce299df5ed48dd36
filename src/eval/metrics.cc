#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "eval/progress.h"

namespace triage::eval {

double Pgr(double q, double q_weak, double q_strong) {
  double gap = q_strong - q_weak;
  return gap == 0 ? 0.0 : (q - q_weak) / gap;
}

bool StrongBetter(double q_weak, double q_strong) { return q_strong - q_weak > 1e-9; }

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

// Quantile of an already sorted vector, with numpy's arithmetic (numpy.percentile, method
// "linear", numpy >= 1.22): index (n - 1) * p, and the interpolation taken from the upper
// neighbour when the fraction is >= 0.5. The same doubles as numpy, so a threshold that numpy
// puts a hair above a score (and so sends that score cheap) is the same here.
double SortedQuantile(const std::vector<double>& v, double p) {
  const double index = static_cast<double>(v.size() - 1) * p;
  if (!(index < static_cast<double>(v.size() - 1))) return v.back();
  if (!(index > 0)) return v.front();
  const double below = std::floor(index);
  const size_t lo = static_cast<size_t>(below);
  const double t = index - below, a = v[lo], b = v[lo + 1], diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

}  // namespace

double Quantile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return SortedQuantile(v, p);
}

double RouteLlmLevel(int k, int n) {
  if (k >= n) return 1.0;  // linspace sets its endpoint exactly
  // numpy.linspace(0, 1, n + 1)[k] is k * (1 / n); pandas' Series.quantile passes it to
  // numpy.percentile as a percentage, which divides it by 100 again.
  const double level = static_cast<double>(k) * (1.0 / n);
  return level * 100.0 / 100.0;
}

std::vector<CurvePoint> QuantileCurve(const std::vector<double>& scores,
                                      const std::vector<double>& cheap,
                                      const std::vector<double>& strong, int n) {
  std::vector<CurvePoint> out;
  double qw = std::accumulate(cheap.begin(), cheap.end(), 0.0) / cheap.size();
  double qs = std::accumulate(strong.begin(), strong.end(), 0.0) / strong.size();
  // RouteLLM (routellm/evals/benchmarks.py): the n + 1 edges of pandas.qcut(scores, n); a
  // query goes strong when its score >= the edge, except at the top edge (the largest score),
  // where it must be > it. So the first edge sends everything strong and the last nothing.
  out.push_back({0.0, qw});
  std::vector<double> sorted = scores;  // sorted once for all n - 1 thresholds
  std::sort(sorted.begin(), sorted.end());
  for (int k = 1; k < n; ++k)
    out.push_back(PointAt(scores, cheap, strong, SortedQuantile(sorted, RouteLlmLevel(k, n))));
  out.push_back({1.0, qs});
  std::stable_sort(out.begin(), out.end(), [](const CurvePoint& a, const CurvePoint& b) {
    return a.strong_fraction < b.strong_fraction;
  });
  return out;
}

std::vector<CurvePoint> FineCurve(const std::vector<double>& scores,
                                  const std::vector<double>& cheap,
                                  const std::vector<double>& strong, size_t resolution) {
  std::vector<size_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  double n = static_cast<double>(scores.size());
  double sum = std::accumulate(cheap.begin(), cheap.end(), 0.0);
  std::vector<CurvePoint> out{{0.0, sum / n}};
  size_t kept = 0;  // queries sent strong at the last point kept
  for (size_t k = 0; k < idx.size(); ++k) {
    sum += strong[idx[k]] - cheap[idx[k]];
    // Tied scores move together: only emit once the whole tie group has switched.
    if (k + 1 < idx.size() && scores[idx[k + 1]] == scores[idx[k]]) continue;
    // Thinned to steps of at least n / resolution queries (integers: no rounding drift).
    if (k + 1 < idx.size() && (k + 1 - kept) * resolution < idx.size()) continue;
    kept = k + 1;
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

namespace {

// Calls fn(qw, qs, pick) for `resamples` draws of n query indices with replacement, where qw
// and qs are the draw's cheap-only and strong-only qualities; only draws where
// StrongBetter(qw, qs) reach fn. Returns how many did. Reports each draw to progress (may be null).
template <typename Fn>
int ForEachDraw(const std::vector<double>& cheap, const std::vector<double>& strong, int resamples,
                uint64_t seed, Progress* progress, Fn fn) {
  const size_t n = cheap.size();
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, n - 1);
  std::vector<size_t> idx(n);
  int used = 0;
  for (int r = 0; r < resamples; ++r) {
    double qw = 0, qs = 0;
    for (size_t i = 0; i < n; ++i) {
      idx[i] = pick(rng);
      qw += cheap[idx[i]];
      qs += strong[idx[i]];
    }
    qw /= n;
    qs /= n;
    if (StrongBetter(qw, qs)) {
      ++used;
      fn(qw, qs, idx);
    }
    if (progress != nullptr) progress->Update(static_cast<size_t>(r) + 1);
  }
  return used;
}

// v[idx[0]], v[idx[1]], ... into out.
void Gather(const std::vector<double>& v, const std::vector<size_t>& idx,
            std::vector<double>& out) {
  out.resize(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) out[i] = v[idx[i]];
}

}  // namespace

std::optional<BootstrapInterval> Bootstrap(const std::vector<double>& scores,
                                           const std::vector<double>& cheap,
                                           const std::vector<double>& strong, int resamples,
                                           uint64_t seed, double level, Progress* progress) {
  if (resamples < 1 || scores.empty()) return std::nullopt;
  std::vector<double> s, c, st, apgr, cpt50;
  const int used = ForEachDraw(cheap, strong, resamples, seed, progress,
                               [&](double qw, double qs, const std::vector<size_t>& idx) {
                                 Gather(scores, idx, s);
                                 Gather(cheap, idx, c);
                                 Gather(strong, idx, st);
                                 auto curve = QuantileCurve(s, c, st, 10);
                                 apgr.push_back(Apgr(curve, qw, qs));
                                 cpt50.push_back(Cpt(curve, qw, qs, 0.5));
                               });
  if (used == 0 || 2 * used < resamples) return std::nullopt;
  const double tail = (1.0 - level) / 2;
  BootstrapInterval out;
  out.apgr_lo = Quantile(apgr, tail);
  out.apgr_hi = Quantile(apgr, 1.0 - tail);
  out.cpt50_lo = Quantile(cpt50, tail);
  out.cpt50_hi = Quantile(cpt50, 1.0 - tail);
  out.used = used;
  return out;
}

std::optional<PairedInterval> BootstrapDifference(const std::vector<double>& scores_a,
                                                  const std::vector<double>& scores_b,
                                                  const std::vector<double>& cheap,
                                                  const std::vector<double>& strong, int resamples,
                                                  uint64_t seed, double level, Progress* progress) {
  if (resamples < 1 || scores_a.empty()) return std::nullopt;
  const double qw = std::accumulate(cheap.begin(), cheap.end(), 0.0) / cheap.size();
  const double qs = std::accumulate(strong.begin(), strong.end(), 0.0) / strong.size();
  if (!StrongBetter(qw, qs)) return std::nullopt;
  PairedInterval out;
  out.difference = Apgr(QuantileCurve(scores_b, cheap, strong, 10), qw, qs) -
                   Apgr(QuantileCurve(scores_a, cheap, strong, 10), qw, qs);
  std::vector<double> a, b, c, st, diff;
  out.used = ForEachDraw(cheap, strong, resamples, seed, progress,
                         [&](double dqw, double dqs, const std::vector<size_t>& idx) {
                           Gather(scores_a, idx, a);
                           Gather(scores_b, idx, b);
                           Gather(cheap, idx, c);
                           Gather(strong, idx, st);
                           diff.push_back(Apgr(QuantileCurve(b, c, st, 10), dqw, dqs) -
                                          Apgr(QuantileCurve(a, c, st, 10), dqw, dqs));
                         });
  if (out.used == 0 || 2 * out.used < resamples) return std::nullopt;
  const double tail = (1.0 - level) / 2;
  out.lo = Quantile(diff, tail);
  out.hi = Quantile(diff, 1.0 - tail);
  return out;
}

}  // namespace triage::eval
