#pragma once
// RouteLLM's router metrics over recorded outcomes. A query goes to the strong model when
// its score >= threshold. Pure functions; thread-safe.
#include <cstdint>
#include <optional>
#include <vector>

namespace triage::eval {

class Progress;  // eval/progress.h

struct CurvePoint {
  double strong_fraction = 0;  // share of queries sent to the strong model
  double quality = 0;          // mean score of the chosen answers
};

// (q - q_weak) / (q_strong - q_weak); 0 when the two models tie.
double Pgr(double q, double q_weak, double q_strong);

// The point reached with one threshold. REQUIRES: equal sizes, non-empty.
CurvePoint PointAt(const std::vector<double>& scores, const std::vector<double>& cheap,
                   const std::vector<double>& strong, double threshold);

// Thresholds at the n quantile edges of the scores (numpy-style linear percentiles),
// plus the all-cheap and all-strong ends: n+1 points sorted by strong_fraction.
std::vector<CurvePoint> QuantileCurve(const std::vector<double>& scores,
                                      const std::vector<double>& cheap,
                                      const std::vector<double>& strong, int n = 10);
// One point per distinct score (every achievable split), sorted by strong_fraction.
std::vector<CurvePoint> FineCurve(const std::vector<double>& scores,
                                  const std::vector<double>& cheap,
                                  const std::vector<double>& strong);

// Trapezoid area under PGR over strong_fraction. REQUIRES: curve sorted by strong_fraction.
double Apgr(const std::vector<CurvePoint>& curve, double q_weak, double q_strong);
// Smallest strong fraction where PGR reaches x, linearly interpolated; 1 if never.
double Cpt(const std::vector<CurvePoint>& curve, double q_weak, double q_strong, double x);

// How far APGR and CPT(50%) could move on another sample of the same size: a percentile
// bootstrap. Each of `resamples` draws n queries with replacement (seeded: the same inputs give
// the same interval) and is measured exactly as above, on its own cheap-only and strong-only
// qualities; the interval holds the central `level` share of the results. Draws where the
// strong model is not better are left out (`used` counts the rest); nullopt when more than
// half are, or when resamples < 1. `progress`, when given, hears of each resample (the caller
// begins the stage).
struct BootstrapInterval {
  double apgr_lo = 0, apgr_hi = 0;
  double cpt50_lo = 0, cpt50_hi = 0;
  int used = 0;
};
std::optional<BootstrapInterval> Bootstrap(const std::vector<double>& scores,
                                           const std::vector<double>& cheap,
                                           const std::vector<double>& strong, int resamples,
                                           uint64_t seed = 1, double level = 0.95,
                                           Progress* progress = nullptr);

// Whether router b beats router a on the same queries: APGR(b) - APGR(a) on all of them, and a
// paired percentile bootstrap of that difference (each draw resamples the queries once and
// measures both routers on it, so what the draw does to both cancels out). Draws where the
// strong model is not better are left out; nullopt as for Bootstrap; `progress` as for
// Bootstrap. REQUIRES: equal sizes.
struct PairedInterval {
  double difference = 0, lo = 0, hi = 0;
  int used = 0;
};
std::optional<PairedInterval> BootstrapDifference(const std::vector<double>& scores_a,
                                                  const std::vector<double>& scores_b,
                                                  const std::vector<double>& cheap,
                                                  const std::vector<double>& strong, int resamples,
                                                  uint64_t seed = 1, double level = 0.95,
                                                  Progress* progress = nullptr);

// numpy.percentile(v, p * 100) with linear interpolation. REQUIRES: p in [0,1], v non-empty.
double Quantile(std::vector<double> v, double p);

}  // namespace triage::eval
