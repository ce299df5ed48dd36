// Decision time of Score() on an ~8K-token prompt (~32K chars), and on a short follow-up to such
// a prompt (feature set 3 reads the two together). Prints p50/p99 over many single calls
// besides Google Benchmark's mean.
//   bench_router [--model models/learned-v4.model]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "routing/router.h"

namespace {

std::string g_model = std::string(TRIAGE_SOURCE_DIR) + "/models/learned-v4.model";

std::string BigPrompt() {
  const std::string para =
      "Janet has 3 apples and buys 12 more each week; after 5 weeks she gives half to her "
      "brother. How many apples does she have left? Explain each step, then compute 17 * 23. ";
  std::string s;
  while (s.size() < 32000) s += para;
  return s;
}

void Run(benchmark::State& state, const std::string& spec, bool follow_up) {
  auto scorer = triage::routing::MakeScorer(spec);
  if (!scorer) {
    state.SkipWithError(scorer.error().message.c_str());
    return;
  }
  std::string text = BigPrompt();
  triage::routing::RouteInput in;
  in.prompt_text = in.last_user_text = text;
  in.message_count = 1;
  const std::string conversation = text + "\nHere is the answer.\nAre you sure? Check it again.";
  if (follow_up) {
    in.prompt_text = conversation;
    in.prev_user_text = text;
    in.last_user_text = std::string_view(conversation).substr(conversation.rfind('\n') + 1);
    in.message_count = 3;
  }
  for (auto _ : state) benchmark::DoNotOptimize((*scorer)->Score(in));
  // Tail latency: time single calls.
  std::vector<double> ns;
  for (int i = 0; i < 20000; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize((*scorer)->Score(in));
    ns.push_back(
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ns.begin(), ns.end());
  state.counters["p50_us"] = ns[ns.size() / 2] / 1000;
  state.counters["p99_us"] = ns[ns.size() * 99 / 100] / 1000;
  std::fprintf(stderr, "%s on %zu chars%s: p50 %.2f us, p99 %.2f us\n", spec.c_str(),
               in.prompt_text.size(), follow_up ? " (a follow-up)" : "", ns[ns.size() / 2] / 1000,
               ns[ns.size() * 99 / 100] / 1000);
}

}  // namespace

int main(int argc, char** argv) {
  // Our own flag is consumed before Google Benchmark sees argv.
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--model") == 0) {
      g_model = argv[i + 1];
      std::memmove(argv + i, argv + i + 2, sizeof(char*) * (argc - i - 2));
      argc -= 2;
      break;
    }
  }
  benchmark::RegisterBenchmark("Score/length", Run, std::string("length"), false);
  benchmark::RegisterBenchmark("Score/learned", Run, "learned:" + g_model, false);
  benchmark::RegisterBenchmark("Score/learned_follow_up", Run, "learned:" + g_model, true);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
