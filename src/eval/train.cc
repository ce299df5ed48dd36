#include "eval/train.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "routing/features.h"

namespace triage::eval {

using routing::LinearModel;
using routing::ModelKind;
using routing::SparseVec;

TrainOptions DefaultOptions(ModelKind kind) {
  TrainOptions o;
  o.kind = kind;
  if (kind == ModelKind::kCascade) {
    o.length_prior = 0;
    o.learning_rate = 0.02;
    o.l2 = 3e-3;
  } else {
    o.learning_rate = 0.01;
  }
  return o;
}

double Label(const Query& q) { return std::clamp((q.strong - q.cheap + 1.0) / 2.0, 0.0, 1.0); }

SparseVec Features(const Query& q, ModelKind kind, routing::FeatureSet set) {
  SparseVec x;
  auto in = q.Input();
  if (kind == ModelKind::kCascade) {
    routing::ExtractCascadeFeatures(in, q.cheap_response, &x, set);
  } else {
    routing::ExtractPromptFeatures(in, &x, true, set);
  }
  return x;
}

namespace {

// The cascade sees the cheap answer, so "the cheap answer is wrong" is observable and less
// noisy than the gain alone; mixing both measured best in 5-fold CV on GSM8K (0.78 vs 0.75/0.78).
double LabelFor(const Query& q, ModelKind kind) {
  if (kind == ModelKind::kCascade) return (Label(q) + 1.0 - q.cheap) / 2;
  return Label(q);
}

// Group id per query (its benchmark), so that small benchmarks are not drowned out: otherwise
// the 10x larger MMLU file decides what "difficult" means.
int GroupOf(const Query& q) {
  thread_local std::map<std::string, int> ids;
  return ids.emplace(q.benchmark, static_cast<int>(ids.size())).first->second;
}

// first_epoch: epochs of this fit already run (the other head's), for the progress count.
LinearModel TrainOn(const std::vector<SparseVec>& xs, const std::vector<double>& ys,
                    const std::vector<int>& groups, const TrainOptions& opt, int first_epoch) {
  std::map<int, size_t> count;
  for (int g : groups) ++count[g];
  // Square root of full balancing: full balancing measured GSM8K 0.653 / MMLU 0.647, none
  // 0.622 / 0.661, sqrt 0.646 / 0.655 (5-fold CV APGR).
  std::vector<double> w(xs.size(), 1.0);
  for (size_t i = 0; i < xs.size() && opt.balance_benchmarks; ++i)
    w[i] = std::sqrt(static_cast<double>(xs.size()) / (count.size() * count[groups[i]]));
  LinearModel m;
  m.kind = opt.kind;
  std::vector<float> g2(routing::kFeatureDim, 1e-6f);
  double bias_g2 = 1e-6;
  // The start is the labels' log-odds, kept finite: a head whose labels are all 1 (a strong
  // model right on every query) or all 0 would otherwise start, and stay, at +-infinity, and
  // the model file would carry it.
  const double mean =
      std::clamp(std::accumulate(ys.begin(), ys.end(), 0.0) / ys.size(), 1e-4, 1 - 1e-4);
  m.bias[0] = static_cast<float>(std::log(mean / (1 - mean)));
  std::vector<size_t> order(xs.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(opt.seed);
  for (int e = 0; e < opt.epochs; ++e) {
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t i : order) {
      double p = m.Probability(xs[i]);
      double g = (p - ys[i]) * w[i];
      for (const auto& [j, v] : xs[i]) {
        float gj = static_cast<float>(g * v + opt.l2 * m.weights[j]);
        g2[j] += gj * gj;
        m.weights[j] -= static_cast<float>(opt.learning_rate * gj / std::sqrt(g2[j]));
      }
      bias_g2 += g * g;
      m.bias[0] -= static_cast<float>(opt.learning_rate * g / std::sqrt(bias_g2));
    }
    if (opt.progress != nullptr) opt.progress->Update(static_cast<size_t>(first_epoch + e + 1));
  }
  return m;
}

// Fits on the queries at idx (features precomputed in xs, parallel to qs).
LinearModel Fit(const std::vector<SparseVec>& xs, const std::vector<const Query*>& qs,
                const std::vector<size_t>& idx, const TrainOptions& opt) {
  std::vector<SparseVec> tx;
  std::vector<double> ty, ts, tc;
  std::vector<int> tg;
  for (size_t i : idx) {
    tx.push_back(xs[i]);
    ty.push_back(LabelFor(*qs[i], opt.kind));
    ts.push_back(qs[i]->strong);
    tc.push_back(qs[i]->cheap);
    tg.push_back(GroupOf(*qs[i]));
  }
  if (opt.progress != nullptr)
    opt.progress->Begin("fit on " + std::to_string(idx.size()) + " queries",
                        static_cast<size_t>(opt.epochs) * opt.heads, "epochs");
  LinearModel m;
  if (opt.heads == 1) {
    m = TrainOn(tx, ty, tg, opt, 0);
  } else {
    LinearModel strong_head = TrainOn(tx, ts, tg, opt, 0);
    m = routing::CombineHeads(strong_head, TrainOn(tx, tc, tg, opt, opt.epochs));
  }
  m.length_prior = static_cast<float>(opt.length_prior);
  m.length_chars = static_cast<float>(opt.length_chars);
  m.features = opt.features;
  return m;
}

std::vector<const Query*> Pointers(const std::vector<Query>& qs) {
  std::vector<const Query*> out;
  for (const Query& q : qs) out.push_back(&q);
  return out;
}

}  // namespace

bool Fits(const Query& q, const TrainOptions& opt) {
  return !opt.exclude_categories.contains(q.category);
}

std::vector<SuspectCategory> SuspectCategories(const std::vector<Query>& qs, size_t min_queries,
                                               double margin) {
  std::map<std::string, SuspectCategory> by;
  for (const Query& q : qs) {
    if (q.category.empty()) continue;
    SuspectCategory& c = by[q.category];
    ++c.queries;
    c.cheap += q.cheap;
    c.strong += q.strong;
  }
  std::vector<SuspectCategory> out;
  for (auto& [name, c] : by) {
    if (c.queries < min_queries) continue;
    c.category = name;
    c.cheap /= c.queries;
    c.strong /= c.queries;
    if (c.strong < c.cheap - margin) out.push_back(c);
  }
  return out;
}

LinearModel Train(const std::vector<const Query*>& qs, const TrainOptions& opt) {
  std::vector<const Query*> kept;
  for (const Query* q : qs) {
    if (Fits(*q, opt)) kept.push_back(q);
  }
  std::vector<SparseVec> xs;
  for (const Query* q : kept) xs.push_back(Features(*q, opt.kind, opt.features));
  std::vector<size_t> all(kept.size());
  std::iota(all.begin(), all.end(), 0);
  return Fit(xs, kept, all, opt);
}

std::vector<double> CrossValidate(const std::vector<Query>& qs, int k, const TrainOptions& opt) {
  const std::vector<const Query*> ps = Pointers(qs);
  std::vector<SparseVec> xs;
  std::vector<int> fold;
  for (const Query& q : qs) {
    xs.push_back(Features(q, opt.kind, opt.features));
    fold.push_back(static_cast<int>(routing::Fnv1a64(q.id) % k));
  }
  std::vector<double> out(qs.size(), 0.0);
  for (int f = 0; f < k; ++f) {
    std::vector<size_t> train;
    for (size_t i = 0; i < qs.size(); ++i) {
      if (fold[i] != f && Fits(qs[i], opt)) train.push_back(i);
    }
    if (train.empty()) {  // every other fold's queries are excluded: this fold goes unscored
      for (size_t i = 0; i < qs.size(); ++i) {
        if (fold[i] == f) out[i] = -1;
      }
      continue;
    }
    LinearModel m = Fit(xs, ps, train, opt);
    for (size_t i = 0; i < qs.size(); ++i) {
      if (fold[i] == f) out[i] = m.Score(xs[i], routing::PromptChars(qs[i].Input(), opt.features));
    }
    std::cerr << "cv fold " << f + 1 << "/" << k << " done\n";
  }
  return out;
}

std::vector<double> LeaveOneBenchmarkOut(const std::vector<Query>& qs, const TrainOptions& opt) {
  std::set<std::string> benches;
  for (const Query& q : qs) benches.insert(q.benchmark);
  std::vector<double> out(qs.size(), -1.0);
  if (benches.size() < 2) return out;
  const std::vector<const Query*> ps = Pointers(qs);
  std::vector<SparseVec> xs;
  for (const Query& q : qs) xs.push_back(Features(q, opt.kind, opt.features));
  for (const auto& b : benches) {
    std::vector<size_t> train;
    for (size_t i = 0; i < qs.size(); ++i) {
      if (qs[i].benchmark != b && Fits(qs[i], opt)) train.push_back(i);
    }
    if (train.empty()) continue;  // every other benchmark's queries are excluded
    LinearModel m = Fit(xs, ps, train, opt);
    for (size_t i = 0; i < qs.size(); ++i) {
      if (qs[i].benchmark == b)
        out[i] = m.Score(xs[i], routing::PromptChars(qs[i].Input(), opt.features));
    }
  }
  return out;
}

}  // namespace triage::eval
