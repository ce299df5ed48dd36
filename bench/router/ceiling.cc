// How far a router that knows each query's subject could go: the `category` field (MMLU's 57
// subjects), which no router sees, turned into a score by the subject's mean gain (strong
// minus cheap) on training queries, and measured with eval's own metric code (RouteLLM's 10
// quantile edges, trapezoid APGR, interpolated CPT).
//
// Prints, per benchmark with more than one category:
//   - in-sample: each subject's mean gain on the very queries scored (an upper bound for any
//     subject-only score; not reachable on new queries);
//   - out-of-sample: subject means from a random share f of the queries (shrunk toward the
//     benchmark mean by 10 pseudo-queries) scoring the other 1 - f, mean and sd over --reps
//     random splits, for f = 0.2 ... 0.9;
//   - the same at f = 0.8 with prompt length breaking ties inside each subject (either
//     direction): whether length says anything within a subject.
// And, for every benchmark, how much APGR moves between samples of that size: the
// prompt-length score on 200 bootstrap resamples.
// Within a subject, the order is random (a fixed-seed jitter far below any gap between
// subjects). Usage: bench_ceiling --data FILE [--data FILE ...] [--reps N] [--seed S]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "eval/dataset.h"
#include "eval/metrics.h"

namespace {

using triage::eval::Query;

struct Figures {
  double apgr = 0, cpt50 = 0;
};

Figures Measure(const std::vector<double>& scores, const std::vector<const Query*>& qs) {
  std::vector<double> cheap, strong;
  double qw = 0, qst = 0;
  for (const Query* q : qs) {
    cheap.push_back(q->cheap);
    strong.push_back(q->strong);
    qw += q->cheap;
    qst += q->strong;
  }
  qw /= qs.size();
  qst /= qs.size();
  auto curve = triage::eval::QuantileCurve(scores, cheap, strong, 10);
  return {triage::eval::Apgr(curve, qw, qst), triage::eval::Cpt(curve, qw, qst, 0.5)};
}

double Gain(const Query& q) { return q.strong - q.cheap; }

// Rank of each query's prompt length inside its category, scaled to [-0.5, 0.5].
std::vector<double> LengthRankInCategory(const std::vector<const Query*>& qs) {
  std::map<std::string, std::vector<size_t>> by_cat;
  for (size_t i = 0; i < qs.size(); ++i) by_cat[qs[i]->category].push_back(i);
  std::vector<double> out(qs.size(), 0);
  for (auto& [cat, idx] : by_cat) {
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      return qs[a]->prompt_text.size() < qs[b]->prompt_text.size();
    });
    for (size_t r = 0; r < idx.size(); ++r) out[idx[r]] = (r + 0.5) / idx.size() - 0.5;
  }
  return out;
}

void Report(const std::string& bench, const std::vector<const Query*>& qs, int reps,
            unsigned seed) {
  std::map<std::string, std::pair<double, int>> all;
  for (const Query* q : qs) {
    all[q->category].first += Gain(*q);
    all[q->category].second++;
  }
  std::printf("%s: %zu queries, %zu categories\n", bench.c_str(), qs.size(), all.size());
  std::mt19937_64 boot_rng(seed);
  {
    // How precisely a benchmark of this size pins APGR down: the prompt-length score on
    // bootstrap resamples of the queries.
    std::vector<double> apgrs;
    std::uniform_int_distribution<size_t> pick(0, qs.size() - 1);
    for (int r = 0; r < 200; ++r) {
      std::vector<const Query*> sample;
      std::vector<double> score;
      for (size_t i = 0; i < qs.size(); ++i) {
        sample.push_back(qs[pick(boot_rng)]);
        score.push_back(static_cast<double>(sample.back()->prompt_text.size()));
      }
      apgrs.push_back(Measure(score, sample).apgr);
    }
    std::sort(apgrs.begin(), apgrs.end());
    double m = 0, s = 0;
    for (double x : apgrs) m += x;
    m /= apgrs.size();
    for (double x : apgrs) s += (x - m) * (x - m);
    std::printf(
        "  sampling noise: prompt length's APGR on 200 bootstrap resamples %.4f ± %.4f (sd), "
        "5-95%% %.4f-%.4f\n",
        m, std::sqrt(s / apgrs.size()), apgrs[10], apgrs[189]);
  }
  if (all.size() < 2) {
    std::printf("  one category: nothing to measure\n");
    return;
  }
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> jitter(0, 1e-9);

  std::vector<double> in_sample;
  for (const Query* q : qs) {
    const auto& [sum, n] = all[q->category];
    in_sample.push_back(sum / n + jitter(rng));
  }
  Figures f = Measure(in_sample, qs);
  std::printf("  in-sample subject mean gain:   APGR %.4f  CPT(50%%) %.1f%%\n", f.apgr,
              100 * f.cpt50);

  auto length_rank = LengthRankInCategory(qs);
  for (double share : {0.2, 0.4, 0.6, 0.8, 0.9}) {
    std::vector<double> apgr, cpt, up, down;
    for (int r = 0; r < reps; ++r) {
      std::bernoulli_distribution pick(share);
      std::vector<bool> train(qs.size());
      double total = 0;
      int n_train = 0;
      std::map<std::string, std::pair<double, int>> cat;
      for (size_t i = 0; i < qs.size(); ++i) {
        train[i] = pick(rng);
        if (!train[i]) continue;
        cat[qs[i]->category].first += Gain(*qs[i]);
        cat[qs[i]->category].second++;
        total += Gain(*qs[i]);
        ++n_train;
      }
      const double mean = n_train ? total / n_train : 0, shrink = 10;
      std::vector<const Query*> test;
      std::vector<double> score, score_up, score_down;
      for (size_t i = 0; i < qs.size(); ++i) {
        if (train[i]) continue;
        const auto& [sum, n] = cat[qs[i]->category];
        const double s = (sum + shrink * mean) / (n + shrink) + jitter(rng);
        test.push_back(qs[i]);
        score.push_back(s);
        // 0.005 reorders queries inside a subject without crossing most gaps between
        // subjects' means.
        score_up.push_back(s + 0.005 * length_rank[i]);
        score_down.push_back(s - 0.005 * length_rank[i]);
      }
      if (test.empty()) continue;
      Figures m = Measure(score, test);
      apgr.push_back(m.apgr);
      cpt.push_back(m.cpt50);
      if (share == 0.8) {
        up.push_back(Measure(score_up, test).apgr);
        down.push_back(Measure(score_down, test).apgr);
      }
    }
    auto stats = [](const std::vector<double>& v) {
      double m = 0, s = 0;
      for (double x : v) m += x;
      m /= v.size();
      for (double x : v) s += (x - m) * (x - m);
      return std::make_pair(m, std::sqrt(s / v.size()));
    };
    auto [am, as] = stats(apgr);
    auto [cm, cs] = stats(cpt);
    std::printf(
        "  subject means from %2.0f%%, rest scored: APGR %.4f ± %.4f  CPT(50%%) %.1f%% ± %.1f\n",
        100 * share, am, as, 100 * cm, 100 * cs);
    if (share == 0.8) {
      std::printf("    + longer first inside a subject:  APGR %.4f\n", stats(up).first);
      std::printf("    + shorter first inside a subject: APGR %.4f\n", stats(down).first);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  int reps = 30;
  unsigned seed = 1;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--data") && i + 1 < argc) {
      files.push_back(argv[++i]);
    } else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--seed") && i + 1 < argc) {
      seed = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
    } else {
      std::fprintf(stderr, "usage: %s --data FILE [--data FILE ...] [--reps N] [--seed S]\n",
                   argv[0]);
      return 2;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: %s --data FILE [--data FILE ...] [--reps N] [--seed S]\n",
                 argv[0]);
    return 2;
  }
  triage::eval::Dataset ds;
  for (const auto& f : files) {
    auto st = triage::eval::ReadOutcomes(f, "mixtral-8x7b-instruct", "gpt-4-1106-preview", &ds);
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.error().message.c_str());
      return 1;
    }
  }
  std::printf("command:");
  for (int i = 0; i < argc; ++i) std::printf(" %s", argv[i]);
  std::printf("\n");
  std::map<std::string, std::vector<const Query*>> by_bench;
  for (const auto& q : ds.queries) by_bench[q.benchmark].push_back(&q);
  for (const auto& [bench, qs] : by_bench) Report(bench, qs, reps, seed);
  return 0;
}
