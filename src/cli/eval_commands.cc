#include "cli/eval_commands.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "catalog/catalog.h"
#include "common/file_write.h"
#include "eval/calibrate.h"
#include "eval/dataset.h"
#include "eval/plot.h"
#include "eval/png.h"
#include "eval/progress.h"
#include "eval/report.h"
#include "eval/train.h"
#include "routing/linear_model.h"
#include "routing/router.h"
#include "store/route_scores.h"
#include "store/sqlite_url.h"

namespace triage::cli {
namespace {

struct EvalArgs {
  std::vector<std::string> data;
  std::string router, cheap = "mixtral-8x7b-instruct", strong = "gpt-4-1106-preview";
  std::vector<std::string> routers;  // eval: one --router, or several to compare
  bool json = false;
  std::string plot, out, kind = "learned", split;
  std::string scores_out;    // eval --scores: one JSON line per query
  bool by_category = false;  // eval --by-category: a table per benchmark, a row per category
  int bootstrap = 200;       // eval --bootstrap: resamples for the APGR / CPT(50%) interval
  int cv = 0;
  double strong_fraction = -1;
  double min_pgr = -1;     // calibrate --min-pgr: quality floor
  std::string ledger;      // calibrate --ledger: the scores live traffic got, instead of --data
  double since_hours = 0;  // calibrate --since-hours: only ledger rows this recent (0 = all)
  // Training overrides; unset (<= 0) keeps eval::DefaultOptions.
  int heads = 0, epochs = 0, feature_set = 0;
  double learning_rate = 0, l2 = -1, length_prior = -1;
  std::vector<std::string> exclude_categories;  // train --exclude-category
  // Prices come from these catalog entries unless --cheap-price / --strong-price are given.
  std::string cheap_catalog = "gemma-4-31b", strong_catalog = "claude-opus-4.7";
  double cheap_price = -1, strong_price = -1;
  eval::Prices prices;  // resolved by ResolvePrices
};

// Progress of long work on stderr (never stdout): at most a line a second, none for work that
// ends sooner. TRIAGE_PROGRESS_MS sets another interval (0: a line per step, for tests).
eval::Progress StderrProgress() {
  // Read once: a value that is not a whole number >= 0 is said so (once) and ignored; strtol
  // read "abc" as 0, a line per step, and "1s" as 1 ms.
  static const long ms = [] {
    const char* env = std::getenv("TRIAGE_PROGRESS_MS");
    if (env == nullptr || *env == '\0') return 1000L;
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(env, &end, 10);
    if (std::isdigit(static_cast<unsigned char>(*env)) && *end == '\0' && errno == 0 && v >= 0)
      return v;
    std::cerr << "warning: TRIAGE_PROGRESS_MS=" << env
              << " is not a number of milliseconds >= 0; progress lines come at most once a "
                 "second\n";
    return 1000L;
  }();
  return eval::Progress(&std::cerr, std::chrono::milliseconds(ms));
}

int Fail(const std::string& msg, int code = 1) {
  std::cerr << "triage: " << msg << "\n";
  return code;
}

// Writes an output file (--plot, --scores, --out) and says so on stderr; 0 or a failure.
int WriteOutput(const std::string& path, const std::string& text) {
  // Checked to the close (a buffered stream hid a full disk: "wrote" and exit 0), and atomic.
  if (Status s = WriteFileAtomically(path, text); !s.ok()) return Fail(s.error().message);
  std::cerr << "wrote " << path << "\n";
  return 0;
}

// Writes the plot as SVG, or as PNG when the name ends in .png (CheckPlotPath ran before).
int WritePlot(const std::string& path, const std::string& svg) {
  if (!eval::IsPngPath(path)) return WriteOutput(path, svg);
  Status s = eval::WritePng(svg, path);
  if (!s.ok()) return Fail(s.error().message);
  std::cerr << "wrote " << path << "\n";
  return 0;
}

// Refuses a --plot name that is neither .svg nor .png (exit 2), or a PNG that cannot be made
// here (exit 1), before any long work starts. 0 when fine (or no --plot).
int CheckPlotPath(const std::string& path) {
  if (path.empty()) return 0;
  if (eval::IsPngPath(path)) {
    Status s = eval::PngSupport();
    return s.ok() ? 0 : Fail(s.error().message);
  }
  return eval::HasExtension(path, ".svg")
             ? 0
             : Fail("--plot " + path + ": the name must end in .svg or .png", 2);
}

// Fills a->prices from the catalog entries, then the explicit --*-price overrides.
Status ResolvePrices(EvalArgs* a) {
  auto from = [](const std::string& id, double* in, double* out) -> Status {
    const catalog::ModelInfo* m = catalog::Find(id);
    if (m == nullptr) {
      std::string known;
      for (const auto& k : catalog::Builtin()) known += (known.empty() ? "" : ", ") + k.id;
      return Error::Make(ErrorKind::kInvalidRequest, "unknown_model",
                         "unknown catalog model '" + id + "' (known: " + known + ")");
    }
    if (!m->price)
      return Error::Make(ErrorKind::kInvalidRequest, "no_price",
                         "catalog model '" + id + "' has no list price; give one with --*-price");
    *in = static_cast<double>(m->price->input_micros_per_mtok) / 1e6;
    *out = static_cast<double>(m->price->output_micros_per_mtok) / 1e6;
    return Ok{};
  };
  if (a->cheap_price >= 0) {
    a->prices.cheap_in = a->prices.cheap_out = a->cheap_price;
  } else if (Status s = from(a->cheap_catalog, &a->prices.cheap_in, &a->prices.cheap_out);
             !s.ok()) {
    return s;
  }
  if (a->strong_price >= 0) {
    a->prices.strong_in = a->strong_price;
    a->prices.strong_out = 5 * a->strong_price;
  } else if (Status s = from(a->strong_catalog, &a->prices.strong_in, &a->prices.strong_out);
             !s.ok()) {
    return s;
  }
  return Ok{};
}

// Loads every --data file; reports skipped queries on stderr.
Result<eval::Dataset> Load(const EvalArgs& a) {
  eval::Dataset ds;
  for (const auto& f : a.data) {
    Status st = eval::ReadOutcomes(f, a.cheap, a.strong, &ds);
    if (!st.ok()) return st.error();
  }
  if (ds.queries.empty())
    return Error::Make(
        ErrorKind::kInvalidRequest, "no_queries",
        "no usable queries in the --data files: " +
            (ds.models.empty()
                 ? "no line has a numeric score for any model"
                 : "none has outcomes for both " + a.cheap + " (--cheap) and " + a.strong +
                       " (--strong); the files have outcomes for " + eval::DescribeModels(ds)));
  if (ds.skipped > 0)
    std::cerr << "skipped " << ds.skipped << " queries without outcomes for both " << a.cheap
              << " and " << a.strong << " (models in the files: " << eval::DescribeModels(ds)
              << ")\n";
  // A whole file skipped is likely other model names (--cheap / --strong hold for every file).
  for (const auto& f : ds.files)
    if (f.kept == 0)
      std::cerr << "warning: " << f.path << ": none of its " << f.skipped
                << " queries has outcomes for both " << a.cheap << " and " << a.strong
                << ": the figures leave this file out\n";
  eval::RenameOverallBenchmark(&ds);
  if (ds.overall_renamed > 0)
    std::cerr << "note: " << ds.overall_renamed << " of " << ds.queries.size()
              << " queries have the benchmark name \"overall\", which the reports give the "
                 "aggregate of all benchmarks: they are reported as \""
              << ds.overall_renamed_to << "\"\n";
  if (ds.duplicate_ids > 0)
    std::cerr << "note: " << ds.duplicate_ids << " lines repeat an id seen earlier in their file ("
              << ds.first_duplicate << "); each line counts as its own query\n";
  return ds;
}

// {"overall": "overall-benchmark"} when RenameOverallBenchmark renamed queries, else {}.
nlohmann::json RenamedJson(const eval::Dataset& ds) {
  nlohmann::json j = nlohmann::json::object();
  if (ds.overall_renamed > 0) j[eval::kOverall] = ds.overall_renamed_to;
  return j;
}

nlohmann::json ReportsJson(const std::vector<eval::BenchReport>& reps, const EvalArgs& a,
                           const eval::Dataset& ds) {
  nlohmann::json j = eval::ToJson(reps.back());
  j["router"] = a.router;
  j["skipped"] = ds.skipped;
  j["renamed_benchmarks"] = RenamedJson(ds);
  if (a.cheap_price < 0) j["cheap_catalog"] = a.cheap_catalog;
  if (a.strong_price < 0) j["strong_catalog"] = a.strong_catalog;
  j["prices_usd_per_mtok"] = {{"cheap_in", a.prices.cheap_in},
                              {"cheap_out", a.prices.cheap_out},
                              {"strong_in", a.prices.strong_in},
                              {"strong_out", a.prices.strong_out}};
  nlohmann::json per = nlohmann::json::object();
  for (const auto& r : reps) per[r.name] = eval::ToJson(r);
  j["benchmarks"] = per;
  return j;
}

// Per benchmark (in name order), how many queries match prompts the router's model was
// trained on; empty for an untrained router or a model file without that record. Warns on
// stderr for each benchmark where they are more than 5%: figures or thresholds computed on
// them are in-sample.
struct Overlap {
  std::string benchmark;
  size_t matched = 0, queries = 0;
};
Result<std::vector<Overlap>> CheckOverlap(const EvalArgs& a, const eval::Dataset& ds,
                                          const char* what) {
  auto hits = eval::TrainingMatches(a.router, ds.queries);
  if (!hits) return hits.error();
  std::vector<Overlap> out;
  if (!hits->has_value()) return out;
  std::map<std::string, Overlap> per;
  for (size_t i = 0; i < ds.queries.size(); ++i) {
    Overlap& o = per[ds.queries[i].benchmark];
    o.benchmark = ds.queries[i].benchmark;
    o.matched += (**hits)[i];
    ++o.queries;
  }
  for (auto& [name, o] : per) {
    if (o.matched * 20 > o.queries)
      std::cerr << "warning: " << name << ": " << o.matched << " of " << o.queries
                << " queries match prompts " << a.router << " was trained on: " << what << "\n";
    out.push_back(o);
  }
  return out;
}

// One router's replay of the dataset: scores, reports and what its model was trained on.
struct RouterRun {
  std::vector<double> scores;
  bool cascade = false;
  size_t no_answer = 0;  // cascade: queries without a recorded cheap answer
  std::vector<Overlap> overlap;
  std::vector<eval::BenchReport> reps;
  // learned: and cascade: routers: what their model file says of itself.
  std::optional<routing::LinearModel> model;
};

// "model: NOTE (feature set N, H heads)": which model a trained router ran, and how it reads a
// prompt (docs/routing.md, Features).
std::string ModelLine(const routing::LinearModel& m) {
  return "model: " + (m.note.empty() ? std::string("(no note)") : m.note) + " (feature set " +
         std::to_string(static_cast<uint32_t>(m.features)) + ", " + std::to_string(m.heads) +
         (m.heads == 1 ? " head)" : " heads)");
}

// For a cascade: router, how many queries lack a recorded cheap-model response (scored as an
// empty answer), said on stderr when any; 0 for other routers.
size_t NoteNoAnswers(const EvalArgs& a, const eval::Dataset& ds) {
  if (a.router.rfind("cascade:", 0) != 0) return 0;
  size_t none = 0;
  for (const auto& q : ds.queries) none += q.cheap_response.empty();
  if (none > 0)
    std::cerr << "note: " << none << " of " << ds.queries.size()
              << " queries have no recorded response from " << a.cheap << "; " << a.router
              << " scored them as an empty answer\n";
  return none;
}

// a.router is the router to run; notes and in-sample warnings go to stderr.
Result<RouterRun> RunRouter(const EvalArgs& a, const eval::Dataset& ds) {
  RouterRun run;
  eval::Progress progress = StderrProgress();
  progress.SetContext(a.router);
  auto scores = eval::ScoreQueries(a.router, ds.queries, &progress);
  if (!scores) return scores.error();
  run.scores = std::move(*scores);
  auto model = routing::ModelOfSpec(a.router);
  if (!model) return model.error();
  run.model = std::move(*model);
  run.cascade = a.router.rfind("cascade:", 0) == 0;
  run.no_answer = NoteNoAnswers(a, ds);
  auto overlap =
      CheckOverlap(a, ds, "the figures are in-sample and overstate what new traffic will see");
  if (!overlap) return overlap.error();
  run.overlap = std::move(*overlap);
  run.reps =
      eval::AnalyzeAll(ds.queries, run.scores, a.prices, run.cascade, a.bootstrap, &progress);
  // Tied scores cannot be split, so an operating point may miss its 30% strong.
  for (const auto& r : run.reps) {
    std::vector<double> scores;
    for (size_t i = 0; i < ds.queries.size(); ++i)
      if (r.name == "overall" || ds.queries[i].benchmark == r.name) scores.push_back(run.scores[i]);
    const std::string why = eval::SplitShortfall(scores, {1 - r.op_target, r.op_target},
                                                 {1 - r.op_fraction, r.op_fraction});
    if (!why.empty())
      std::cerr << "warning: " << a.router << ": " << r.name << ": operating point: " << why
                << "\n";
  }
  return run;
}

nlohmann::json RunJson(const RouterRun& run, const EvalArgs& a, const eval::Dataset& ds) {
  auto j = ReportsJson(run.reps, a, ds);
  if (run.cascade) j["queries_without_cheap_response"] = run.no_answer;
  j["model"] = nullptr;
  if (run.model) {
    j["model"] = nlohmann::json::object();
    j["model"]["kind"] = run.model->kind == routing::ModelKind::kCascade ? "cascade" : "learned";
    j["model"]["heads"] = run.model->heads;
    j["model"]["feature_set"] = static_cast<uint32_t>(run.model->features);
    j["model"]["note"] = run.model->note;
  }
  // Per benchmark: how many queries the model was trained on (null: not recorded).
  for (auto& [name, b] : j["benchmarks"].items()) b["training_overlap"] = nullptr;
  j["training_overlap"] = nullptr;
  size_t total = 0;
  for (const auto& o : run.overlap) {
    j["benchmarks"][o.benchmark]["training_overlap"] = o.matched;
    total += o.matched;
  }
  if (!run.overlap.empty()) {
    j["training_overlap"] = total;
    if (j["benchmarks"].contains("overall")) j["benchmarks"]["overall"]["training_overlap"] = total;
  }
  return j;
}

// "(cheap M, strong M; prices $/Mtok in/out: ...; tokens = chars/4)"
std::string PricesNote(const EvalArgs& a) {
  std::ostringstream o;
  o << "(cheap " << a.cheap << ", strong " << a.strong << "; prices $/Mtok in/out: cheap "
    << a.prices.cheap_in << "/" << a.prices.cheap_out
    << (a.cheap_price < 0 ? " (" + a.cheap_catalog + ")" : std::string()) << ", strong "
    << a.prices.strong_in << "/" << a.prices.strong_out
    << (a.strong_price < 0 ? " (" + a.strong_catalog + ")" : std::string())
    << "; tokens = chars/4)";
  return o.str();
}

// More than 5% of the benchmark's queries (all of them for "" or "overall") match prompts the
// router's model was trained on.
bool InSample(const RouterRun& run, const std::string& benchmark) {
  size_t matched = 0, queries = 0;
  for (const auto& o : run.overlap) {
    if (!benchmark.empty() && benchmark != "overall" && o.benchmark != benchmark) continue;
    matched += o.matched;
    queries += o.queries;
  }
  return matched * 20 > queries && queries > 0;
}

// APGR of runs[k] minus that of runs[0] on each benchmark of the reports (AnalyzeAll's order:
// by name, then "overall" over all queries), with the paired bootstrap interval; nullopt
// where PGR is undefined. [k][b].
using VsFirst = std::vector<std::vector<std::optional<eval::PairedInterval>>>;
VsFirst CompareWithFirst(const std::vector<RouterRun>& runs, const eval::Dataset& ds, int bootstrap,
                         const std::vector<std::string>& specs) {
  VsFirst out(runs.size());
  eval::Progress progress = StderrProgress();
  const auto& reps = runs.front().reps;
  for (size_t b = 0; b < reps.size(); ++b) {
    std::vector<double> cheap, strong;
    std::vector<size_t> idx;
    for (size_t i = 0; i < ds.queries.size(); ++i) {
      if (reps[b].name != "overall" && ds.queries[i].benchmark != reps[b].name) continue;
      idx.push_back(i);
      cheap.push_back(ds.queries[i].cheap);
      strong.push_back(ds.queries[i].strong);
    }
    auto pick = [&](const std::vector<double>& v) {
      std::vector<double> s;
      for (size_t i : idx) s.push_back(v[i]);
      return s;
    };
    const auto first = pick(runs.front().scores);
    for (size_t k = 0; k < runs.size(); ++k) {
      std::optional<eval::PairedInterval> d;
      if (k > 0 && reps[b].pgr_defined) {
        progress.SetContext(specs[k]);
        progress.Begin("paired bootstrap against " + specs.front() + " on " + reps[b].name,
                       std::max(bootstrap, 1), "resamples");
        // Without resamples, the difference alone (interval fields stay 0, used 0).
        d = eval::BootstrapDifference(first, pick(runs[k].scores), cheap, strong,
                                      std::max(bootstrap, 1), 1, 0.95, &progress);
        if (d && bootstrap == 0) *d = {d->difference, 0, 0, 0};
      }
      out[k].push_back(d);
    }
  }
  return out;
}

// {"baseline", "difference", "interval": [lo, hi] or null, "resamples"}, or null.
nlohmann::json VsFirstJson(const std::optional<eval::PairedInterval>& d,
                           const std::string& baseline) {
  if (!d) return nullptr;
  return {{"baseline", baseline},
          {"difference", d->difference},
          {"interval", d->used > 0 ? nlohmann::json::array({d->lo, d->hi}) : nlohmann::json()},
          {"resamples", d->used}};
}

// eval with several --router: one table per benchmark, one JSON object, one picture.
int RunCompare(const EvalArgs& args, const eval::Dataset& ds) {
  std::vector<RouterRun> runs;
  for (const auto& spec : args.routers) {
    EvalArgs a = args;
    a.router = spec;
    auto run = RunRouter(a, ds);
    if (!run) return Fail(run.error().message);
    runs.push_back(std::move(*run));
  }
  const VsFirst vs = CompareWithFirst(runs, ds, args.bootstrap, args.routers);
  if (args.json) {
    nlohmann::json list = nlohmann::json::array();
    for (size_t k = 0; k < runs.size(); ++k) {
      EvalArgs a = args;
      a.router = args.routers[k];
      nlohmann::json j = RunJson(runs[k], a, ds);
      const auto& reps = runs[k].reps;
      for (size_t b = 0; b < reps.size(); ++b)
        j["benchmarks"][reps[b].name]["apgr_vs_first"] =
            VsFirstJson(vs[k][b], args.routers.front());
      j["apgr_vs_first"] = VsFirstJson(vs[k].back(), args.routers.front());
      list.push_back(std::move(j));
    }
    std::cout << nlohmann::json{{"routers", list},
                                {"skipped", ds.skipped},
                                {"renamed_benchmarks", RenamedJson(ds)}}
                     .dump()
              << "\n";
  } else {
    size_t width = 6;
    for (const auto& spec : args.routers) width = std::max(width, spec.size());
    std::cout << args.routers.size() << " routers on the same queries " << PricesNote(args) << "\n";
    for (size_t k = 0; k < runs.size(); ++k)
      if (runs[k].model) std::cout << args.routers[k] << ": " << ModelLine(*runs[k].model) << "\n";
    for (size_t b = 0; b < runs.front().reps.size(); ++b) {
      const auto& first = runs.front().reps[b];
      std::printf("\n== %s (%zu queries): cheap-only %.4f, strong-only %.4f\n", first.name.c_str(),
                  first.queries, first.q_cheap, first.q_strong);
      std::printf("%-*s    APGR  CPT(50%%)  CPT(80%%)  quality at 30%% strong  APGR vs first%s\n",
                  static_cast<int>(width), "router",
                  args.bootstrap > 0 ? " (95% paired bootstrap)" : "");
      for (size_t k = 0; k < runs.size(); ++k) {
        const auto& r = runs[k].reps[b];
        std::string versus = k == 0 ? "baseline" : "n/a";
        if (const auto& d = vs[k][b]) {
          char buf[96];
          if (d->used > 0)
            std::snprintf(buf, sizeof buf, "%+.3f (%+.3f to %+.3f)", d->difference, d->lo, d->hi);
          else
            std::snprintf(buf, sizeof buf, "%+.3f", d->difference);
          versus = buf;
        }
        std::printf("%-*s  %s  %s  %s  %.4f                  %s%s\n", static_cast<int>(width),
                    args.routers[k].c_str(), eval::Fixed(r.pgr_defined, r.apgr, 6, 3).c_str(),
                    eval::Percent(r.pgr_defined, r.cpt50, 7).c_str(),
                    eval::Percent(r.pgr_defined, r.cpt80, 7).c_str(), r.op_quality, versus.c_str(),
                    InSample(runs[k], r.name) ? "  in-sample" : "");
      }
    }
    std::fflush(stdout);
  }
  if (!args.plot.empty()) {
    std::vector<const eval::Query*> all;
    for (const auto& q : ds.queries) all.push_back(&q);
    std::vector<std::pair<std::string, eval::BenchReport>> curves;
    for (size_t k = 0; k < runs.size(); ++k)
      curves.emplace_back(args.routers[k] + (InSample(runs[k], "") ? " [in-sample]" : ""),
                          runs[k].reps.back());
    return WritePlot(args.plot, eval::PlotSvgCompare(curves, eval::OracleCurve(all)));
  }
  return 0;
}

int RunEval(const EvalArgs& args) {
  auto ds = Load(args);
  if (!ds) return Fail(ds.error().message);
  if (args.routers.size() > 1) return RunCompare(args, *ds);
  EvalArgs a = args;
  a.router = args.routers.front();
  auto run = RunRouter(a, *ds);
  if (!run) return Fail(run.error().message);
  const auto& scores = run->scores;
  const auto& reps = run->reps;
  std::vector<eval::CategoryReport> cats;
  if (a.by_category) cats = eval::AnalyzeCategories(ds->queries, scores, reps);
  if (a.json) {
    nlohmann::json j = RunJson(*run, a, *ds);
    if (a.by_category) {
      for (auto& [name, b] : j["benchmarks"].items())
        if (name != "overall") b["categories"] = nlohmann::json::array();
      for (const auto& c : cats) j["benchmarks"][c.benchmark]["categories"].push_back(ToJson(c));
      if (!j["benchmarks"].contains("overall"))
        j["categories"] = j["benchmarks"][reps.back().name]["categories"];
    }
    std::cout << j.dump() << "\n";
  } else {
    std::cout << "router " << a.router << "  " << PricesNote(a) << "\n";
    if (run->model) std::cout << ModelLine(*run->model) << "\n";
    if (!run->overlap.empty()) {
      std::cout << "queries matching prompts the model was trained on (~1% false matches):";
      for (const auto& o : run->overlap)
        std::cout << " " << o.benchmark << " " << o.matched << "/" << o.queries;
      std::cout << "\n";
    }
    std::cout << "\n" << eval::FormatText(reps);
    if (a.by_category) std::cout << eval::FormatCategories(cats, reps);
  }
  if (!a.scores_out.empty()) {
    std::string lines;
    for (size_t i = 0; i < ds->queries.size(); ++i) {
      const auto& q = ds->queries[i];
      lines += nlohmann::json{{"id", q.id},
                              {"benchmark", q.benchmark},
                              {"score", scores[i]},
                              {"cheap", q.cheap},
                              {"strong", q.strong}}
                   .dump() +
               "\n";
    }
    if (int rc = WriteOutput(a.scores_out, lines)) return rc;
  }
  if (!a.plot.empty()) {
    std::vector<const eval::Query*> all;
    for (const auto& q : ds->queries) all.push_back(&q);
    if (int rc = WritePlot(a.plot, eval::PlotSvg(reps.back(), eval::OracleCurve(all), a.router)))
      return rc;
  }
  return 0;
}

// `none`: why no query could be scored, printed in place of the figures (the block used to be
// left out without a word, as if --cv had not been asked for).
void PrintCv(const char* what, const eval::Dataset& ds, const std::vector<double>& s,
             const EvalArgs& a, bool cascade, const std::string& none) {
  std::vector<eval::Query> kept;
  std::vector<double> ks;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] < 0) continue;
    kept.push_back(ds.queries[i]);
    ks.push_back(s[i]);
  }
  std::cout << "---- " << what << "\n";
  if (kept.empty()) {
    std::cout << "no query scored: " << none << "\n";
    std::fflush(stdout);
    return;
  }
  eval::Progress progress = StderrProgress();
  const auto reports = eval::AnalyzeAll(kept, ks, a.prices, cascade, a.bootstrap, &progress);
  int width = 10;  // names line up however long the benchmark names are
  for (const auto& r : reports) width = std::max(width, static_cast<int>(r.name.size()));
  for (const auto& r : reports) {
    std::printf("%-*s n=%-6zu APGR %s  CPT(50%%) %s  CPT(80%%) %s", width, r.name.c_str(),
                r.queries, eval::Fixed(r.pgr_defined, r.apgr, 6, 4).c_str(),
                eval::Percent(r.pgr_defined, r.cpt50, 5).c_str(),
                eval::Percent(r.pgr_defined, r.cpt80, 5).c_str());
    if (r.interval)
      std::printf("  (95%% bootstrap: APGR %.3f-%.3f, CPT(50%%) %.1f-%.1f%%)", r.interval->apgr_lo,
                  r.interval->apgr_hi, 100 * r.interval->cpt50_lo, 100 * r.interval->cpt50_hi);
    std::printf("\n");
  }
  std::fflush(stdout);
}

// train --exclude-category: every name must be a category of the data (a typo would otherwise
// train on everything without a word), and something must be left to fit. Warns on stderr about
// categories whose outcomes look like a grading artifact and are not excluded.
Status ExcludeCategories(const EvalArgs& a, const eval::Dataset& ds, eval::TrainOptions* opt) {
  std::set<std::string> present;
  for (const auto& q : ds.queries) present.insert(q.category);
  for (const auto& c : a.exclude_categories) {
    if (!present.contains(c)) {
      std::string known;
      size_t named = 0;
      for (const auto& p : present) {
        if (p.empty()) continue;
        if (++named <= 12) known += (known.empty() ? "" : ", ") + p;
      }
      if (named > 12) known += ", ...";
      return Error::Make(
          ErrorKind::kInvalidRequest, "unknown_category",
          "--exclude-category " + c + ": no query of the data has that category" +
              (named == 0 ? std::string(" (the data has no categories)")
                          : " (" + std::to_string(named) + " categories: " + known + ")"));
    }
    opt->exclude_categories.insert(c);
  }
  size_t fits = 0;
  for (const auto& q : ds.queries) fits += eval::Fits(q, *opt);
  if (fits == 0)
    return Error::Make(ErrorKind::kInvalidRequest, "nothing_to_train",
                       "--exclude-category leaves no query to train on");
  if (!opt->exclude_categories.empty())
    std::cerr << "excluded from training: " << ds.queries.size() - fits << " queries of "
              << opt->exclude_categories.size() << " categories (still scored by --cv)\n";
  for (const auto& s : eval::SuspectCategories(ds.queries)) {
    if (opt->exclude_categories.contains(s.category)) continue;
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "warning: category %s: the strong model scores %.3f against the cheap model's "
                  "%.3f over %zu queries; if that is a grading artifact, --exclude-category %s "
                  "keeps it out of training\n",
                  s.category.c_str(), s.strong, s.cheap, s.queries, s.category.c_str());
    std::cerr << buf;
  }
  return Ok{};
}

// A fit whose weights overflowed to infinities or NaN: its scores order nothing, and a model
// file of them would route every request by NaN.
std::string Diverged(const eval::TrainOptions& opt) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "training diverged: the weights are not finite numbers (--learning-rate %g, --l2 "
                "%g; the defaults are 0.01 and 1e-5, 0.02 and 3e-3 for --kind cascade): lower "
                "them; no model written",
                opt.learning_rate, opt.l2);
  return buf;
}

int RunTrain(const EvalArgs& a) {
  auto ds = Load(a);
  if (!ds) return Fail(ds.error().message);
  eval::TrainOptions opt = eval::DefaultOptions(a.kind == "cascade" ? routing::ModelKind::kCascade
                                                                    : routing::ModelKind::kLearned);
  if (a.heads > 0) opt.heads = static_cast<uint32_t>(a.heads);
  if (a.epochs > 0) opt.epochs = a.epochs;
  if (a.learning_rate > 0) opt.learning_rate = a.learning_rate;
  if (a.l2 >= 0) opt.l2 = a.l2;
  if (a.length_prior >= 0) opt.length_prior = a.length_prior;
  if (a.feature_set > 0) opt.features = static_cast<routing::FeatureSet>(a.feature_set);
  if (auto st = ExcludeCategories(a, *ds, &opt); !st.ok()) return Fail(st.error().message);
  eval::Progress progress = StderrProgress();
  opt.progress = &progress;
  bool cascade = opt.kind == routing::ModelKind::kCascade;
  if (cascade) {
    size_t with = 0;
    for (const auto& q : ds->queries) with += !q.cheap_response.empty();
    if (with == 0) return Fail("--kind cascade needs recorded cheap-model responses");
    if (with < ds->queries.size())
      std::cerr << "note: " << ds->queries.size() - with << " of " << ds->queries.size()
                << " queries have no recorded response from " << a.cheap
                << "; --kind cascade learns from them as empty answers\n";
  }
  if (a.cv > 1) {
    const auto cv = eval::CrossValidate(ds->queries, a.cv, opt);
    if (!std::all_of(cv.begin(), cv.end(), [](double s) { return std::isfinite(s); }))
      return Fail(Diverged(opt));
    PrintCv((std::to_string(a.cv) + "-fold cross-validation (out-of-fold scores)").c_str(), *ds, cv,
            a, cascade,
            "each fold is scored by a model trained on the other folds, and no other fold had a "
            "query to train on (" +
                std::to_string(ds->queries.size()) + " queries)");
    const auto lobo = eval::LeaveOneBenchmarkOut(ds->queries, opt);
    if (!std::all_of(lobo.begin(), lobo.end(), [](double s) { return std::isfinite(s); }))
      return Fail(Diverged(opt));
    std::set<std::string> names;
    for (const auto& q : ds->queries) names.insert(q.benchmark);
    PrintCv("leave-one-benchmark-out (trained on the other benchmarks)", *ds, lobo, a, cascade,
            names.size() < 2 ? "it needs queries of two or more benchmarks; the data has one (" +
                                   *names.begin() + ")"
                             : "no benchmark's model had queries of the others to train on");
  }
  std::vector<const eval::Query*> all;
  std::set<std::string> benches;
  for (const auto& q : ds->queries) {
    if (!eval::Fits(q, opt)) continue;
    all.push_back(&q);
    benches.insert(q.benchmark);
  }
  routing::LinearModel m = eval::Train(all, opt);
  if (!m.AllFinite()) return Fail(Diverged(opt));
  std::vector<uint64_t> prompts;
  for (const auto* q : all) prompts.push_back(routing::PromptFingerprint(q->prompt_text));
  m.trained_on = routing::PromptFilter::Build(prompts);
  m.note =
      "triage " + a.kind + " model; trained on " + std::to_string(all.size()) + " queries from";
  for (const auto& b : benches) m.note += " " + b;
  if (!opt.exclude_categories.empty()) {
    m.note += "; categories excluded:";
    for (const auto& c : opt.exclude_categories) m.note += " " + c;
  }
  Status st = routing::WriteModelFile(m, a.out);
  if (!st.ok()) return Fail(st.error().message);
  std::cerr << "wrote " << a.out << "\n";
  return 0;
}

// Prints the calibrate snippet and, with --out, writes it there too.
int EmitYaml(const EvalArgs& a, const std::string& yaml) {
  std::cout << yaml;
  return a.out.empty() ? 0 : WriteOutput(a.out, yaml);
}

// calibrate for a split: the thresholds and their snippet (after `header`); a warning on
// stderr when tied scores keep the achieved split more than 2 points from the requested one.
int EmitSplit(const EvalArgs& a, const std::vector<double>& scores,
              const std::vector<double>& shares, const std::string& header) {
  const auto th = eval::Calibrate(scores, shares);
  const auto achieved = eval::Achieved(scores, th);
  if (const std::string why = eval::SplitShortfall(scores, shares, achieved); !why.empty())
    std::cerr << "warning: " << why << "\n";
  return EmitYaml(a, header + eval::ThresholdsYaml(th, a.router, achieved));
}

// calibrate on --data: the dataset (into *ds) and the router's scores of it; warns when the
// router's model was trained on the data (`in_sample`: what that means for the result).
Result<std::vector<double>> LoadForCalibration(const EvalArgs& a, eval::Dataset* ds,
                                               const char* in_sample) {
  auto loaded = Load(a);
  if (!loaded) return loaded.error();
  *ds = std::move(*loaded);
  eval::Progress progress = StderrProgress();
  progress.SetContext(a.router);
  auto scores = eval::ScoreQueries(a.router, ds->queries, &progress);
  if (!scores) return scores.error();
  NoteNoAnswers(a, *ds);
  if (auto o = CheckOverlap(a, *ds, in_sample); !o) return o.error();
  return scores;
}

// calibrate --min-pgr: the cheapest two-tier threshold whose PGR on the data reaches the floor.
int RunCalibrateFloor(const EvalArgs& a) {
  eval::Dataset ds;
  auto scores = LoadForCalibration(
      a, &ds,
      "the PGR reached is in-sample; new traffic will need more strong calls to keep that floor");
  if (!scores) return Fail(scores.error().message);
  std::vector<double> cheap, strong;
  for (const auto& q : ds.queries) {
    cheap.push_back(q.cheap);
    strong.push_back(q.strong);
  }
  eval::FloorResult f = eval::CalibrateFloor(*scores, cheap, strong, a.min_pgr);
  if (!f.reached)
    return Fail(a.strong + " is not better than " + a.cheap +
                " on this data: no split recovers any of a gap that is not there");
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "# quality floor PGR >= %.3f: reached PGR %.3f with %.1f%% strong\n", a.min_pgr,
                f.pgr, 100 * f.strong_fraction);
  std::string yaml =
      buf + eval::ThresholdsYaml({f.threshold}, a.router, eval::Achieved(*scores, {f.threshold}));
  return EmitYaml(a, yaml);
}

std::string Hours(double h) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g hours", h);
  return buf;
}

// calibrate --ledger: the split's thresholds on the scores the router gave live traffic.
int RunCalibrateLedger(const EvalArgs& a, const std::vector<double>& shares) {
  const std::string kind = a.router.substr(0, a.router.find(':'));
  const int64_t since_ms =
      WindowStartMs(a.since_hours, std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
  auto rows = store::ReadRouteScores(a.ledger, since_ms);
  if (!rows) return Fail(rows.error().message);
  std::vector<double> scores;
  std::map<std::string, int> kinds;
  for (const auto& r : *rows) {
    ++kinds[r.kind];
    if (r.kind == kind) scores.push_back(r.score);
  }
  if (scores.empty()) {
    std::string found;
    for (const auto& [k, n] : kinds)
      found += (found.empty() ? "" : ", ") + k + " " + std::to_string(n);
    return Fail("no " + kind + " scores in " + a.ledger +
                (a.since_hours > 0 ? " in the last " + Hours(a.since_hours) : "") +
                " (scored rows by kind: " + (found.empty() ? "none" : found) + ")");
  }
  return EmitSplit(
      a, scores, shares,
      "# from " + std::to_string(scores.size()) + " " + kind + " scores in " + a.ledger + "\n");
}

int RunCalibrate(const EvalArgs& a) {
  std::vector<double> shares;
  const int modes = !a.split.empty() + (a.strong_fraction >= 0) + (a.min_pgr >= 0);
  if (modes > 1) return Fail("give one of --split, --strong-fraction or --min-pgr", 2);
  if (a.ledger.empty() == a.data.empty())
    return Fail(a.data.empty()
                    ? "give --data (recorded outcomes) or --ledger (live traffic's scores)"
                    : "give --data or --ledger, not both",
                2);
  if (a.since_hours > 0 && a.ledger.empty())
    return Fail("--since-hours applies to --ledger only (the age of ledger rows), not to --data",
                2);
  if (a.min_pgr >= 0) {
    if (!a.ledger.empty())
      return Fail("--min-pgr needs recorded outcomes (--data): a ledger has scores, not outcomes",
                  2);
    if (!(a.min_pgr > 0 && a.min_pgr <= 1)) return Fail("--min-pgr must be in (0, 1]", 2);
    return RunCalibrateFloor(a);
  }
  if (!a.split.empty()) {
    auto s = eval::ParseSplit(a.split);
    if (!s) return Fail(s.error().message, 2);
    shares = *s;
  } else if (a.strong_fraction > 0 && a.strong_fraction < 1) {
    shares = {1 - a.strong_fraction, a.strong_fraction};
  } else {
    return Fail("--split 70/25/5, --strong-fraction in (0,1) or --min-pgr in (0,1] is required", 2);
  }
  if (!a.ledger.empty()) return RunCalibrateLedger(a, shares);
  eval::Dataset ds;
  auto scores = LoadForCalibration(
      a, &ds,
      "scores on training prompts spread differently from new traffic's; check the split it gets");
  if (!scores) return Fail(scores.error().message);
  return EmitSplit(a, *scores, shares, "");
}

// The same file under two names (./x.jsonl and x.jsonl, a link), or the same name twice.
bool SameFile(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (a == b || (std::filesystem::equivalent(a, b, ec) && !ec)) return true;
  // Names of files that do not exist yet (./out.svg and out.svg): compare them spelled out.
  const auto ca = std::filesystem::weakly_canonical(std::filesystem::absolute(a, ec), ec);
  if (ec) return false;
  const auto cb = std::filesystem::weakly_canonical(std::filesystem::absolute(b, ec), ec);
  return !ec && ca == cb;
}

// Usage errors that need no file read, exit 2 before any work: a --router SPEC that is not a
// valid spec (a file it names that cannot be read or is corrupt fails later, exit 1), a --data
// file given twice (its queries would count twice).
int CheckUsage(const EvalArgs& a) {
  std::vector<std::string> specs = a.routers;
  if (!a.router.empty()) specs.push_back(a.router);
  for (const auto& spec : specs)
    if (auto p = routing::ParseRouterSpec(spec); !p) return Fail(p.error().message, 2);
  // eval with several routers: the per-query and per-category outputs are one router's. Checked
  // here, before any --data file is read (it used to come after loading them all).
  if (a.routers.size() > 1 && !a.scores_out.empty())
    return Fail("--scores takes a single --router", 2);
  if (a.routers.size() > 1 && a.by_category)
    return Fail("--by-category takes a single --router", 2);
  if (a.cheap == a.strong)
    return Fail("--cheap and --strong are both " + a.cheap +
                    ": compare two different models of the outcomes",
                2);
  for (size_t i = 0; i < a.data.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (SameFile(a.data[j], a.data[i]))
        return Fail("--data " + a.data[j] + " is given twice" +
                        (a.data[i] != a.data[j] ? " (also as " + a.data[i] + ")" : "") +
                        ": its queries would count twice",
                    2);
  // An output that names an input (eval --scores over its --data, calibrate --out over the
  // model it calibrates) used to replace it without a word; two outputs would overwrite each
  // other. Devices and FIFOs (/dev/stdout) are not files to clobber.
  std::vector<std::pair<std::string, std::string>> inputs;  // flag, path
  for (const auto& d : a.data) inputs.emplace_back("--data", d);
  for (const auto& spec : specs)
    if (auto p = routing::ParseRouterSpec(spec); p && !p->arg.empty() && p->kind != "random" &&
                                                 !(p->kind == "learned" && p->arg == "builtin"))
      inputs.emplace_back("--router " + spec, p->arg);
  // calibrate --ledger: the database and the files SQLite keeps beside it (an --out naming it
  // replaced the gateway's accounting with the YAML snippet, exit 0).
  if (!a.ledger.empty())
    if (auto t = store::ParseSqliteUrl(a.ledger); t && !t->memory && !t->path.empty())
      for (const char* suffix : {"", "-wal", "-shm", "-journal"})
        inputs.emplace_back("--ledger", t->path + suffix);
  std::vector<std::pair<std::string, std::string>> outputs;
  if (!a.out.empty()) outputs.emplace_back("--out", a.out);
  if (!a.plot.empty()) outputs.emplace_back("--plot", a.plot);
  if (!a.scores_out.empty()) outputs.emplace_back("--scores", a.scores_out);
  std::error_code ec;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const auto& [flag, path] = outputs[i];
    if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) continue;
    for (const auto& [in_flag, in_path] : inputs)
      if (SameFile(in_path, path))
        return Fail(flag + " " + path + " names an input (" + in_flag +
                        (in_flag == "--data" ? " " + in_path : std::string()) +
                        "): writing it would overwrite it",
                    2);
    for (size_t j = 0; j < i; ++j)
      if (SameFile(outputs[j].second, path))
        return Fail(outputs[j].first + " and " + flag + " both name " + path, 2);
  }
  return 0;
}

// Output files (--out, --plot, --scores) that could not be written: exit 1 before the work,
// not after minutes of training. 0 when all can be.
int CheckOutputs(const EvalArgs& a) {
  for (const auto* path : {&a.out, &a.plot, &a.scores_out}) {
    if (path->empty()) continue;
    if (Status s = CheckWritablePath(*path); !s.ok()) return Fail(s.error().message);
  }
  return 0;
}

// A subcommand callback: check the usage and the output paths, resolve the prices (exit 2 on
// an unknown catalog id), then run.
std::function<void()> WithPrices(std::shared_ptr<EvalArgs> a, int* exit_code,
                                 int (*run)(const EvalArgs&)) {
  return [a, exit_code, run] {
    if ((*exit_code = CheckUsage(*a)) != 0) return;
    // The --plot name (exit 2) before its directory (exit 1), both before any work.
    if ((*exit_code = CheckPlotPath(a->plot)) != 0) return;
    if ((*exit_code = CheckOutputs(*a)) != 0) return;
    Status st = ResolvePrices(a.get());
    *exit_code = st.ok() ? run(*a) : Fail(st.error().message, 2);
    // The figures are the product: lost on their way to stdout, the run failed.
    if (*exit_code == 0)
      if (const std::string why = StdoutError(); !why.empty())
        *exit_code = Fail("cannot write to stdout: " + why);
  };
}

}  // namespace

// CLI::Range, PositiveNumber and NonNegativeNumber let "nan" through, and every later `>= 0`
// test then read it as the option left out: --strong-fraction nan --split 70/30 used the split,
// --learning-rate nan trained at the default, --min-pgr nan asked for a mode.
CLI::Validator FiniteIn(double lo, double hi, bool lo_open, bool hi_open) {
  auto bound = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return std::string(buf);
  };
  const std::string want = std::isinf(hi)
                               ? std::string(lo_open ? "a number > " : "a number >= ") + bound(lo)
                               : std::string("a number in ") + (lo_open ? "(" : "[") + bound(lo) +
                                     ", " + bound(hi) + (hi_open ? ")" : "]");
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        // Decimal only, as --split: strtod also reads hex ("0x0.4" is 0.25).
        const bool ok = !text.empty() &&
                        text.find_first_not_of("0123456789.eE+-") == std::string::npos &&
                        *end == '\0' && std::isfinite(v) && (lo_open ? v > lo : v >= lo) &&
                        (hi_open ? v < hi : v <= hi);
        return ok ? std::string() : "must be " + want + ", got " + text;
      },
      want);
}

std::string StdoutError() {
  errno = 0;
  std::cout.flush();  // synced with stdio: this flushes stdout, and fails as it fails
  const bool flushed = std::fflush(stdout) == 0;
  const int err = errno;
  if (flushed && !std::ferror(stdout) && std::cout.good()) return "";
  // An earlier flush (a full buffer, the flushes between tables) may have failed already, its
  // errno gone: that leaves the error flag without a reason.
  return err != 0 ? std::strerror(err) : "a write failed before the end";
}

int64_t WindowStartMs(double hours, int64_t now_ms) {
  // Compared as doubles first: a cast of a double beyond int64's range is undefined.
  if (!(hours > 0) || !(hours * 3600e3 < static_cast<double>(now_ms)))
    return std::numeric_limits<int64_t>::min();
  return now_ms - static_cast<int64_t>(hours * 3600e3);
}

CLI::Validator WholeIn(long lo, long hi) {
  const std::string want =
      "a whole number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        long v = 0;
        const char* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, v, 10);
        const bool digits =
            !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
        if (!digits || ec != std::errc() || ptr != end || v < lo || v > hi)
          return "must be " + want + ", got " + text;
        text = std::to_string(v);  // "010" is ten, not CLI11's octal eight
        return std::string();
      },
      want);
}

namespace {

void AddCommon(CLI::App* c, EvalArgs* a, bool data_required = true) {
  auto* data = c->add_option("--data", a->data, "outcomes .jsonl file (repeatable)");
  if (data_required) data->required();
  c->add_option("--cheap", a->cheap, "cheap model key in outcomes")->capture_default_str();
  c->add_option("--strong", a->strong, "strong model key in outcomes")->capture_default_str();
  c->add_option("--cheap-catalog", a->cheap_catalog,
                "catalog model whose list price the cheap model is costed at")
      ->capture_default_str();
  c->add_option("--strong-catalog", a->strong_catalog,
                "catalog model whose list price the strong model is costed at")
      ->capture_default_str();
  c->add_option("--cheap-price", a->cheap_price,
                "cheap $/Mtok (input and output); overrides --cheap-catalog")
      ->check(FiniteIn(0, kNoBound, false, false));
  c->add_option("--strong-price", a->strong_price,
                "strong $/Mtok input, output = 5x; overrides --strong-catalog")
      ->check(FiniteIn(0, kNoBound, false, false));
}

}  // namespace

void RegisterEvalCommands(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<EvalArgs>();
  auto* ev = app.add_subcommand("eval", "Replay recorded outcomes through a router");
  AddCommon(ev, a.get());
  ev->add_option("--router", a->routers,
                 "router SPEC; repeat it to compare routers in one table and one --plot")
      ->required();
  ev->add_option("--bootstrap", a->bootstrap,
                 "resamples of the queries for the 95% interval of APGR and CPT(50%); 0: none")
      ->capture_default_str()
      ->transform(WholeIn(0, 100000));
  ev->add_flag("--json", a->json, "print one JSON object");
  ev->add_flag("--by-category", a->by_category,
               "per benchmark, a row per category: qualities, the share sent strong at the "
               "operating point, APGR inside the category");
  ev->add_option("--plot", a->plot,
                 "write the cost-quality curve: FILE.svg, or FILE.png (needs librsvg)");
  ev->add_option("--scores", a->scores_out,
                 "write one JSON line per query: id, benchmark, score, cheap, strong");
  ev->callback(WithPrices(a, exit_code, RunEval));

  auto* tr = app.add_subcommand("train", "Train a learned or cascade router");
  AddCommon(tr, a.get());
  tr->add_option("--bootstrap", a->bootstrap,
                 "with --cv: resamples for the 95% interval of each APGR and CPT(50%); 0: none")
      ->capture_default_str()
      ->transform(WholeIn(0, 100000));
  tr->add_option("--out", a->out, "model file to write")->required();
  tr->add_option("--kind", a->kind, "learned|cascade")
      ->check(CLI::IsMember({"learned", "cascade"}))
      ->capture_default_str();
  tr->add_option("--cv", a->cv, "k-fold cross-validation before training")
      ->transform(WholeIn(2, 20));
  tr->add_option("--heads", a->heads,
                 "1: one head on the gain label; 2 (default): strong-right and cheap-right heads")
      ->transform(WholeIn(1, 2));
  tr->add_option("--epochs", a->epochs, "AdaGrad passes (default 10)")->transform(WholeIn(1, 1000));
  tr->add_option("--learning-rate", a->learning_rate,
                 "AdaGrad step (default 0.01 learned, 0.02 cascade)")
      ->check(FiniteIn(0, kNoBound, true, false));
  tr->add_option("--l2", a->l2, "L2 penalty (default 1e-5 learned, 3e-3 cascade)")
      ->check(FiniteIn(0, kNoBound, false, false));
  tr->add_option("--length-prior", a->length_prior,
                 "weight of the prompt-length prior in the score (default 0.1 learned, 0 cascade)")
      ->check(FiniteIn(0, 1, false, false));
  tr->add_option("--feature-set", a->feature_set,
                 "text the features read: 1 the first 1,536 chars of the last user message "
                 "(models before file version 4), 2 its first 256 and last 1,280 when longer, "
                 "3 (default) as 2, and a last message under 128 chars with the user message "
                 "before it")
      ->transform(WholeIn(1, static_cast<long>(routing::kMaxFeatureSet)));
  tr->add_option("--exclude-category", a->exclude_categories,
                 "category whose queries no model learns from (repeatable); --cv still scores "
                 "them");
  tr->callback(WithPrices(a, exit_code, RunTrain));

  auto* ca = app.add_subcommand("calibrate", "Thresholds for a traffic split or a quality floor");
  AddCommon(ca, a.get(), /*data_required=*/false);
  ca->add_option("--router", a->router, "router SPEC")->required();
  ca->add_option(
      "--ledger", a->ledger,
      "calibrate a split on the scores in this ledger (sqlite://PATH) instead of --data");
  ca->add_option("--since-hours", a->since_hours, "with --ledger: only rows this recent")
      ->check(FiniteIn(0, kNoBound, true, false));
  ca->add_option("--split", a->split, "tier shares, cheapest first, e.g. 70/25/5");
  ca->add_option("--strong-fraction", a->strong_fraction, "share for the strong tier")
      ->check(FiniteIn(0, 1, true, true));
  ca->add_option(
        "--min-pgr", a->min_pgr,
        "quality floor: fewest strong calls whose PGR on the data reaches this (two tiers)")
      ->check(FiniteIn(0, 1, true, false));
  ca->add_option("--out", a->out, "write the YAML snippet here");
  ca->callback(WithPrices(a, exit_code, RunCalibrate));
}

}  // namespace triage::cli
