#include "eval/report.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>

#include "eval/calibrate.h"
#include "eval/progress.h"
#include "routing/linear_model.h"
#include "routing/router.h"

namespace triage::eval {
namespace {

// Tokens are estimated as characters / 4, each model's output from its own recorded answer.
// Without one, the other model's answer stands in; MMLU has none: a few tokens.
double InTokens(const Query& q) { return q.prompt_text.size() / 4.0; }
double CheapOutTokens(const Query& q) {
  if (!q.cheap_response.empty()) return q.cheap_response.size() / 4.0;
  return q.strong_response_chars > 0 ? q.strong_response_chars / 4.0 : 8.0;
}
double StrongOutTokens(const Query& q) {
  return q.strong_response_chars > 0 ? q.strong_response_chars / 4.0 : CheapOutTokens(q);
}

}  // namespace

Result<std::vector<double>> ScoreQueries(const std::string& spec, const std::vector<Query>& qs,
                                         Progress* progress) {
  std::vector<double> out;
  out.reserve(qs.size());
  auto parsed = routing::ParseRouterSpec(spec);
  if (!parsed) return parsed.error();
  const bool cascade = parsed->kind == "cascade";
  std::shared_ptr<const routing::Scorer> scorer;
  std::shared_ptr<const routing::AnswerScorer> answers;
  if (cascade) {
    auto a = routing::LoadAnswerScorer(parsed->arg);
    if (!a) return a.error();
    answers = *a;
  } else {
    auto s = routing::MakeScorer(spec);
    if (!s) return s.error();
    scorer = *s;
  }
  if (progress != nullptr) progress->Begin("score", qs.size(), "queries");
  for (size_t i = 0; i < qs.size(); ++i) {
    auto in = qs[i].Input();
    out.push_back(cascade ? 1.0 - answers->ScoreAnswer(in, qs[i].cheap_response)
                          : scorer->Score(in));
    // Every 256 queries: a clock read per query would cost more than `length` itself.
    if (progress != nullptr && ((i + 1) % 256 == 0 || i + 1 == qs.size())) progress->Update(i + 1);
  }
  return out;
}

Result<std::optional<std::vector<bool>>> TrainingMatches(const std::string& spec,
                                                         const std::vector<Query>& qs) {
  auto m = routing::ModelOfSpec(spec);
  if (!m) return m.error();
  if (!m->has_value() || (*m)->trained_on.empty()) return std::optional<std::vector<bool>>();
  std::vector<bool> hit;
  hit.reserve(qs.size());
  for (const Query& q : qs)
    hit.push_back((*m)->trained_on.MayContain(routing::PromptFingerprint(q.prompt_text)));
  return std::optional<std::vector<bool>>(std::move(hit));
}

BenchReport Analyze(const std::string& name, const std::vector<const Query*>& qs,
                    const std::vector<double>& scores, const Prices& p, bool cascade,
                    double op_target, int bootstrap, Progress* progress) {
  BenchReport r;
  r.name = name;
  r.queries = qs.size();
  std::vector<double> cheap, strong;
  for (const Query* q : qs) {
    cheap.push_back(q->cheap);
    strong.push_back(q->strong);
    r.q_cheap += q->cheap;
    r.q_strong += q->strong;
  }
  r.q_cheap /= qs.size();
  r.q_strong /= qs.size();
  r.deciles = QuantileCurve(scores, cheap, strong, 10);
  r.fine = FineCurve(scores, cheap, strong);
  r.pgr_defined = StrongBetter(r.q_cheap, r.q_strong);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  r.apgr = r.pgr_defined ? Apgr(r.deciles, r.q_cheap, r.q_strong) : nan;
  r.cpt50 = r.pgr_defined ? Cpt(r.deciles, r.q_cheap, r.q_strong, 0.5) : nan;
  r.cpt80 = r.pgr_defined ? Cpt(r.deciles, r.q_cheap, r.q_strong, 0.8) : nan;
  r.bootstrap = bootstrap;
  if (r.pgr_defined && bootstrap > 0) {
    if (progress != nullptr) progress->Begin("bootstrap " + name, bootstrap, "resamples");
    r.interval = Bootstrap(scores, cheap, strong, bootstrap, 1, 0.95, progress);
  }
  r.op_target = op_target;
  // The threshold `calibrate --strong-fraction` gives: the achievable split closest to the
  // target (tied scores share a side; a percentile inside a tie sent the whole tie strong).
  r.op_threshold = Calibrate(scores, {1.0 - op_target, op_target}).front();
  CurvePoint op = PointAt(scores, cheap, strong, r.op_threshold);
  r.op_fraction = op.strong_fraction;
  r.op_quality = op.quality;
  r.op_pgr = r.pgr_defined ? Pgr(op.quality, r.q_cheap, r.q_strong) : nan;
  for (size_t i = 0; i < qs.size(); ++i) {
    double c_cheap, c_strong;
    const bool recorded = qs[i]->cheap_cost >= 0 && qs[i]->strong_cost >= 0;
    if (recorded) {
      c_cheap = qs[i]->cheap_cost;
      c_strong = qs[i]->strong_cost;
      ++r.recorded_cost_queries;
    } else {
      const double cin = InTokens(*qs[i]);
      c_cheap = (cin * p.cheap_in + CheapOutTokens(*qs[i]) * p.cheap_out) / 1e6;
      c_strong = (cin * p.strong_in + StrongOutTokens(*qs[i]) * p.strong_out) / 1e6;
    }
    r.cost_all_cheap += c_cheap;
    r.cost_all_strong += c_strong;
    bool up = scores[i] >= r.op_threshold;
    const double c_op = cascade ? c_cheap + (up ? c_strong : 0.0) : (up ? c_strong : c_cheap);
    r.op_cost += c_op;
    (recorded ? r.cost_all_cheap_recorded : r.cost_all_cheap_estimated) += c_cheap;
    (recorded ? r.cost_all_strong_recorded : r.cost_all_strong_estimated) += c_strong;
    (recorded ? r.op_cost_recorded : r.op_cost_estimated) += c_op;
  }
  r.op_cost_ratio = r.cost_all_strong > 0 ? r.op_cost / r.cost_all_strong : 0;
  return r;
}

std::vector<BenchReport> AnalyzeAll(const std::vector<Query>& qs, const std::vector<double>& scores,
                                    const Prices& prices, bool cascade, int bootstrap,
                                    Progress* progress) {
  std::map<std::string, std::pair<std::vector<const Query*>, std::vector<double>>> by;
  std::vector<const Query*> all;
  for (size_t i = 0; i < qs.size(); ++i) {
    by[qs[i].benchmark].first.push_back(&qs[i]);
    by[qs[i].benchmark].second.push_back(scores[i]);
    all.push_back(&qs[i]);
  }
  std::vector<BenchReport> out;
  for (const auto& [name, v] : by)
    out.push_back(Analyze(name, v.first, v.second, prices, cascade, 0.3, bootstrap, progress));
  if (by.size() > 1)
    out.push_back(Analyze("overall", all, scores, prices, cascade, 0.3, bootstrap, progress));
  return out;
}

std::string Fixed(bool defined, double v, int width, int decimals) {
  char buf[48];
  if (defined)
    std::snprintf(buf, sizeof buf, "%*.*f", width, decimals, v);
  else
    std::snprintf(buf, sizeof buf, "%*s", width, "n/a");
  return buf;
}

std::string Percent(bool defined, double fraction, int width) {
  return defined ? Fixed(true, 100 * fraction, width, 1) + "%" : Fixed(false, 0, width + 1, 0);
}

std::string FormatText(const std::vector<BenchReport>& reports) {
  std::ostringstream o;
  char buf[512];
  for (const auto& r : reports) {
    std::snprintf(buf, sizeof buf,
                  "== %s (%zu queries)\ncheap-only quality %.4f   strong-only quality %.4f\n",
                  r.name.c_str(), r.queries, r.q_cheap, r.q_strong);
    o << buf << "strong calls  quality   PGR\n";
    for (const auto& c : r.deciles) {
      std::snprintf(buf, sizeof buf, "  %6.1f%%    %.4f  %s\n", 100 * c.strong_fraction, c.quality,
                    Fixed(r.pgr_defined, Pgr(c.quality, r.q_cheap, r.q_strong), 6, 3).c_str());
      o << buf;
    }
    if (r.pgr_defined) {
      std::snprintf(buf, sizeof buf, "APGR %.4f   CPT(50%%) %.1f%%   CPT(80%%) %.1f%%\n", r.apgr,
                    100 * r.cpt50, 100 * r.cpt80);
    } else {
      std::snprintf(buf, sizeof buf,
                    "APGR n/a   CPT(50%%) n/a   CPT(80%%) n/a   (undefined: the strong model is "
                    "not better than the cheap one on these queries)\n");
    }
    o << buf;
    if (r.interval) {
      std::snprintf(buf, sizeof buf,
                    "95%% bootstrap interval (%d resamples of these queries): APGR %.4f-%.4f   "
                    "CPT(50%%) %.1f%%-%.1f%%\n",
                    r.interval->used, r.interval->apgr_lo, r.interval->apgr_hi,
                    100 * r.interval->cpt50_lo, 100 * r.interval->cpt50_hi);
      o << buf;
    }
    std::snprintf(buf, sizeof buf,
                  "operating point (threshold %.4f for %.0f%% strong): %.1f%% strong, quality "
                  "%.4f (PGR %s), cost $%.4f = %.1f%% of all-strong $%.4f (all-cheap $%.4f)\n",
                  r.op_threshold, 100 * r.op_target, 100 * r.op_fraction, r.op_quality,
                  Fixed(r.pgr_defined, r.op_pgr, 0, 3).c_str(), r.op_cost, 100 * r.op_cost_ratio,
                  r.cost_all_strong, r.cost_all_cheap);
    o << buf;
    if (r.recorded_cost_queries == r.queries) {
      std::snprintf(buf, sizeof buf, "(%zu of %zu queries costed at their recorded cost_usd)\n",
                    r.recorded_cost_queries, r.queries);
      o << buf;
    } else if (r.recorded_cost_queries > 0) {
      // Mixed sources: each part on its own, so that neither is taken for the whole.
      std::snprintf(buf, sizeof buf,
                    "(%zu of %zu queries costed at their recorded cost_usd, %zu estimated; the "
                    "costs above add both)\n"
                    "  recorded:  operating point $%.6f, all-strong $%.6f, all-cheap $%.6f\n"
                    "  estimated: operating point $%.6f, all-strong $%.6f, all-cheap $%.6f\n",
                    r.recorded_cost_queries, r.queries, r.queries - r.recorded_cost_queries,
                    r.op_cost_recorded, r.cost_all_strong_recorded, r.cost_all_cheap_recorded,
                    r.op_cost_estimated, r.cost_all_strong_estimated, r.cost_all_cheap_estimated);
      o << buf;
    }
    o << "\n";
  }
  return o.str();
}

nlohmann::json ToJson(const BenchReport& r) {
  nlohmann::json curve = nlohmann::json::array(), fine = nlohmann::json::array();
  for (const auto& c : r.deciles)
    curve.push_back({{"strong_fraction", c.strong_fraction}, {"quality", c.quality}});
  for (const auto& c : r.fine)
    fine.push_back({{"strong_fraction", c.strong_fraction}, {"quality", c.quality}});
  // NaN (undefined PGR) -> null.
  auto num = [&](double v) { return r.pgr_defined ? nlohmann::json(v) : nlohmann::json(nullptr); };
  // [lo, hi], or null without an interval.
  auto interval = [&](double lo, double hi) {
    return r.interval ? nlohmann::json::array({lo, hi}) : nlohmann::json(nullptr);
  };
  return {{"benchmark", r.name},
          {"queries", r.queries},
          {"cheap_quality", r.q_cheap},
          {"strong_quality", r.q_strong},
          {"pgr_defined", r.pgr_defined},
          {"apgr", num(r.apgr)},
          {"cpt50", num(r.cpt50)},
          {"cpt80", num(r.cpt80)},
          {"bootstrap_resamples", r.interval ? r.interval->used : 0},
          {"apgr_interval",
           interval(r.interval ? r.interval->apgr_lo : 0, r.interval ? r.interval->apgr_hi : 0)},
          {"cpt50_interval",
           interval(r.interval ? r.interval->cpt50_lo : 0, r.interval ? r.interval->cpt50_hi : 0)},
          {"curve", curve},
          {"fine_curve", fine},
          {"operating_point",
           {{"target_strong_fraction", r.op_target},
            {"threshold", r.op_threshold},
            {"strong_fraction", r.op_fraction},
            {"quality", r.op_quality},
            {"pgr", num(r.op_pgr)},
            {"cost_usd", r.op_cost},
            {"cost_recorded_usd", r.op_cost_recorded},
            {"cost_estimated_usd", r.op_cost_estimated},
            {"cost_ratio", r.op_cost_ratio}}},
          {"cost_all_strong_usd", r.cost_all_strong},
          {"cost_all_cheap_usd", r.cost_all_cheap},
          {"recorded_cost_queries", r.recorded_cost_queries},
          {"estimated_cost_queries", r.queries - r.recorded_cost_queries},
          {"cost_all_strong_recorded_usd", r.cost_all_strong_recorded},
          {"cost_all_strong_estimated_usd", r.cost_all_strong_estimated},
          {"cost_all_cheap_recorded_usd", r.cost_all_cheap_recorded},
          {"cost_all_cheap_estimated_usd", r.cost_all_cheap_estimated}};
}

std::vector<CategoryReport> AnalyzeCategories(const std::vector<Query>& qs,
                                              const std::vector<double>& scores,
                                              const std::vector<BenchReport>& reps) {
  std::map<std::pair<std::string, std::string>, std::vector<size_t>> by;
  for (size_t i = 0; i < qs.size(); ++i) by[{qs[i].benchmark, qs[i].category}].push_back(i);
  std::map<std::string, double> threshold;
  for (const auto& r : reps) threshold[r.name] = r.op_threshold;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<CategoryReport> out;
  for (const auto& [key, idx] : by) {
    CategoryReport c;
    c.benchmark = key.first;
    c.category = key.second;
    c.queries = idx.size();
    std::vector<double> s, cheap, strong;
    for (size_t i : idx) {
      s.push_back(scores[i]);
      cheap.push_back(qs[i].cheap);
      strong.push_back(qs[i].strong);
      c.q_cheap += qs[i].cheap;
      c.q_strong += qs[i].strong;
      c.mean_score += scores[i];
    }
    c.q_cheap /= idx.size();
    c.q_strong /= idx.size();
    c.mean_score /= idx.size();
    const CurvePoint op = PointAt(s, cheap, strong, threshold.at(c.benchmark));
    c.op_fraction = op.strong_fraction;
    c.op_quality = op.quality;
    c.pgr_defined = StrongBetter(c.q_cheap, c.q_strong);
    c.op_pgr = c.pgr_defined ? Pgr(op.quality, c.q_cheap, c.q_strong) : nan;
    c.apgr = c.pgr_defined ? Apgr(QuantileCurve(s, cheap, strong, 10), c.q_cheap, c.q_strong) : nan;
    out.push_back(std::move(c));
  }
  return out;
}

std::string FormatCategories(const std::vector<CategoryReport>& cats,
                             const std::vector<BenchReport>& reps) {
  std::ostringstream o;
  char buf[512];
  size_t width = 8;
  for (const auto& c : cats) width = std::max(width, c.category.size());
  for (const auto& r : reps) {
    if (r.name == "overall") continue;
    std::snprintf(buf, sizeof buf,
                  "== %s by category (operating point: threshold %.4f, %.1f%% strong)\n%-*s "
                  "queries   cheap  strong  mean score  strong at op  quality at op  PGR at op  "
                  "APGR\n",
                  r.name.c_str(), r.op_threshold, 100 * r.op_fraction, static_cast<int>(width),
                  "category");
    o << buf;
    for (const auto& c : cats) {
      if (c.benchmark != r.name) continue;
      std::snprintf(
          buf, sizeof buf, "%-*s %7zu  %.4f  %.4f      %.4f        %s         %.4f  %s  %s\n",
          static_cast<int>(width), c.category.empty() ? "(none)" : c.category.c_str(), c.queries,
          c.q_cheap, c.q_strong, c.mean_score, Percent(true, c.op_fraction, 5).c_str(),
          c.op_quality, Fixed(c.pgr_defined, c.op_pgr, 9, 3).c_str(),
          Fixed(c.pgr_defined, c.apgr, 5, 3).c_str());
      o << buf;
    }
    o << "\n";
  }
  return o.str();
}

nlohmann::json ToJson(const CategoryReport& c) {
  auto num = [&](double v) { return c.pgr_defined ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {
      {"category", c.category},
      {"queries", c.queries},
      {"cheap_quality", c.q_cheap},
      {"strong_quality", c.q_strong},
      {"mean_score", c.mean_score},
      {"pgr_defined", c.pgr_defined},
      {"apgr", num(c.apgr)},
      {"operating_point",
       {{"strong_fraction", c.op_fraction}, {"quality", c.op_quality}, {"pgr", num(c.op_pgr)}}}};
}

}  // namespace triage::eval
