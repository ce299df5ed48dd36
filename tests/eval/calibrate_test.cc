#include "eval/calibrate.h"

#include <gtest/gtest.h>

#include "eval/dataset.h"
#include "eval/report.h"

namespace triage::eval {
namespace {

const std::string kData = std::string(TRIAGE_SHARED_DIR) + "/data/outcomes/";

std::vector<double> DevScores(const std::string& spec) {
  Dataset ds;
  for (const char* f : {"mmlu-dev.jsonl", "gsm8k-dev.jsonl"}) {
    Status st = ReadOutcomes(kData + f, "mixtral-8x7b-instruct", "gpt-4-1106-preview", &ds);
    EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
  }
  auto s = ScoreQueries(spec, ds.queries);
  EXPECT_TRUE(s.ok());
  return s.ok() ? *s : std::vector<double>{};
}

TEST(Calibrate, ParseSplit) {
  auto s = ParseSplit("70/25/5");
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->size(), 3u);
  EXPECT_DOUBLE_EQ((*s)[0], 0.70);
  EXPECT_FALSE(ParseSplit("70/20").ok());
  EXPECT_FALSE(ParseSplit("70/x/30").ok());
  EXPECT_FALSE(ParseSplit("100").ok());
}

TEST(Calibrate, ThreeTierSplitOnDevDataWithinTwoPoints) {
  for (const char* spec : {"length", "random:3"}) {
    auto scores = DevScores(spec);
    ASSERT_FALSE(scores.empty());
    auto th = Calibrate(scores, {0.70, 0.25, 0.05});
    ASSERT_EQ(th.size(), 2u);
    EXPECT_LE(th[0], th[1]);
    auto got = Achieved(scores, th);
    EXPECT_NEAR(got[0], 0.70, 0.02) << spec;
    EXPECT_NEAR(got[1], 0.25, 0.02) << spec;
    EXPECT_NEAR(got[2], 0.05, 0.02) << spec;
  }
}

TEST(Calibrate, StrongFractionOnDevDataWithinTwoPoints) {
  auto scores = DevScores("random:1");
  auto th = Calibrate(scores, {0.7, 0.3});
  ASSERT_EQ(th.size(), 1u);
  EXPECT_NEAR(Achieved(scores, th)[1], 0.3, 0.02);
}

TEST(Calibrate, YamlSnippetNamesThresholds) {
  std::string y = ThresholdsYaml({0.25, 0.75}, "length", {0.7, 0.25, 0.05});
  EXPECT_NE(y.find("thresholds: [0.250000, 0.750000]"), std::string::npos) << y;
  EXPECT_NE(y.find("70.0/25.0/5.0"), std::string::npos) << y;
}

// Hand-computed: q_cheap 0.5, q_strong 1, gap 0.5. Strong in score order: 0.9 (+1) -> PGR 0.5,
// 0.8 (+0) -> 0.5, 0.7 (+1) -> 1.0, 0.1 (+0) -> 1.0.
TEST(CalibrateFloor, FewestStrongCallsReachingThePgr) {
  const std::vector<double> scores = {0.1, 0.9, 0.8, 0.7}, cheap = {1, 0, 1, 0},
                            strong = {1, 1, 1, 1};
  FloorResult half = CalibrateFloor(scores, cheap, strong, 0.5);
  EXPECT_TRUE(half.reached);
  EXPECT_DOUBLE_EQ(half.threshold, 0.85);
  EXPECT_DOUBLE_EQ(half.strong_fraction, 0.25);
  EXPECT_DOUBLE_EQ(half.pgr, 0.5);
  FloorResult more = CalibrateFloor(scores, cheap, strong, 0.6);
  EXPECT_DOUBLE_EQ(more.threshold, 0.4);
  EXPECT_DOUBLE_EQ(more.strong_fraction, 0.75);
  EXPECT_DOUBLE_EQ(more.pgr, 1.0);
  FloorResult all = CalibrateFloor(scores, cheap, strong, 1.0);
  EXPECT_DOUBLE_EQ(all.pgr, 1.0);
  EXPECT_LE(all.strong_fraction, 0.75);  // 0.1 adds nothing: not sent strong
}

// Tied scores move together: the threshold never splits a group.
TEST(CalibrateFloor, TiesMoveTogether) {
  const std::vector<double> scores = {0.5, 0.5, 0.2}, cheap = {0, 1, 0}, strong = {1, 1, 1};
  FloorResult r = CalibrateFloor(scores, cheap, strong, 0.1);
  EXPECT_NEAR(r.strong_fraction, 2.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(r.threshold, 0.35);
  EXPECT_NEAR(r.pgr, 0.5, 1e-12);
}

TEST(CalibrateFloor, NoGapIsNotReached) {
  FloorResult r = CalibrateFloor({0.2, 0.8}, {1, 0}, {0, 1}, 0.5);  // equal quality
  EXPECT_FALSE(r.reached);
  EXPECT_DOUBLE_EQ(r.threshold, 0.2);  // everything strong
}

}  // namespace
}  // namespace triage::eval
