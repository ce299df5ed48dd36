#include "eval/train.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace triage::eval
