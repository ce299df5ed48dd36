#include "eval/metrics.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace triage::eval
