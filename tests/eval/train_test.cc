#include "eval/train.h"

#include <gtest/gtest.h>

#include <cmath>

#include "eval/metrics.h"

namespace triage::eval {
namespace {

// Synthetic data: prompts mentioning "integral" need the strong model, others do not.
std::vector<Query> Synthetic(int n) {
  std::vector<Query> qs;
  for (int i = 0; i < n; ++i) {
    Query q;
    q.id = "s" + std::to_string(i);
    q.benchmark = i % 2 ? "a" : "b";
    bool hard = i % 3 == 0;
    q.last_user_text = q.prompt_text =
        (hard ? "Compute the integral of item " : "Name the colour of item ") + std::to_string(i);
    q.message_count = 1;
    q.cheap = hard ? 0 : 1;
    q.strong = 1;
    qs.push_back(q);
  }
  return qs;
}

TEST(Train, LabelMapsGainToUnitInterval) {
  Query q;
  q.cheap = 0, q.strong = 1;
  EXPECT_DOUBLE_EQ(Label(q), 1.0);
  q.cheap = 1, q.strong = 1;
  EXPECT_DOUBLE_EQ(Label(q), 0.5);
  q.cheap = 1, q.strong = 0;
  EXPECT_DOUBLE_EQ(Label(q), 0.0);
}

TEST(Train, LearnsASeparableSignalAndCrossValidates) {
  auto qs = Synthetic(300);
  TrainOptions opt;
  auto cv = CrossValidate(qs, 5, opt);
  std::vector<double> cheap, strong;
  for (const auto& q : qs) {
    cheap.push_back(q.cheap);
    strong.push_back(q.strong);
  }
  auto curve = QuantileCurve(cv, cheap, strong, 10);
  double qw = 200.0 / 300, qs_ = 1.0;
  EXPECT_GT(Apgr(curve, qw, qs_), 0.8);  // random would be 0.5
  std::vector<const Query*> ptrs;
  for (const auto& q : qs) ptrs.push_back(&q);
  auto m = Train(ptrs, opt);
  EXPECT_EQ(m.heads, 2u);
  EXPECT_EQ(m.features, routing::kCurrentFeatureSet);
  opt.features = routing::FeatureSet::kHead;  // train --feature-set 1
  EXPECT_EQ(Train(ptrs, opt).features, routing::FeatureSet::kHead);
  EXPECT_GT(m.Probability(Features(qs[0], opt.kind)), m.Probability(Features(qs[1], opt.kind)));
}

// A head whose labels are all the same (here the strong model is right on every query) used to
// start at log(1 / 0) = +inf, and the model file carried the infinite bias.
TEST(Train, AHeadWithOneLabelValueKeepsAFiniteBias) {
  auto qs = Synthetic(90);
  std::vector<const Query*> ptrs;
  for (const auto& q : qs) ptrs.push_back(&q);
  TrainOptions opt;
  for (unsigned heads : {1u, 2u}) {
    opt.heads = heads;
    auto m = Train(ptrs, opt);
    for (unsigned h = 0; h < m.heads; ++h) EXPECT_TRUE(std::isfinite(m.bias[h])) << heads;
    const double p = m.Probability(Features(qs[0], opt.kind));
    EXPECT_TRUE(std::isfinite(p));
  }
}

TEST(Train, OneHeadOnTheGainLabelAlsoLearns) {
  auto qs = Synthetic(300);
  TrainOptions opt;
  opt.heads = 1;
  std::vector<const Query*> ptrs;
  for (const auto& q : qs) ptrs.push_back(&q);
  auto m = Train(ptrs, opt);
  EXPECT_EQ(m.heads, 1u);
  EXPECT_EQ(m.weights.size(), routing::kFeatureDim);
  // Hard prompts have label 1 (strong needed), easy ones 0.5 (both models right).
  EXPECT_GT(m.Probability(Features(qs[0], opt.kind)), 0.75);
  EXPECT_NEAR(m.Probability(Features(qs[1], opt.kind)), 0.5, 0.1);
}

// --exclude-category: the excluded queries teach no model, yet CV and leave-one-benchmark-out
// still score them, so the figures cover the whole data.
TEST(Train, ExcludedCategoriesTeachNothingButAreStillScored) {
  auto qs = Synthetic(300);
  // Every third easy prompt gets an artifact label (the strong model "wrong") in category "x".
  std::vector<Query> clean;
  for (size_t i = 0; i < qs.size(); ++i) {
    if (i % 3 == 1) {
      qs[i].category = "x";
      qs[i].strong = 0;
    } else {
      clean.push_back(qs[i]);
    }
  }
  TrainOptions opt;
  opt.exclude_categories = {"x"};
  std::vector<const Query*> all, kept;
  for (const auto& q : qs) all.push_back(&q);
  for (const auto& q : clean) kept.push_back(&q);
  // The same model, weight for weight, as training on the other queries alone.
  auto with = Train(all, opt);
  auto without = Train(kept, TrainOptions{});
  EXPECT_EQ(with.weights, without.weights);
  EXPECT_EQ(with.bias, without.bias);
  // Not excluding them changes the model.
  EXPECT_NE(Train(all, TrainOptions{}).weights, without.weights);
  EXPECT_TRUE(Fits(qs[0], opt));
  EXPECT_FALSE(Fits(qs[1], opt));

  auto cv = CrossValidate(qs, 5, opt);
  auto lobo = LeaveOneBenchmarkOut(qs, opt);
  for (size_t i = 0; i < qs.size(); ++i) {
    EXPECT_GT(cv[i], 0.0) << i;  // scored out of fold, excluded or not
    EXPECT_LT(cv[i], 1.0) << i;
    EXPECT_GT(lobo[i], 0.0) << i;
  }
  // Excluding a whole benchmark's queries leaves nothing to score the other one with.
  std::vector<Query> one = qs;
  for (auto& q : one) {
    if (q.benchmark == "a") q.category = "x";
  }
  auto lobo_one = LeaveOneBenchmarkOut(one, opt);
  for (size_t i = 0; i < one.size(); ++i) {
    if (one[i].benchmark == "b") {
      EXPECT_EQ(lobo_one[i], -1.0) << i;
    }
  }
  // The only queries that fit lie in one fold: the other folds are scored by a model of those,
  // and that fold, whose complement holds nothing to fit, goes unscored (-1), not scored 0.
  std::vector<Query> few(qs.begin(), qs.begin() + 40);
  for (auto& q : few) q.category = "x";
  auto fold_of = [](const Query& q) { return routing::Fnv1a64(q.id) % 5; };
  size_t second = 1;
  while (second < few.size() && fold_of(few[second]) != fold_of(few[0])) ++second;
  ASSERT_LT(second, few.size());
  few[0].category = few[second].category = "";
  auto cv_few = CrossValidate(few, 5, opt);
  size_t unscored = 0;
  for (size_t i = 0; i < few.size(); ++i) {
    if (fold_of(few[i]) == fold_of(few[0])) {
      EXPECT_EQ(cv_few[i], -1.0) << i;
      ++unscored;
    } else {
      EXPECT_GT(cv_few[i], 0.0) << i;
    }
  }
  EXPECT_GE(unscored, 2u);
}

TEST(Train, SuspectCategoriesAreThoseWhereTheStrongModelScoresFarBelowTheCheapOne) {
  std::vector<Query> qs;
  auto add = [&](const std::string& cat, int n, double cheap, double strong) {
    for (int i = 0; i < n; ++i) {
      Query q;
      q.id = cat + std::to_string(i);
      q.category = cat;
      q.cheap = i < cheap * n ? 1 : 0;
      q.strong = i < strong * n ? 1 : 0;
      qs.push_back(q);
    }
  };
  add("artifact", 40, 0.3, 0.025);  // strong 0.025 vs cheap 0.3: flagged
  add("close", 40, 0.5, 0.45);      // within the 0.1 margin
  add("small", 10, 0.9, 0.0);       // too few queries to say
  add("fine", 40, 0.5, 0.8);
  add("", 40, 1.0, 0.0);  // no category
  auto s = SuspectCategories(qs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].category, "artifact");
  EXPECT_EQ(s[0].queries, 40u);
  EXPECT_DOUBLE_EQ(s[0].cheap, 12.0 / 40);
  EXPECT_DOUBLE_EQ(s[0].strong, 1.0 / 40);
  EXPECT_EQ(SuspectCategories(qs, 5).size(), 2u);  // "small" counts with a lower minimum
}

}  // namespace
}  // namespace triage::eval

namespace triage::eval {
namespace {

// models/learned-v4.model (learned:builtin) was trained on the dev files with
// `--exclude-category high_school_mathematics`, where the strong model's recorded 2.6% is a
// grading artifact (docs/routing.md): its record of training prompts holds every other dev MMLU
// prompt and (but for the filter's ~1% false positives) none of that subject's.
TEST(ShippedModels, LearnedV4WasNotFitOnHighSchoolMathematics) {
  auto m = routing::ReadModelFile(std::string(TRIAGE_SOURCE_DIR) + "/models/learned-v4.model");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_NE(m->note.find("categories excluded: high_school_mathematics"), std::string::npos)
      << m->note;
  Dataset ds;
  ASSERT_TRUE(
      ReadOutcomes(std::string(TRIAGE_SOURCE_DIR) + "/../shared/data/outcomes/mmlu-dev.jsonl",
                   "mixtral-8x7b-instruct", "gpt-4-1106-preview", &ds)
          .ok());
  size_t math = 0, math_in = 0, other = 0, other_in = 0;
  for (const auto& q : ds.queries) {
    const bool in = m->trained_on.MayContain(routing::PromptFingerprint(q.prompt_text));
    if (q.category == "high_school_mathematics") {
      ++math;
      math_in += in;
    } else {
      ++other;
      other_in += in;
    }
  }
  EXPECT_EQ(math, 190u);
  EXPECT_LE(math_in, 10u) << "of " << math;
  EXPECT_EQ(other_in, other);
  // The suspect check that `train` warns with finds exactly that subject on the dev file.
  auto suspects = SuspectCategories(ds.queries);
  ASSERT_EQ(suspects.size(), 1u);
  EXPECT_EQ(suspects[0].category, "high_school_mathematics");
  EXPECT_LT(suspects[0].strong, 0.05);
}

}  // namespace
}  // namespace triage::eval
