#include "eval/metrics.h"

#include <gtest/gtest.h>

#include <numeric>

namespace triage::eval {
namespace {

TEST(Metrics, Pgr) {
  EXPECT_DOUBLE_EQ(Pgr(0.5, 0.4, 0.6), 0.5);
  EXPECT_DOUBLE_EQ(Pgr(0.4, 0.4, 0.6), 0.0);
  EXPECT_DOUBLE_EQ(Pgr(0.7, 0.4, 0.6), 1.5);
  EXPECT_DOUBLE_EQ(Pgr(0.5, 0.5, 0.5), 0.0);  // no gap: defined as 0
}

TEST(Metrics, QuantileIsNumpyLinear) {
  EXPECT_DOUBLE_EQ(Quantile({1, 2, 3, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(Quantile({4, 1, 3, 2}, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(Quantile({1, 2, 3, 4}, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(Quantile({0, 10}, 0.25), 2.5);
}

TEST(Metrics, PointAtSendsScoresAtOrAboveThreshold) {
  // Query 0: strong needed (0 -> 1). Query 1: tie. Query 2: cheap better (1 -> 0).
  std::vector<double> s{0.9, 0.5, 0.1}, cheap{0, 1, 1}, strong{1, 1, 0};
  CurvePoint p = PointAt(s, cheap, strong, 0.5);
  EXPECT_DOUBLE_EQ(p.strong_fraction, 2.0 / 3);
  EXPECT_DOUBLE_EQ(p.quality, 1.0);  // strong 1, strong 1, cheap 1
  EXPECT_DOUBLE_EQ(PointAt(s, cheap, strong, 0.95).quality, 2.0 / 3);  // all cheap
}

TEST(Metrics, ApgrOfPerfectTwoQueryRouter) {
  // 4 queries: q_w = 0.5, q_s = 1.0. Queries 0,1 need strong; 2,3 fine on cheap.
  std::vector<CurvePoint> c{{0, 0.5}, {0.25, 0.75}, {0.5, 1.0}, {1.0, 1.0}};
  // PGR: 0, 0.5, 1, 1 -> area = 0.25*0.25 + 0.25*0.75 + 0.5*1 = 0.75
  EXPECT_DOUBLE_EQ(Apgr(c, 0.5, 1.0), 0.75);
  EXPECT_DOUBLE_EQ(Cpt(c, 0.5, 1.0, 0.5), 0.25);
  EXPECT_DOUBLE_EQ(Cpt(c, 0.5, 1.0, 0.8), 0.25 + 0.3 / 0.5 * 0.25);  // interpolated: 0.4
}

TEST(Metrics, RandomLineHasHalfArea) {
  std::vector<CurvePoint> c{{0, 0.2}, {1, 0.6}};
  EXPECT_DOUBLE_EQ(Apgr(c, 0.2, 0.6), 0.5);
  EXPECT_NEAR(Cpt(c, 0.2, 0.6, 0.5), 0.5, 1e-12);
  EXPECT_NEAR(Cpt(c, 0.2, 0.6, 0.8), 0.8, 1e-12);
}

TEST(Metrics, CptNeverReachedIsOne) {
  std::vector<CurvePoint> c{{0, 0.5}, {0.5, 0.55}, {1, 0.55}};
  EXPECT_DOUBLE_EQ(Cpt(c, 0.5, 0.6, 0.8), 1.0);
}

TEST(Metrics, AllTiedScoresGiveTheRandomLine) {
  std::vector<double> s(10, 0.3), cheap(10, 0), strong(10, 0);
  for (int i = 0; i < 5; ++i) strong[i] = 1;  // q_w = 0, q_s = 0.5
  auto c = QuantileCurve(s, cheap, strong, 10);
  ASSERT_EQ(c.size(), 11u);
  EXPECT_DOUBLE_EQ(c.front().strong_fraction, 0.0);
  // Every interior threshold equals the tied score, so all switch together.
  for (size_t i = 1; i < c.size(); ++i) EXPECT_DOUBLE_EQ(c[i].strong_fraction, 1.0);
  EXPECT_DOUBLE_EQ(Apgr(c, 0.0, 0.5), 0.5);
  auto f = FineCurve(s, cheap, strong);
  ASSERT_EQ(f.size(), 2u);  // tie group moves as one
  EXPECT_DOUBLE_EQ(f[1].quality, 0.5);
}

TEST(Metrics, QuantileCurveOfPerfectRouter) {
  // 10 queries, the first 2 need strong and get the highest scores.
  std::vector<double> s, cheap, strong;
  for (int i = 0; i < 10; ++i) {
    s.push_back(1.0 - i * 0.1);
    cheap.push_back(i < 2 ? 0 : 1);
    strong.push_back(1);
  }
  auto c = QuantileCurve(s, cheap, strong, 10);
  ASSERT_EQ(c.size(), 11u);
  EXPECT_NEAR(c[1].strong_fraction, 0.1, 1e-12);
  EXPECT_NEAR(c[1].quality, 0.9, 1e-12);
  EXPECT_NEAR(c[2].quality, 1.0, 1e-12);
  // PGR: 0, .5, 1, ..., 1 -> area = 0.1*0.25 + 0.1*0.75 + 0.8 = 0.9
  EXPECT_NEAR(Apgr(c, 0.8, 1.0), 0.9, 1e-12);
  EXPECT_NEAR(Cpt(c, 0.8, 1.0, 0.5), 0.1, 1e-12);
}

// A router that ranks `needs` (strong right, cheap wrong) above the rest with some noise:
// `copies` copies of a fixed 40-query pattern.
void NoisyRouter(int copies, std::vector<double>& s, std::vector<double>& cheap,
                 std::vector<double>& strong) {
  for (int c = 0; c < copies; ++c)
    for (int i = 0; i < 40; ++i) {
      const bool needs = i % 4 == 0, both = i % 4 == 1;
      cheap.push_back(needs ? 0 : (both ? 1 : (i % 8 == 2 ? 0 : 1)));
      strong.push_back(needs || both ? 1 : (i % 8 == 3 ? 0 : 1));
      // Needing queries score high, except every fifth; a few others score high too.
      s.push_back((needs && i % 20 != 0) || i % 10 == 7 ? 0.8 + 0.001 * i : 0.2 + 0.001 * i);
    }
}

TEST(Metrics, BootstrapIntervalHoldsTheEstimateAndNarrowsWithMoreData) {
  std::vector<double> s, cheap, strong;
  NoisyRouter(5, s, cheap, strong);
  const double qw = std::accumulate(cheap.begin(), cheap.end(), 0.0) / cheap.size();
  const double qs = std::accumulate(strong.begin(), strong.end(), 0.0) / strong.size();
  ASSERT_GT(qs, qw);
  const double apgr = Apgr(QuantileCurve(s, cheap, strong, 10), qw, qs);
  auto small = Bootstrap(s, cheap, strong, 300);
  ASSERT_TRUE(small.has_value());
  EXPECT_EQ(small->used, 300);
  EXPECT_LT(small->apgr_lo, apgr);
  EXPECT_GT(small->apgr_hi, apgr);
  EXPECT_LE(small->cpt50_lo, small->cpt50_hi);

  // The same inputs and seed give the same interval; another seed another one.
  auto again = Bootstrap(s, cheap, strong, 300);
  EXPECT_DOUBLE_EQ(again->apgr_lo, small->apgr_lo);
  EXPECT_DOUBLE_EQ(again->apgr_hi, small->apgr_hi);
  auto other = Bootstrap(s, cheap, strong, 300, /*seed=*/7);
  EXPECT_NE(other->apgr_lo, small->apgr_lo);

  // Sixteen times the data: the point estimate stays, the interval shrinks (about 4x).
  std::vector<double> s2, cheap2, strong2;
  NoisyRouter(80, s2, cheap2, strong2);
  EXPECT_NEAR(Apgr(QuantileCurve(s2, cheap2, strong2, 10), qw, qs), apgr, 1e-9);
  auto big = Bootstrap(s2, cheap2, strong2, 300);
  ASSERT_TRUE(big.has_value());
  EXPECT_LT(big->apgr_hi - big->apgr_lo, 0.5 * (small->apgr_hi - small->apgr_lo));
  EXPECT_LT(big->apgr_lo, apgr);
  EXPECT_GT(big->apgr_hi, apgr);
}

TEST(Metrics, BootstrapNeedsAStrongerStrongModel) {
  // The strong model is never better: PGR is undefined on every draw.
  std::vector<double> s{0.1, 0.5, 0.9, 0.3}, cheap{1, 0, 1, 1}, strong{1, 0, 0, 1};
  EXPECT_FALSE(Bootstrap(s, cheap, strong, 100).has_value());
  std::vector<double> ok_cheap{0, 0, 1, 1}, ok_strong{1, 1, 1, 1};
  EXPECT_FALSE(Bootstrap(s, ok_cheap, ok_strong, 0).has_value());
  EXPECT_TRUE(Bootstrap(s, ok_cheap, ok_strong, 100).has_value());
}

TEST(Metrics, PairedBootstrapOfTwoRouters) {
  std::vector<double> noisy, cheap, strong;
  NoisyRouter(5, noisy, cheap, strong);
  // The oracle ranks exactly by gain; a reversed router ranks the other way round.
  std::vector<double> oracle, reversed;
  for (size_t i = 0; i < cheap.size(); ++i) {
    oracle.push_back(strong[i] - cheap[i] + 0.0001 * (i % 7));
    reversed.push_back(-oracle.back());
  }
  const double qw = std::accumulate(cheap.begin(), cheap.end(), 0.0) / cheap.size();
  const double qs = std::accumulate(strong.begin(), strong.end(), 0.0) / strong.size();
  auto apgr = [&](const std::vector<double>& s) {
    return Apgr(QuantileCurve(s, cheap, strong, 10), qw, qs);
  };
  auto d = BootstrapDifference(noisy, oracle, cheap, strong, 200);
  ASSERT_TRUE(d.has_value());
  EXPECT_NEAR(d->difference, apgr(oracle) - apgr(noisy), 1e-12);
  EXPECT_EQ(d->used, 200);
  EXPECT_GT(d->lo, 0);  // the oracle is better on every plausible sample
  EXPECT_LT(d->lo, d->difference);
  EXPECT_GT(d->hi, d->difference);
  auto worse = BootstrapDifference(noisy, reversed, cheap, strong, 200);
  EXPECT_LT(worse->hi, 0);
  // A router against itself: nothing to tell apart on any draw.
  auto self = BootstrapDifference(noisy, noisy, cheap, strong, 200);
  EXPECT_DOUBLE_EQ(self->difference, 0);
  EXPECT_DOUBLE_EQ(self->lo, 0);
  EXPECT_DOUBLE_EQ(self->hi, 0);
  // No gap between the models: undefined.
  EXPECT_FALSE(BootstrapDifference(noisy, oracle, strong, strong, 200).has_value());
}

// RouteLLM's edges to the last bit. pandas.qcut(scores, 10) takes numpy.percentile at
// linspace(0, 1, 11) * 100, which numpy divides by 100 again: the levels 0.3 and 0.6 arrive as
// 0.30000000000000004 and 0.6000000000000001, while 0.7 arrives as 0.7.
TEST(Metrics, RouteLlmLevelsCarryPandasRounding) {
  EXPECT_EQ(RouteLlmLevel(3, 10), 0.30000000000000004);
  EXPECT_EQ(RouteLlmLevel(6, 10), 0.6000000000000001);
  EXPECT_EQ(RouteLlmLevel(7, 10), 0.7);
  EXPECT_EQ(RouteLlmLevel(0, 10), 0.0);
  EXPECT_EQ(RouteLlmLevel(10, 10), 1.0);
}

// Scores 0, 0.1, ..., 1.0 on 11 queries, so each level's index 10 * level lands on a score.
// With those levels the 30% and 60% edges are a hair above 0.3 and 0.6 (numpy returns
// 0.30000000000000004 and 0.6000000000000001), so the queries scored 0.3 and 0.6 stay cheap:
// by hand, strong counts 0 2 3 4 4 6 7 7 9 10 11 (the 60% edge sends 4, not 5), cheap-only 6/11,
// strong-only 10/11, PGR = (S - 6) / 4 for a quality sum S: 0 .25 .5 .5 .5 .75 .5 .5 .75 1 1,
// trapezoid area 6.125 / 11 = 49/88 (RouteLLM's evaluate.py on these scores gives 0.556818...).
// Quantiles at 1 - k/10 (the code before) put the 60% edge on 0.6 exactly: 5 strong, 0.5454.
TEST(Metrics, QuantileEdgesAreRouteLlmsToTheLastBit) {
  std::vector<double> s = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
  std::vector<double> cheap = {1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 1};
  std::vector<double> strong = {1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1};
  EXPECT_EQ(Quantile(s, 0.6000000000000001), 0.6000000000000001);
  EXPECT_EQ(Quantile(s, 0.7), 0.7);
  auto c = QuantileCurve(s, cheap, strong, 10);
  ASSERT_EQ(c.size(), 11u);
  const int counts[] = {0, 2, 3, 4, 4, 6, 7, 7, 9, 10, 11};
  const int sums[] = {6, 7, 8, 8, 8, 9, 8, 8, 9, 10, 10};
  for (size_t i = 0; i < c.size(); ++i) {
    EXPECT_NEAR(c[i].strong_fraction, counts[i] / 11.0, 1e-12) << i;
    EXPECT_NEAR(c[i].quality, sums[i] / 11.0, 1e-12) << i;
  }
  EXPECT_NEAR(Apgr(c, 6.0 / 11, 10.0 / 11), 49.0 / 88, 1e-12);
  // CPT(50%): first reached at 3 of 11 strong (PGR .25 at 2, .5 at 3).
  EXPECT_NEAR(Cpt(c, 6.0 / 11, 10.0 / 11, 0.5), 3.0 / 11, 1e-12);
}

// numpy's linear interpolation takes a fraction >= 0.5 from the upper neighbour:
// b - (b - a) * (1 - t), which can differ from a + (b - a) * t in the last bit.
TEST(Metrics, QuantileInterpolatesAsNumpy) {
  const std::vector<double> v = {0.1, 0.7};
  const double t = 0.75, a = 0.1, b = 0.7;
  EXPECT_EQ(Quantile(v, t), b - (b - a) * (1 - t));
  EXPECT_EQ(Quantile(v, 0.25), a + (b - a) * 0.25);
}

// Equal means summed in another order differ in the last bit: the strong model is not better.
TEST(Metrics, StrongBetterIgnoresSummationNoise) {
  const double cheap = (0.3 + 0.2) + 0.1, strong = (0.1 + 0.2) + 0.3;
  ASSERT_GT(strong, cheap);  // 0.6000000000000001 against 0.6
  EXPECT_FALSE(StrongBetter(cheap, strong));
  EXPECT_TRUE(StrongBetter(0.6, 0.6 + 1e-6));
  EXPECT_FALSE(StrongBetter(0.6, 0.5));
}

// CPT is the first crossing (the README's "smallest fraction at which PGR reaches x"), not
// numpy.interp over a curve that is not increasing: there RouteLLM's np.interp(target, quality,
// fraction) finds a later segment by bisection. Curve PGR 0, .5, .25, .5, 1 at 0, .2, .4, .6, 1:
// CPT(50%) = 0.2 here; np.interp gives 0.6. And on a plateau exactly at the target (PGR .5 at
// .2 and .6 of an increasing curve) the smallest fraction is .2 where np.interp gives .6.
TEST(Metrics, CptIsTheFirstCrossing) {
  std::vector<CurvePoint> c = {{0, 0}, {0.2, 0.5}, {0.4, 0.25}, {0.6, 0.5}, {1, 1}};
  EXPECT_NEAR(Cpt(c, 0, 1, 0.5), 0.2, 1e-12);
  std::vector<CurvePoint> plateau = {{0, 0}, {0.2, 0.5}, {0.6, 0.5}, {1, 1}};
  EXPECT_NEAR(Cpt(plateau, 0, 1, 0.5), 0.2, 1e-12);
  EXPECT_NEAR(Cpt(plateau, 0, 1, 0.75), 0.8, 1e-12);
}

// The fine curve keeps every split up to `resolution` queries, and ~resolution points beyond.
TEST(Metrics, FineCurveIsThinnedOnLargeInputs) {
  std::vector<double> s, cheap, strong;
  for (int i = 0; i < 20000; ++i) {
    s.push_back(i / 20000.0);
    cheap.push_back(i % 2);
    strong.push_back(1);
  }
  auto f = FineCurve(s, cheap, strong);
  EXPECT_LE(f.size(), 1001u);
  EXPECT_GE(f.size(), 1000u);
  EXPECT_DOUBLE_EQ(f.front().strong_fraction, 0.0);
  EXPECT_DOUBLE_EQ(f.back().strong_fraction, 1.0);
  EXPECT_DOUBLE_EQ(f.back().quality, 1.0);
  for (size_t i = 1; i < f.size(); ++i)
    EXPECT_GE(f[i].strong_fraction - f[i - 1].strong_fraction, 1.0 / 1000 - 1e-12);
  s.resize(1000);
  cheap.resize(1000);
  strong.resize(1000);
  EXPECT_EQ(FineCurve(s, cheap, strong).size(), 1001u);  // every split of 1,000 queries
}

}  // namespace
}  // namespace triage::eval
