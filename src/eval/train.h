#pragma once
// Trains the learned (prompt-only) and cascade (prompt + cheap answer) logistic models with
// AdaGrad over hashed sparse features, and cross-validates them. Single-threaded.
#include <set>
#include <string>
#include <vector>

#include "eval/dataset.h"
#include "eval/progress.h"
#include "routing/linear_model.h"

namespace triage::eval {

struct TrainOptions {
  routing::ModelKind kind = routing::ModelKind::kLearned;
  int epochs = 10;
  double learning_rate = 0.005;
  double l2 = 1e-5;
  uint64_t seed = 7;
  bool balance_benchmarks = true;  // weight examples by sqrt(N / (B * n_benchmark))
  // 1: one logistic head on the gain label; 2: strong-correct and cheap-correct heads (score =
  // their difference), which measured better in 5-fold CV (docs/routing.md).
  uint32_t heads = 2;
  // Weight of the prompt-length prior blended into the score (LinearModel::length_prior):
  // 0.1 for learned (+0.02 leave-one-benchmark-out APGR for at most -0.006 in-domain), 0 for
  // the cascade, which judges the answer rather than the prompt.
  double length_prior = 0.1;
  double length_chars = 250;
  // Which text of a long prompt the features read (routing/features.h); stored in the model.
  routing::FeatureSet features = routing::kCurrentFeatureSet;
  // Categories left out of every fit (`train --exclude-category`): their queries are still
  // scored by CrossValidate and LeaveOneBenchmarkOut, so the figures cover them, but no model
  // learns from their labels (for a category whose recorded outcomes are a grading artifact,
  // such as the strong model's 2.6% on MMLU high_school_mathematics: docs/routing.md).
  std::set<std::string> exclude_categories;
  // Hears of every epoch of every fit (stage "fit on N queries"); not owned; may be null.
  Progress* progress = nullptr;
};

// Settings chosen by 5-fold CV on the dev files (docs/routing.md lists the sweep).
TrainOptions DefaultOptions(routing::ModelKind kind);

// Label for a query: the expected gain of the strong model mapped to [0,1],
// (strong - cheap + 1) / 2, so ties sit between "strong needed" and "cheap better".
double Label(const Query& q);

// Features of a query for the model kind (cascade adds the cheap response).
routing::SparseVec Features(const Query& q, routing::ModelKind kind,
                            routing::FeatureSet set = routing::kCurrentFeatureSet);

// Whether the fits learn from q (its category is not excluded).
bool Fits(const Query& q, const TrainOptions& opt);

// Categories (with at least `min_queries` queries) where the strong model's mean score is more
// than `margin` below the cheap model's: on benchmarks where the strong model is the better one,
// likely a grading artifact (answers in a format the grader did not read) rather than a
// difficulty signal. Sorted by name; each is {category, queries, cheap mean, strong mean}.
struct SuspectCategory {
  std::string category;
  size_t queries = 0;
  double cheap = 0, strong = 0;
};
std::vector<SuspectCategory> SuspectCategories(const std::vector<Query>& qs,
                                               size_t min_queries = 30, double margin = 0.1);

// REQUIRES: at least one query that Fits. Deterministic for a given seed; queries of excluded
// categories are skipped.
routing::LinearModel Train(const std::vector<const Query*>& qs, const TrainOptions& opt);

// Out-of-fold scores from k-fold CV (folds by a hash of the query id), in query order; -1 for a
// fold whose complement has no query to fit (all excluded).
std::vector<double> CrossValidate(const std::vector<Query>& qs, int k, const TrainOptions& opt);
// Scores for each benchmark from a model trained on all the other benchmarks (empty entries
// stay -1 when only one benchmark exists).
std::vector<double> LeaveOneBenchmarkOut(const std::vector<Query>& qs, const TrainOptions& opt);

}  // namespace triage::eval
