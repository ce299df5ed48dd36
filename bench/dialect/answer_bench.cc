// What translating one non-streaming answer costs (ConvertUnary's cross-dialect branch):
// reading the upstream body into the canonical answer and writing the client's body. "Tree"
// is what the gateway did before (nlohmann parse, ParseOpenAIResponse /
// ParseAnthropicResponse, Render...Response, dump()), "Direct" what it does now (ReadAnswer
// with simdjson, Write...Response). Answers: 0 the plain answer of bench/overhead/run.sh,
// 1 a tool-call answer.
//   cmake --build build --target bench_answer && build/bench/dialect/bench_answer
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>
#include <string>

#include "dialect/answer.h"
#include "dialect/openai.h"
#include "dialect/translate.h"

namespace {

using triage::dialect::Dialect;
namespace d = triage::dialect;

// The `body=` of bench/overhead/run.sh.
const std::string kOpenAIText =
    R"({"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":)"
    R"("gemma-4-31b","choices":[{"index":0,"message":{"role":"assistant","content":"Hamlet, )"
    R"(prince of Denmark, feigns madness to avenge the murder of his father by his uncle )"
    R"(Claudius; the revenge costs almost everyone their lives, Hamlet included."},"logprobs":)"
    R"(null,"finish_reason":"stop"}],"usage":{"prompt_tokens":31,"completion_tokens":38,)"
    R"("total_tokens":69}})";
const std::string kOpenAITool =
    R"({"id":"chatcmpl-9f2c1a7e","object":"chat.completion","created":1764400000,"model":)"
    R"("google/gemma-4-31b-it","choices":[{"index":0,"message":{"role":"assistant",)"
    R"("content":null,"tool_calls":[{"id":"call_8Jx2","type":"function","function":{"name":)"
    R"("get_weather","arguments":"{\"city\": \"Paris\", \"unit\": \"celsius\"}"}}],)"
    R"("refusal":null},"logprobs":null,"finish_reason":"tool_calls"}],"usage":)"
    R"({"prompt_tokens":312,"completion_tokens":24,"total_tokens":336,)"
    R"("prompt_tokens_details":{"cached_tokens":256}}})";
// The same two answers as an Anthropic upstream sends them.
const std::string kAnthropicText =
    R"({"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":)"
    R"("claude-sonnet-4-6","content":[{"type":"text","text":"Hamlet, prince of Denmark, )"
    R"(feigns madness to avenge the murder of his father by his uncle Claudius; the revenge )"
    R"(costs almost everyone their lives, Hamlet included."}],"stop_reason":"end_turn",)"
    R"("stop_sequence":null,"usage":{"input_tokens":31,"output_tokens":38}})";
const std::string kAnthropicTool =
    R"({"id":"msg_01Aq9w938a90dw8q","type":"message","role":"assistant","model":)"
    R"("claude-sonnet-4-6","content":[{"type":"tool_use","id":"toolu_01A09q90qw90lq917835)"
    R"(lq9","name":"get_weather","input":{"city":"Paris","unit":"celsius"}}],"stop_reason":)"
    R"("tool_use","stop_sequence":null,"usage":{"input_tokens":56,"output_tokens":24,)"
    R"("cache_read_input_tokens":256,"cache_creation_input_tokens":0}})";

const std::string& Body(Dialect wire, int64_t i) {
  if (wire == Dialect::kOpenAI) return i == 0 ? kOpenAIText : kOpenAITool;
  return i == 0 ? kAnthropicText : kAnthropicTool;
}

std::string Tree(Dialect wire, const std::string& body) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  auto usage =
      wire == Dialect::kOpenAI ? d::OpenAIResponseUsage(json) : d::AnthropicResponseUsage(json);
  benchmark::DoNotOptimize(usage);
  auto canon =
      wire == Dialect::kOpenAI ? d::ParseOpenAIResponse(json) : d::ParseAnthropicResponse(json);
  return wire == Dialect::kOpenAI ? d::RenderAnthropicResponse(*canon).dump()
                                  : d::RenderOpenAIResponse(*canon, 1764400000).dump();
}

std::string Direct(Dialect wire, const std::string& body) {
  d::AnswerReading read = d::ReadAnswer(wire, body);
  const auto& canon = *read.response;
  return wire == Dialect::kOpenAI ? d::WriteAnthropicResponse(*canon)
                                  : d::WriteOpenAIResponse(*canon, 1764400000);
}

// OpenAI upstream, Anthropic client.
void BM_OpenAIToAnthropic_Tree(benchmark::State& state) {
  const std::string& body = Body(Dialect::kOpenAI, state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(Tree(Dialect::kOpenAI, body));
}
void BM_OpenAIToAnthropic_Direct(benchmark::State& state) {
  const std::string& body = Body(Dialect::kOpenAI, state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(Direct(Dialect::kOpenAI, body));
}
// Anthropic upstream, OpenAI client.
void BM_AnthropicToOpenAI_Tree(benchmark::State& state) {
  const std::string& body = Body(Dialect::kAnthropic, state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(Tree(Dialect::kAnthropic, body));
}
void BM_AnthropicToOpenAI_Direct(benchmark::State& state) {
  const std::string& body = Body(Dialect::kAnthropic, state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(Direct(Dialect::kAnthropic, body));
}
// 0 the plain answer, 1 a tool call
BENCHMARK(BM_OpenAIToAnthropic_Tree)->DenseRange(0, 1);
BENCHMARK(BM_OpenAIToAnthropic_Direct)->DenseRange(0, 1);
BENCHMARK(BM_AnthropicToOpenAI_Tree)->DenseRange(0, 1);
BENCHMARK(BM_AnthropicToOpenAI_Direct)->DenseRange(0, 1);

}  // namespace

BENCHMARK_MAIN();
