#include "eval/calibrate.h"

#include <gtest/gtest.h>

#include <cstdlib>

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

// Regression: strtod read "nan", which failed every comparison, so nan/50/50 calibrated to
// thresholds for shares of NaN (exit 0); it also read hex, and a trailing '/' was dropped.
TEST(Calibrate, ParseSplitTakesDecimalPercentagesOnly) {
  for (const char* bad : {"nan/50/50", "50/nan", "NaN/50/50", "inf/-inf/100", "0x46/0x1e", "70/30/",
                          "70//30", "/70/30", "-5/100/5", "0/100", "70/25/6"}) {
    auto s = ParseSplit(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.error().message.find(std::string("'") + bad + "'"), std::string::npos)
        << s.error().message;
  }
  for (const char* good : {"70.5/24.5/5", "70/30", "1e1/9e1", "33.3/33.3/33.4"}) {
    auto s = ParseSplit(good);
    ASSERT_TRUE(s.ok()) << good;
  }
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

// 888 scores of 0.3 and 112 of `top`: only 0/100, 88.8/11.2 and (top below 1) 100/0 splits
// are achievable between two tiers.
std::vector<double> TwoTies(double top) {
  std::vector<double> scores(1000, 0.3);
  for (int i = 0; i < 1000; i += 9) scores[i] = top;  // 112 of them, spread out
  return scores;
}

// Regression: a threshold that landed inside a tie group sent the whole group up, so 70/25/5
// came out 0.0/88.8/11.2 and a 30% strong fraction 0/100, far from splits that were achievable.
TEST(Calibrate, TiedScoresGiveTheClosestAchievableSplit) {
  const auto scores = TwoTies(0.9);
  auto th = Calibrate(scores, {0.70, 0.25, 0.05});
  ASSERT_EQ(th.size(), 2u);
  EXPECT_DOUBLE_EQ(th[0], 0.6);   // between the two ties
  EXPECT_DOUBLE_EQ(th[1], 0.95);  // above every score: 5% is closer to 0 than to 11.2%
  auto got = Achieved(scores, th);
  EXPECT_DOUBLE_EQ(got[0], 0.888);
  EXPECT_DOUBLE_EQ(got[1], 0.112);
  EXPECT_DOUBLE_EQ(got[2], 0.0);
  auto one = Calibrate(scores, {0.7, 0.3});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_DOUBLE_EQ(Achieved(scores, one)[1], 0.112);
  // 95% cheap is closer to 100% than to 88.8%: nothing strong, with a threshold still <= 1.
  auto none = Calibrate(scores, {0.95, 0.05});
  EXPECT_DOUBLE_EQ(Achieved(scores, none)[1], 0.0);
  EXPECT_LE(none[0], 1.0);
}

// A threshold above a top score of 1 would not be a valid one: the closest split below it.
TEST(Calibrate, TopScoreOfOneKeepsThresholdsInRange) {
  const auto scores = TwoTies(1.0);
  auto th = Calibrate(scores, {0.70, 0.25, 0.05});
  for (double t : th) EXPECT_LE(t, 1.0);
  auto got = Achieved(scores, th);
  EXPECT_DOUBLE_EQ(got[0], 0.888);
  EXPECT_DOUBLE_EQ(got[1], 0.0);
  EXPECT_DOUBLE_EQ(got[2], 0.112);
}

TEST(Calibrate, ShortfallNamesTheTiedScores) {
  const auto scores = TwoTies(0.9);
  const std::vector<double> shares = {0.70, 0.25, 0.05};
  const std::string why =
      SplitShortfall(scores, shares, Achieved(scores, Calibrate(scores, shares)));
  EXPECT_NE(why.find("the achieved split 88.8/11.2/0.0 is 18.8 points from the requested "
                     "70.0/25.0/5.0"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("tied scores always go to the same tier (88.8% of the 1000 scores are "
                     "0.300000, 11.2% are 0.900000), so only certain splits are achievable"),
            std::string::npos)
      << why;
  // Within 2 points: nothing to say.
  EXPECT_EQ(SplitShortfall(scores, {0.88, 0.12}, {0.888, 0.112}), "");
  // No ties, just few scores.
  const std::vector<double> three = {0.1, 0.5, 0.9};
  const std::string few =
      SplitShortfall(three, {0.5, 0.5}, Achieved(three, Calibrate(three, {0.5, 0.5})));
  EXPECT_NE(few.find("with 3 scores, each one moves a tier's share by 33.3 points"),
            std::string::npos)
      << few;
}

TEST(Calibrate, NoShortfallOnTheDevData) {
  auto scores = DevScores("length");
  ASSERT_FALSE(scores.empty());
  for (const std::vector<double>& shares :
       std::vector<std::vector<double>>{{0.7, 0.25, 0.05}, {0.7, 0.3}})
    EXPECT_EQ(SplitShortfall(scores, shares, Achieved(scores, Calibrate(scores, shares))), "");
}

TEST(Calibrate, YamlSnippetNamesThresholds) {
  std::string y = ThresholdsYaml({0.25, 0.75}, "length", {0.7, 0.25, 0.05});
  EXPECT_NE(y.find("thresholds: [0.250000, 0.750000]"), std::string::npos) << y;
  EXPECT_NE(y.find("70.0/25.0/5.0"), std::string::npos) << y;
}

// The thresholds as the snippet writes them (what `serve` reads back).
std::vector<double> WrittenThresholds(const std::string& yaml) {
  std::vector<double> out;
  const size_t at = yaml.find("thresholds: [");
  EXPECT_NE(at, std::string::npos) << yaml;
  const char* p = yaml.c_str() + at + 13;
  while (*p && *p != ']') {
    char* end = nullptr;
    out.push_back(std::strtod(p, &end));
    p = end;
    while (*p == ',' || *p == ' ') ++p;
  }
  return out;
}

// Scores closer than the snippet's six decimals (the `length` scores of prompts of 30,003 and
// 30,004 characters differ by 5.4e-7): the written threshold must still fall between them, or
// a whole tie group changes tier in `serve` (calibrate printed "achieved split 50.0/50.0" and
// wrote a threshold that sent all of them strong).
TEST(Calibrate, WrittenThresholdsGiveThePrintedSplit) {
  for (double base : {30000.0, 30003.0, 30007.0, 30012.0, 30020.0}) {
    std::vector<double> scores;
    for (int i = 0; i < 100; ++i) {
      const double n = base + i % 2;
      scores.push_back(n / (n + 500));
    }
    const auto th = Calibrate(scores, {0.5, 0.5});
    const auto achieved = Achieved(scores, th);
    const std::string y = ThresholdsYaml(th, "length", achieved);
    EXPECT_EQ(Achieved(scores, WrittenThresholds(y)), achieved) << y;
    EXPECT_DOUBLE_EQ(achieved[0], 0.5) << y;
    // Floor mode: the threshold is written the same way.
    std::vector<double> cheap, strong;
    for (int i = 0; i < 100; ++i) {
      cheap.push_back(i % 2 ? 0 : 1);
      strong.push_back(1);
    }
    FloorResult f = CalibrateFloor(scores, cheap, strong, 0.9);
    ASSERT_TRUE(f.reached);
    const std::string fy = ThresholdsYaml({f.threshold}, "length", Achieved(scores, {f.threshold}));
    EXPECT_EQ(Achieved(scores, WrittenThresholds(fy)), Achieved(scores, {f.threshold})) << fy;
    EXPECT_DOUBLE_EQ(f.strong_fraction, 0.5) << fy;
  }
  // The lowest score as the threshold (every query strong) is written exactly too.
  EXPECT_EQ(WrittenThresholds(ThresholdsYaml({0.1234567891}, "length", {0, 1})),
            std::vector<double>{0.1234567891});
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
