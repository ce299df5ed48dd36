// InspectOpenAIChunk (simdjson, what the gateway runs on every event of an OpenAI-compatible
// stream) against InspectOpenAIChunkTree (nlohmann's tree, what it ran before), on three
// typical payloads: a content delta as
// vLLM and OpenAI send it, the final chunk with finish_reason, and the usage chunk.
//   cmake --build build --target bench_chunk && build/bench/dialect/bench_chunk
#include <benchmark/benchmark.h>

#include <string>

#include "dialect/answer.h"
#include "dialect/openai.h"

namespace {

const std::string kContent =
    R"({"id":"chatcmpl-9f2c1a7e","object":"chat.completion.chunk","created":1764400000,)"
    R"("model":"google/gemma-4-31b-it","system_fingerprint":null,"choices":[{"index":0,)"
    R"("delta":{"content":" the quarterly figures"},"logprobs":null,"finish_reason":null}]})";
const std::string kFinish =
    R"({"id":"chatcmpl-9f2c1a7e","object":"chat.completion.chunk","created":1764400000,)"
    R"("model":"google/gemma-4-31b-it","choices":[{"index":0,"delta":{},"logprobs":null,)"
    R"("finish_reason":"stop"}]})";
const std::string kUsage =
    R"({"id":"chatcmpl-9f2c1a7e","object":"chat.completion.chunk","created":1764400000,)"
    R"("model":"google/gemma-4-31b-it","choices":[],"usage":{"prompt_tokens":812,)"
    R"("completion_tokens":164,"total_tokens":976,"prompt_tokens_details":{"cached_tokens":512}}})";

const std::string& Payload(int i) { return i == 0 ? kContent : i == 1 ? kFinish : kUsage; }

void BM_Simdjson(benchmark::State& state) {
  const std::string& p = Payload(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(triage::dialect::InspectOpenAIChunk(p));
}
void BM_Tree(benchmark::State& state) {
  const std::string& p = Payload(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(triage::dialect::InspectOpenAIChunkTree(p));
}
// 0 content delta, 1 finish chunk, 2 usage chunk
BENCHMARK(BM_Simdjson)->DenseRange(0, 2);
BENCHMARK(BM_Tree)->DenseRange(0, 2);

// The OpenAI-to-Anthropic translator's reading of the same payloads.
void BM_ReadForTranslation(benchmark::State& state) {
  const std::string& p = Payload(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(triage::dialect::ReadOpenAIChunk(p));
}
void BM_ReadForTranslationTree(benchmark::State& state) {
  const std::string& p = Payload(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(triage::dialect::ReadOpenAIChunkTree(p));
}
BENCHMARK(BM_ReadForTranslation)->DenseRange(0, 2);
BENCHMARK(BM_ReadForTranslationTree)->DenseRange(0, 2);

const std::string kAnswer =
    R"({"id":"chatcmpl-9f2c1a7e","object":"chat.completion","created":1764400000,)"
    R"("model":"google/gemma-4-31b-it","choices":[{"index":0,"message":{"role":"assistant",)"
    R"("content":"The quarterly figures show revenue up 12% on the year, driven by the )"
    R"(subscription business, while hardware sales fell 3%. Operating margin widened to 21% )"
    R"(as marketing spend was held flat. The board kept its full-year guidance and announced )"
    R"(a buyback of up to $2 billion over the next eighteen months. Cash on hand ended the )"
    R"(quarter at $8.4 billion, with no change to long-term debt. Management flagged currency )"
    R"(headwinds for the next two quarters and a one-off restructuring charge of $140 million )"
    R"(in the fourth quarter.","refusal":null,"annotations":[]},"logprobs":null,)"
    R"("finish_reason":"stop"}],"usage":{"prompt_tokens":812,"completion_tokens":164,)"
    R"("total_tokens":976,"prompt_tokens_details":{"cached_tokens":512,"audio_tokens":0},)"
    R"("completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0}},)"
    R"("service_tier":"default","system_fingerprint":"fp_1a2b3c"})";

void BM_AnswerSimdjson(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(
        triage::dialect::InspectAnswer(triage::dialect::Dialect::kOpenAI, kAnswer));
}
void BM_AnswerTree(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(
        triage::dialect::InspectAnswerTree(triage::dialect::Dialect::kOpenAI, kAnswer));
}
BENCHMARK(BM_AnswerSimdjson);
BENCHMARK(BM_AnswerTree);

// One token of an Anthropic stream passed through (AnthropicPassThrough reads every event).
const std::string kAnthropicDelta =
    R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta",)"
    R"("text":" the quarterly figures"}})";

void BM_AnthropicEventSimdjson(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(triage::dialect::InspectAnthropicEvent(kAnthropicDelta));
}
void BM_AnthropicEventTree(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(triage::dialect::InspectAnthropicEventTree(kAnthropicDelta));
}
BENCHMARK(BM_AnthropicEventSimdjson);
BENCHMARK(BM_AnthropicEventTree);

}  // namespace

BENCHMARK_MAIN();
