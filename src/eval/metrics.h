#pragma once
// RouteLLM's router metrics over recorded outcomes. A query goes to the strong model when
// its score >= threshold. Pure functions; thread-safe.
#include <vector>

namespace triage::eval {

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

// numpy.percentile(v, p * 100) with linear interpolation. REQUIRES: p in [0,1], v non-empty.
double Quantile(std::vector<double> v, double p);

}  // namespace triage::eval
