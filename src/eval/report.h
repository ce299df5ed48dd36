#pragma once
// Replays recorded outcomes through a router and summarises cost and quality per benchmark.
// Pure functions over the dataset; thread-compatible.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "eval/dataset.h"
#include "eval/metrics.h"

namespace triage::eval {

// USD per million tokens. The CLI fills these from catalog entries (--cheap-catalog,
// --strong-catalog) or from --cheap-price / --strong-price.
struct Prices {
  double cheap_in = 0, cheap_out = 0, strong_in = 0, strong_out = 0;
};

struct BenchReport {
  std::string name;
  size_t queries = 0;
  double q_cheap = 0, q_strong = 0;
  std::vector<CurvePoint> deciles, fine;
  // PGR, APGR and CPT need the strong model to be better on these queries (StrongBetter:
  // by more than 1e-9); otherwise they are undefined: pgr_defined is false,
  // apgr/cpt50/cpt80/op_pgr are NaN, text says "n/a" and JSON null.
  bool pgr_defined = false;
  double apgr = 0, cpt50 = 0, cpt80 = 0;
  // 95% percentile-bootstrap interval of APGR and CPT(50%) over `bootstrap` resamples of these
  // queries; nullopt when not asked for (bootstrap 0) or PGR is undefined too often.
  int bootstrap = 0;
  std::optional<BootstrapInterval> interval;
  // Operating point: the threshold Calibrate gives on this data for op_target strong (the
  // achievable split closest to it: tied scores share a side); op_fraction is what it sends.
  double op_target = 0.3, op_threshold = 0, op_fraction = 0, op_quality = 0, op_pgr = 0;
  double op_cost_ratio = 0;                                     // router cost / all-strong cost
  double cost_all_strong = 0, cost_all_cheap = 0, op_cost = 0;  // USD
  // Queries costed at their recorded cost_usd (both models recorded) instead of
  // estimated tokens x catalog prices.
  size_t recorded_cost_queries = 0;
  // The three costs above split by source: the part summed over those queries' recorded
  // cost_usd, and the part estimated for the other queries - recorded_cost_queries. Each
  // cost is its recorded part plus its estimated part.
  double cost_all_strong_recorded = 0, cost_all_cheap_recorded = 0, op_cost_recorded = 0;
  double cost_all_strong_estimated = 0, cost_all_cheap_estimated = 0, op_cost_estimated = 0;
};

// Scores every query: Scorer::Score, or for cascade specs 1 - ScoreAnswer(cheap response).
// `progress`, when given, hears of each query as the stage "score" (at most a line a second;
// before, a line per 10,000 queries went to stderr whatever the interval).
Result<std::vector<double>> ScoreQueries(const std::string& spec, const std::vector<Query>& qs,
                                         Progress* progress = nullptr);

// Which of qs match the prompts the model behind spec was trained on (its file's PromptFilter,
// ~1% false matches), one flag per query; nullopt for untrained routers (random, length,
// rules) and for model files written before that record existed (version < 3).
Result<std::optional<std::vector<bool>>> TrainingMatches(const std::string& spec,
                                                         const std::vector<Query>& qs);

// REQUIRES: qs and scores of equal, non-zero size. cascade: the cheap model is always called.
// bootstrap > 0 adds the interval from that many resamples, reported to `progress` (may be
// null) as the stage "bootstrap NAME".
BenchReport Analyze(const std::string& name, const std::vector<const Query*>& qs,
                    const std::vector<double>& scores, const Prices& prices, bool cascade,
                    double op_target = 0.3, int bootstrap = 0, Progress* progress = nullptr);

// Per-benchmark reports followed by "overall" (when several benchmarks).
std::vector<BenchReport> AnalyzeAll(const std::vector<Query>& qs, const std::vector<double>& scores,
                                    const Prices& prices, bool cascade, int bootstrap = 0,
                                    Progress* progress = nullptr);

// v with the given printf width and decimals, or "n/a" right-aligned in that width when not
// defined.
std::string Fixed(bool defined, double v, int width, int decimals);
// A fraction as a percentage with one decimal ("28.3%") in width + 1 characters, or "n/a".
std::string Percent(bool defined, double fraction, int width);

std::string FormatText(const std::vector<BenchReport>& reports);
nlohmann::json ToJson(const BenchReport& r);

// One category (the outcomes' `category` field) of one benchmark, for `eval --by-category`:
// where the router sends it at the benchmark's operating point, and how it ranks the
// category's own queries.
struct CategoryReport {
  std::string benchmark, category;  // category "": queries without one
  size_t queries = 0;
  double q_cheap = 0, q_strong = 0, mean_score = 0;
  // At the benchmark's operating-point threshold (BenchReport::op_threshold): the share sent
  // strong, the quality of the answers routed so, and the gap it recovers (NaN when the strong
  // model is not better on this category).
  double op_fraction = 0, op_quality = 0, op_pgr = 0;
  // APGR of the router's ranking inside the category (RouteLLM's metric on these queries
  // alone); NaN when the strong model is not better here.
  bool pgr_defined = false;
  double apgr = 0;
};

// Per benchmark of `reps` (not "overall"), its categories in name order.
// REQUIRES: reps == AnalyzeAll(qs, scores, ...).
std::vector<CategoryReport> AnalyzeCategories(const std::vector<Query>& qs,
                                              const std::vector<double>& scores,
                                              const std::vector<BenchReport>& reps);
std::string FormatCategories(const std::vector<CategoryReport>& cats,
                             const std::vector<BenchReport>& reps);
nlohmann::json ToJson(const CategoryReport& c);

}  // namespace triage::eval
