// What one streamed event costs in the two cross-dialect stream translators (read the upstream
// event, write the client's frame), for a text delta and a tool-call argument fragment:
//   cmake --build build --target bench_translate && build/bench/dialect/bench_translate
#include <benchmark/benchmark.h>

#include <string>

#include "dialect/stream_translate.h"

namespace {

using triage::dialect::Dialect;
using triage::dialect::MakeStreamTranslator;
using triage::dialect::SseEvent;

SseEvent Event(std::string event, std::string data) {
  SseEvent e;
  e.event = std::move(event);
  e.data = std::move(data);
  return e;
}

// OpenAI upstream, Anthropic client: 0 a content delta, 1 a tool-call argument fragment.
void BM_OpenAIToAnthropic(benchmark::State& state) {
  auto t = MakeStreamTranslator(Dialect::kOpenAI, Dialect::kAnthropic, "gemma-4-31b");
  const bool tool = state.range(0) == 1;
  const std::string head =
      R"({"id":"chatcmpl-9f2c1a7e","object":"chat.completion.chunk","created":1764400000,)"
      R"("model":"google/gemma-4-31b-it","choices":[{"index":0,"delta":)";
  benchmark::DoNotOptimize(
      t->Feed(Event("", head +
                            (tool ? R"({"tool_calls":[{"index":0,"id":"call_1","type":"function",)"
                                    R"("function":{"name":"get_weather","arguments":""}}]})"
                                  : R"({"role":"assistant","content":""})") +
                            R"(,"logprobs":null,"finish_reason":null}]})")));
  const SseEvent ev = Event(
      "", head +
              (tool ? R"({"tool_calls":[{"index":0,"function":{"arguments":"\"city\": \"Par"}}]})"
                    : R"({"content":" the quarterly \"figures\""})") +
              R"(,"logprobs":null,"finish_reason":null}]})");
  for (auto _ : state) benchmark::DoNotOptimize(t->Feed(ev));
}
BENCHMARK(BM_OpenAIToAnthropic)->DenseRange(0, 1);

// Anthropic upstream, OpenAI client: 0 a text delta, 1 an input_json_delta.
void BM_AnthropicToOpenAI(benchmark::State& state) {
  auto t = MakeStreamTranslator(Dialect::kAnthropic, Dialect::kOpenAI, "claude-sonnet-4.6");
  const bool tool = state.range(0) == 1;
  benchmark::DoNotOptimize(t->Feed(Event(
      "message_start",
      R"({"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":)"
      R"("message","role":"assistant","content":[],"model":"claude-sonnet-4-6","stop_reason":)"
      R"(null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}})")));
  if (tool)
    benchmark::DoNotOptimize(t->Feed(
        Event("content_block_start",
              R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":)"
              R"("toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}})")));
  const SseEvent ev =
      tool ? Event("content_block_delta",
                   R"({"type":"content_block_delta","index":0,"delta":{"type":)"
                   R"("input_json_delta","partial_json":"{\"city\": \"Par"}})")
           : Event("content_block_delta",
                   R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta",)"
                   R"("text":" the quarterly \"figures\""}})");
  for (auto _ : state) benchmark::DoNotOptimize(t->Feed(ev));
}
BENCHMARK(BM_AnthropicToOpenAI)->DenseRange(0, 1);

}  // namespace

BENCHMARK_MAIN();
