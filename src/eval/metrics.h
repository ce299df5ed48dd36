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

// Whether the strong model is better: q_strong - q_weak > 1e-9, so that two means of the same
// scores summed in another order (0.1 + 0.2 + 0.3 against 0.3 + 0.2 + 0.1 differ in the last
// bit: fractional judge scores often tie this way) count as a tie, not as a gap of 1e-16 that
// PGR would divide by. PGR, APGR and CPT are defined only when this holds. A real gap is at
// least the smallest score step over the number of queries (0.1 / n for scores in tenths),
// above 1e-9 for any n below 10^8.
bool StrongBetter(double q_weak, double q_strong);

// The point reached with one threshold. REQUIRES: equal sizes, non-empty.
CurvePoint PointAt(const std::vector<double>& scores, const std::vector<double>& cheap,
                   const std::vector<double>& strong, double threshold);

// Thresholds at the n quantile edges of the scores as RouteLLM takes them (pandas.qcut(scores,
// n), numpy's linear percentiles, to the same doubles: see RouteLlmLevel), plus the all-cheap
// and all-strong ends: n+1 points sorted by strong_fraction.
std::vector<CurvePoint> QuantileCurve(const std::vector<double>& scores,
                                      const std::vector<double>& cheap,
                                      const std::vector<double>& strong, int n = 10);
// One point per distinct score (every achievable split), sorted by strong_fraction, at most
// `resolution` + 1 of them: on more queries than that, a split is kept only once the strong
// fraction has moved by 1/resolution since the last one kept (the all-strong end is always
// kept), so 200,000 distinct scores make ~1,000 points, not 200,000 (36 MB of `eval --json`).
// Every split is kept when there are at most `resolution` queries.
std::vector<CurvePoint> FineCurve(const std::vector<double>& scores,
                                  const std::vector<double>& cheap,
                                  const std::vector<double>& strong, size_t resolution = 1000);

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

// numpy.quantile(v, p) with linear interpolation, to the same double (numpy >= 1.22).
// REQUIRES: p in [0,1], v non-empty.
double Quantile(std::vector<double> v, double p);

// The quantile level of RouteLLM's edge k of n: numpy.linspace(0, 1, n + 1)[k], which pandas
// (2.x) hands to numpy.percentile as k * (1 / n) * 100 and numpy divides by 100 again, so edge 7
// of 10 is 0.7 while edge 6 is 0.6000000000000001. At a sample size where the exact level
// lands on a score (n - 1 divisible by 10, such as MMLU's 9,801), that last bit decides whether
// the score at the edge is sent strong, as it does in RouteLLM's figures. REQUIRES: 0 <= k.
double RouteLlmLevel(int k, int n);

}  // namespace triage::eval
