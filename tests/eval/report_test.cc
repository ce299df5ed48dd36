#include "eval/report.h"

#include <gtest/gtest.h>

#include <cmath>

namespace triage::eval {
namespace {

Query Make(double cheap, double strong, double cheap_cost, double strong_cost, size_t chars) {
  Query q;
  q.benchmark = "b";
  q.prompt_text = std::string(chars, 'x');
  q.cheap = cheap;
  q.strong = strong;
  q.cheap_cost = cheap_cost;
  q.strong_cost = strong_cost;
  return q;
}

// Recorded cost_usd wins over the token estimate; queries without both costs are estimated.
TEST(Report, RecordedCostsReplaceEstimates) {
  std::vector<Query> qs;
  qs.push_back(Make(0, 1, 0.001, 0.03, 400));  // recorded
  qs.push_back(Make(1, 1, 0.002, 0.05, 400));  // recorded
  qs.push_back(Make(0, 1, -1, 0.04, 400));     // cheap not recorded: estimate both
  std::vector<const Query*> ptrs = {&qs[0], &qs[1], &qs[2]};
  Prices p{1, 1, 10, 10};  // $/Mtok; 400 chars = 100 tokens in + 8 out
  BenchReport r = Analyze("b", ptrs, {0.9, 0.1, 0.5}, p, /*cascade=*/false, /*op_target=*/0.34);
  EXPECT_EQ(r.recorded_cost_queries, 2u);
  const double est_cheap = 108 * 1 / 1e6, est_strong = 108 * 10 / 1e6;
  EXPECT_NEAR(r.cost_all_cheap, 0.001 + 0.002 + est_cheap, 1e-12);
  EXPECT_NEAR(r.cost_all_strong, 0.03 + 0.05 + est_strong, 1e-12);
  // One of three queries (score 0.9) goes strong at the 34% operating point.
  EXPECT_NEAR(r.op_fraction, 1.0 / 3, 1e-9);
  EXPECT_NEAR(r.op_cost, 0.03 + 0.002 + est_cheap, 1e-12);
  auto j = ToJson(r);
  EXPECT_EQ(j["recorded_cost_queries"], 2);
  EXPECT_NE(FormatText({r}).find("2 of 3 queries costed at their recorded cost_usd"),
            std::string::npos);
}

// Regression: with some queries recorded and others estimated, only the count of recorded ones
// was said; the costs' recorded and estimated parts are now given apart, in text and JSON.
TEST(Report, MixedCostsSayWhichPartIsRecorded) {
  std::vector<Query> qs;
  qs.push_back(Make(0, 1, 0.001, 0.03, 400));  // recorded; scored 0.9: strong at the op
  qs.push_back(Make(1, 1, 0.002, 0.05, 400));  // recorded; cheap at the op
  qs.push_back(Make(0, 1, -1, 0.04, 400));     // estimated; cheap at the op
  std::vector<const Query*> ptrs = {&qs[0], &qs[1], &qs[2]};
  Prices p{1, 1, 10, 10};
  BenchReport r = Analyze("b", ptrs, {0.9, 0.1, 0.5}, p, /*cascade=*/false, /*op_target=*/0.34);
  const double est_cheap = 108 * 1 / 1e6, est_strong = 108 * 10 / 1e6;
  EXPECT_NEAR(r.cost_all_strong_recorded, 0.08, 1e-12);
  EXPECT_NEAR(r.cost_all_strong_estimated, est_strong, 1e-12);
  EXPECT_NEAR(r.cost_all_cheap_recorded, 0.003, 1e-12);
  EXPECT_NEAR(r.cost_all_cheap_estimated, est_cheap, 1e-12);
  EXPECT_NEAR(r.op_cost_recorded, 0.032, 1e-12);
  EXPECT_NEAR(r.op_cost_estimated, est_cheap, 1e-12);
  EXPECT_NEAR(r.op_cost_recorded + r.op_cost_estimated, r.op_cost, 1e-12);
  auto j = ToJson(r);
  EXPECT_EQ(j["recorded_cost_queries"], 2);
  EXPECT_EQ(j["estimated_cost_queries"], 1);
  EXPECT_NEAR(j["cost_all_strong_recorded_usd"].get<double>(), 0.08, 1e-12);
  EXPECT_NEAR(j["cost_all_strong_estimated_usd"].get<double>(), est_strong, 1e-12);
  EXPECT_NEAR(j["cost_all_cheap_recorded_usd"].get<double>(), 0.003, 1e-12);
  EXPECT_NEAR(j["cost_all_cheap_estimated_usd"].get<double>(), est_cheap, 1e-12);
  EXPECT_NEAR(j["operating_point"]["cost_recorded_usd"].get<double>(), 0.032, 1e-12);
  EXPECT_NEAR(j["operating_point"]["cost_estimated_usd"].get<double>(), est_cheap, 1e-12);
  // The fields that were there keep their names and values.
  EXPECT_NEAR(j["cost_all_strong_usd"].get<double>(), r.cost_all_strong, 1e-15);
  EXPECT_NEAR(j["operating_point"]["cost_usd"].get<double>(), r.op_cost, 1e-15);
  const std::string text = FormatText({r});
  EXPECT_NE(text.find("(2 of 3 queries costed at their recorded cost_usd, 1 estimated; the costs "
                      "above add both)\n"
                      "  recorded:  operating point $0.032000, all-strong $0.080000, all-cheap "
                      "$0.003000\n"
                      "  estimated: operating point $0.000108, all-strong $0.001080, all-cheap "
                      "$0.000108\n"),
            std::string::npos)
      << text;

  // All recorded: one line, no split (the estimated parts are 0).
  qs[2].cheap_cost = 0.004;
  BenchReport all = Analyze("b", ptrs, {0.9, 0.1, 0.5}, p, false, 0.34);
  EXPECT_EQ(all.cost_all_strong_estimated, 0);
  EXPECT_EQ(ToJson(all)["estimated_cost_queries"], 0);
  const std::string all_text = FormatText({all});
  EXPECT_NE(all_text.find("(3 of 3 queries costed at their recorded cost_usd)\n"),
            std::string::npos)
      << all_text;
  EXPECT_EQ(all_text.find("estimated:"), std::string::npos) << all_text;
}

// Regression: the operating point's threshold was the 70th percentile, which inside a tie
// group sent the whole group strong (100% strong for a 30% target when 70% of the scores tie).
TEST(Report, OperatingPointWithTiedScoresIsTheClosestAchievableSplit) {
  std::vector<Query> qs;
  std::vector<double> scores;
  for (int i = 0; i < 10; ++i) {
    qs.push_back(Make(0, 1, -1, -1, 40));
    scores.push_back(i < 8 ? 0.3 : 0.9);  // 80% tie at 0.3, 20% at 0.9
  }
  std::vector<const Query*> ptrs;
  for (const auto& q : qs) ptrs.push_back(&q);
  BenchReport r = Analyze("b", ptrs, scores, Prices{1, 1, 10, 10}, /*cascade=*/false);
  EXPECT_DOUBLE_EQ(r.op_fraction, 0.2);
  EXPECT_DOUBLE_EQ(r.op_threshold, 0.6);
}

// Each model's output tokens come from its own recorded answer (chars / 4); the other model's
// answer stands in when only one is recorded, and 8 tokens when neither is.
TEST(Report, OutputTokensFromEachModelsOwnAnswer) {
  std::vector<Query> qs(3);
  for (auto& q : qs) {
    q.benchmark = "b";
    q.prompt_text = std::string(400, 'x');  // 100 input tokens
    q.strong = 1;
  }
  qs[0].cheap_response = std::string(40, 'c');  // 10 tokens
  qs[0].strong_response_chars = 200;            // 50 tokens
  qs[1].strong_response_chars = 80;             // 20 tokens; the cheap answer too
  std::vector<const Query*> ptrs = {&qs[0], &qs[1], &qs[2]};
  const Prices p{1, 2, 10, 20};  // $/Mtok: cheap in/out, strong in/out
  BenchReport r = Analyze("b", ptrs, {0.9, 0.5, 0.1}, p, /*cascade=*/false);
  const double cheap = (100 * 1 + 10 * 2) + (100 * 1 + 20 * 2) + (100 * 1 + 8 * 2);
  const double strong = (100 * 10 + 50 * 20) + (100 * 10 + 20 * 20) + (100 * 10 + 8 * 20);
  EXPECT_NEAR(r.cost_all_cheap, cheap / 1e6, 1e-12);
  EXPECT_NEAR(r.cost_all_strong, strong / 1e6, 1e-12);
}

// PGR divides by the strong model's advantage: with none (or a negative one) APGR and CPT are
// undefined, shown as n/a and null rather than as a number that means nothing.
TEST(Report, NoAdvantageMeansUndefinedPgr) {
  std::vector<Query> qs;
  qs.push_back(Make(1, 0, -1, -1, 40));
  qs.push_back(Make(0, 1, -1, -1, 80));
  std::vector<const Query*> ptrs = {&qs[0], &qs[1]};
  BenchReport tie = Analyze("b", ptrs, {0.9, 0.1}, Prices{1, 1, 10, 10}, false);
  EXPECT_FALSE(tie.pgr_defined);
  EXPECT_TRUE(std::isnan(tie.apgr));
  EXPECT_TRUE(std::isnan(tie.cpt50));
  EXPECT_TRUE(std::isnan(tie.op_pgr));
  auto j = ToJson(tie);
  EXPECT_EQ(j["pgr_defined"], false);
  EXPECT_TRUE(j["apgr"].is_null());
  EXPECT_TRUE(j["cpt50"].is_null());
  EXPECT_TRUE(j["cpt80"].is_null());
  EXPECT_TRUE(j["operating_point"]["pgr"].is_null());
  EXPECT_EQ(j["curve"].size(), 11u);  // the quality curve is still there
  const std::string text = FormatText({tie});
  EXPECT_NE(text.find("APGR n/a"), std::string::npos) << text;
  EXPECT_NE(text.find("not better than the cheap one"), std::string::npos) << text;
  EXPECT_NE(text.find("(PGR n/a)"), std::string::npos) << text;

  qs[1].strong = 0.5;  // strong worse on average
  BenchReport worse = Analyze("b", ptrs, {0.9, 0.1}, Prices{1, 1, 10, 10}, false);
  EXPECT_FALSE(worse.pgr_defined);
  qs[0].strong = 1;  // strong better: defined again
  BenchReport better = Analyze("b", ptrs, {0.9, 0.1}, Prices{1, 1, 10, 10}, false);
  EXPECT_TRUE(better.pgr_defined);
  EXPECT_FALSE(std::isnan(better.apgr));
  EXPECT_EQ(ToJson(better)["pgr_defined"], true);
}

TEST(Report, FixedAndPercentKeepTheColumnWidth) {
  EXPECT_EQ(Fixed(true, 0.5751, 6, 3), " 0.575");
  EXPECT_EQ(Fixed(false, 0.5751, 6, 3), "   n/a");
  EXPECT_EQ(Percent(true, 0.399, 7), "   39.9%");
  EXPECT_EQ(Percent(false, 0.399, 7), "     n/a");
}

TEST(Report, NoRecordedCostsNoNote) {
  std::vector<Query> qs;
  qs.push_back(Make(0, 1, -1, -1, 40));
  qs.push_back(Make(1, 1, -1, -1, 40));
  std::vector<const Query*> ptrs = {&qs[0], &qs[1]};
  BenchReport r = Analyze("b", ptrs, {0.9, 0.1}, Prices{1, 1, 10, 10}, false);
  EXPECT_EQ(r.recorded_cost_queries, 0u);
  EXPECT_GT(r.cost_all_strong, r.cost_all_cheap);
  EXPECT_EQ(FormatText({r}).find("recorded cost_usd"), std::string::npos);
  // All estimated: the estimated parts are the whole.
  EXPECT_EQ(r.cost_all_strong_estimated, r.cost_all_strong);
  EXPECT_EQ(r.op_cost_estimated, r.op_cost);
  EXPECT_EQ(ToJson(r)["estimated_cost_queries"], 2);
  EXPECT_EQ(ToJson(r)["cost_all_strong_recorded_usd"], 0.0);
}

// --bootstrap: the interval reaches the text and JSON; without it (or without a defined PGR)
// the JSON says null.
TEST(Report, BootstrapIntervalInTextAndJson) {
  std::vector<Query> qs;
  std::vector<double> scores;
  for (int i = 0; i < 60; ++i) {
    qs.push_back(Make(i % 3 == 0 ? 0 : 1, i % 5 == 4 ? 0 : 1, -1, -1, 100));
    scores.push_back(i % 3 == 0 ? 0.7 + 0.001 * i : 0.3 + 0.001 * i);
  }
  std::vector<const Query*> ptrs;
  for (const auto& q : qs) ptrs.push_back(&q);
  const Prices p{1, 1, 10, 10};
  BenchReport r = Analyze("b", ptrs, scores, p, false, 0.3, /*bootstrap=*/100);
  ASSERT_TRUE(r.pgr_defined);
  ASSERT_TRUE(r.interval.has_value());
  auto j = ToJson(r);
  EXPECT_EQ(j["bootstrap_resamples"], r.interval->used);
  ASSERT_TRUE(j["apgr_interval"].is_array());
  EXPECT_DOUBLE_EQ(j["apgr_interval"][0].get<double>(), r.interval->apgr_lo);
  EXPECT_DOUBLE_EQ(j["apgr_interval"][1].get<double>(), r.interval->apgr_hi);
  EXPECT_LT(r.interval->apgr_lo, r.apgr);
  EXPECT_GT(r.interval->apgr_hi, r.apgr);
  EXPECT_NE(FormatText({r}).find("95% bootstrap interval"), std::string::npos);

  BenchReport off = Analyze("b", ptrs, scores, p, false, 0.3, /*bootstrap=*/0);
  EXPECT_FALSE(off.interval.has_value());
  EXPECT_TRUE(ToJson(off)["apgr_interval"].is_null());
  EXPECT_TRUE(ToJson(off)["cpt50_interval"].is_null());
  EXPECT_EQ(ToJson(off)["bootstrap_resamples"], 0);
  EXPECT_EQ(FormatText({off}).find("bootstrap"), std::string::npos);

  for (auto& q : qs) q.strong = q.cheap;  // no gap: PGR undefined, so no interval either
  BenchReport tie = Analyze("b", ptrs, scores, p, false, 0.3, /*bootstrap=*/100);
  EXPECT_FALSE(tie.interval.has_value());
  EXPECT_TRUE(ToJson(tie)["apgr_interval"].is_null());
}

// eval --by-category: each category's figures at the benchmark's operating point, by hand.
TEST(Report, CategoriesAtTheBenchmarksOperatingPoint) {
  std::vector<Query> qs;
  auto add = [&](const char* benchmark, const char* category, double cheap, double strong) {
    qs.push_back(Make(cheap, strong, -1, -1, 40));
    qs.back().benchmark = benchmark;
    qs.back().category = category;
  };
  add("b", "x", 0, 1);
  add("b", "y", 1, 1);
  add("b", "x", 1, 1);
  add("b", "y", 1, 0);
  add("b", "x", 0, 1);
  add("b", "y", 1, 1);
  add("c", "", 0, 1);
  const std::vector<double> scores = {0.9, 0.7, 0.8, 0.1, 0.2, 0.3, 0.5};
  BenchReport b, c, overall;
  b.name = "b";
  b.op_threshold = 0.75;
  b.op_fraction = 2.0 / 6;
  c.name = "c";
  c.op_threshold = 0.4;
  overall.name = "overall";
  overall.op_threshold = 0.99;  // never used for a category
  const std::vector<BenchReport> reps = {b, c, overall};
  std::vector<CategoryReport> cats = AnalyzeCategories(qs, scores, reps);
  ASSERT_EQ(cats.size(), 3u);
  const CategoryReport& x = cats[0];
  EXPECT_EQ(x.benchmark, "b");
  EXPECT_EQ(x.category, "x");
  EXPECT_EQ(x.queries, 3u);
  EXPECT_DOUBLE_EQ(x.q_cheap, 1.0 / 3);
  EXPECT_DOUBLE_EQ(x.q_strong, 1.0);
  EXPECT_DOUBLE_EQ(x.mean_score, (0.9 + 0.8 + 0.2) / 3);
  // 0.9 and 0.8 are above the threshold: strong (1, 1); 0.2 stays cheap (0).
  EXPECT_DOUBLE_EQ(x.op_fraction, 2.0 / 3);
  EXPECT_DOUBLE_EQ(x.op_quality, 2.0 / 3);
  EXPECT_DOUBLE_EQ(x.op_pgr, 0.5);
  ASSERT_TRUE(x.pgr_defined);
  // APGR inside the category is the benchmark metric on its queries alone.
  std::vector<const Query*> xs = {&qs[0], &qs[2], &qs[4]};
  EXPECT_DOUBLE_EQ(x.apgr, Analyze("x", xs, {0.9, 0.8, 0.2}, Prices{1, 1, 1, 1}, false).apgr);
  const CategoryReport& y = cats[1];
  EXPECT_EQ(y.category, "y");
  EXPECT_EQ(y.op_fraction, 0.0);
  EXPECT_DOUBLE_EQ(y.op_quality, 1.0);
  EXPECT_FALSE(y.pgr_defined);  // the strong model is worse here
  EXPECT_TRUE(ToJson(y)["apgr"].is_null());
  EXPECT_TRUE(ToJson(y)["operating_point"]["pgr"].is_null());
  EXPECT_DOUBLE_EQ(ToJson(x)["operating_point"]["pgr"].get<double>(), 0.5);
  const CategoryReport& none = cats[2];
  EXPECT_EQ(none.benchmark, "c");
  EXPECT_EQ(none.op_fraction, 1.0);  // 0.5 >= c's threshold 0.4
  const std::string text = FormatCategories(cats, reps);
  EXPECT_NE(text.find("== b by category (operating point: threshold 0.7500, 33.3% strong)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("(none)"), std::string::npos) << text;
  EXPECT_EQ(text.find("overall"), std::string::npos) << text;
}

// Judge scores in tenths that tie on average: the two sums differ in the last bit (0.6 against
// 0.6000000000000001), which used to count as the strong model being better by 4e-17 and gave
// PGR values of 1e15 and an APGR of -4e14. Now a tie, in the benchmark and in its category.
TEST(Report, TiedTenthsAreATieNotAHugePgr) {
  std::vector<Query> qs = {Make(0.3, 0.1, -1, -1, 10), Make(0.2, 0.2, -1, -1, 50),
                           Make(0.1, 0.3, -1, -1, 2)};
  for (auto& q : qs) q.category = "writing";
  std::vector<const Query*> ptrs = {&qs[0], &qs[1], &qs[2]};
  const std::vector<double> scores = {0.2, 0.5, 0.1};
  BenchReport r = Analyze("b", ptrs, scores, Prices{1, 1, 10, 10}, false);
  ASSERT_GT(r.q_strong, r.q_cheap);  // the summation noise the check must see through
  EXPECT_FALSE(r.pgr_defined);
  EXPECT_TRUE(std::isnan(r.apgr));
  EXPECT_NE(FormatText({r}).find("APGR n/a"), std::string::npos);
  auto cats = AnalyzeCategories(qs, scores, {r});
  ASSERT_EQ(cats.size(), 1u);
  EXPECT_FALSE(cats[0].pgr_defined);
  EXPECT_TRUE(ToJson(cats[0])["apgr"].is_null());
}

}  // namespace
}  // namespace triage::eval
