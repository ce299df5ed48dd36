// What reading the client's request body and building the upstream one cost. Parse_Tree is
// ParseJsonBodyTree (nlohmann's parser, what every body went through before 2026-12-07),
// Parse_Fast is ParseJsonBody (simdjson's DOM read into the same tree, bodies up to 64 KB).
// What building the upstream request body costs. "Old" is what the providers did before:
// ToOpenAIRequest / ToAnthropicRequest (a deep copy of the client's tree when it is already in
// the upstream's dialect, `model` replaced), then dump(); "New" is OpenAIRequestBody /
// AnthropicRequestBody, which write the same bytes straight from the client's tree.
// Requests: 0 the small request of bench/overhead/run.sh, 1 a ~64 KB multi-turn conversation
// (64,532 bytes: just inside the io thread's parser), 2 to 4 conversations of ~16 KB, 256 KB
// and 1 MB (Parse only; the larger two get a parser of their own), 5 a question about a ~6 MB
// photo, base64 in an image part (Parse only; over 4 MiB, Parse_Fast used nlohmann's parse until
// 2026-12-07).
// The Cross benchmarks are an Anthropic client on an OpenAI upstream: before, the request was
// translated twice (once for the body, once more for x-triage-dropped-params); now once.
//   cmake --build build --target bench_request_body && build/bench/dialect/bench_request_body
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "dialect/anthropic.h"
#include "dialect/json_util.h"
#include "dialect/openai.h"
#include "dialect/translate.h"

namespace {

using nlohmann::json;
using triage::dialect::ChatRequest;
using triage::dialect::Dialect;
namespace d = triage::dialect;

// wrk.body of bench/overhead/run.sh (post.lua), and of its Anthropic-client row without
// streaming (amessages.lua).
const std::string kSmallOpenAI =
    R"({"model":"auto","messages":[{"role":"system","content":"You are a helpful assistant."},)"
    R"({"role":"user","content":"Summarise the plot of Hamlet in two sentences."}],)"
    R"("temperature":0.2,"max_tokens":200})";
const std::string kSmallAnthropic =
    R"({"model":"open","max_tokens":200,"system":"You are a helpful assistant.","messages":)"
    R"([{"role":"user","content":"Summarise the plot of Hamlet in two sentences."}],)"
    R"("temperature":0.2})";

// `turns` turns of ~1.5 KB prose (with quotes, newlines and some non-ASCII): ~64 KB for 40.
std::string Conversation(Dialect dialect, int turns) {
  const std::string para =
      "The committee reviewed the quarterly figures for the northern region: revenue rose 4.2% "
      "while costs fell, and the \"caf\xc3\xa9 expansion\" \xe2\x80\x94 opened in March \xe2\x80"
      "\x94 is already profitable.\nOpen questions: staffing, the lease in G\xc3\xb6teborg, and "
      "whether the pilot should extend to three more sites before the autumn review. ";
  json msgs = json::array();
  if (dialect == Dialect::kOpenAI)
    msgs.push_back({{"role", "system"}, {"content", "You are a careful analyst."}});
  for (int turn = 0; turn < turns; ++turn) {
    std::string text = "Turn " + std::to_string(turn) + ". ";
    while (text.size() < 1500) text += para;
    msgs.push_back({{"role", turn % 2 == 0 ? "user" : "assistant"}, {"content", text}});
  }
  json body = {{"model", "auto"}, {"messages", msgs}, {"temperature", 0.3}, {"max_tokens", 1024}};
  if (dialect == Dialect::kAnthropic) body["system"] = "You are a careful analyst.";
  return body.dump();
}

// An OpenAI request asking about a photo of ~6 MB (base64, ~8 MB in the body, under
// limits.max_body_bytes' 8 MiB).
std::string Photo() {
  std::string body = R"({"model":"auto","max_tokens":300,"messages":[{"role":"user","content":[)"
                     R"({"type":"text","text":"What is in this picture?"},)"
                     R"({"type":"image_url","image_url":{"url":"data:image/jpeg;base64,)";
  const size_t bytes = 8 * 1000 * 1000;
  for (size_t i = 0; body.size() < bytes; ++i) body += "/9j/4AAQSkZJRgABAQ+z"[i % 20];
  return body + R"("}}]}]})";
}

std::string Body(Dialect dialect, int64_t which) {
  if (which == 0) return dialect == Dialect::kOpenAI ? kSmallOpenAI : kSmallAnthropic;
  if (which == 5) return Photo();
  static const int kTurns[] = {0, 40, 10, 160, 640};
  return Conversation(dialect, kTurns[which]);
}

ChatRequest Request(Dialect dialect, int64_t which) {
  const std::string body = Body(dialect, which);
  auto req = dialect == Dialect::kOpenAI ? d::ParseOpenAIChat(body, 64)
                                         : d::ParseAnthropicMessages(body, 64);
  if (!req.ok()) std::abort();
  return std::move(*req);
}

std::string OldOpenAI(const ChatRequest& req, std::vector<std::string>* dropped) {
  json body = d::ToOpenAIRequest(req, "gemma-4-31b", dropped);
  if (req.stream) body["stream_options"]["include_usage"] = true;
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}
std::string OldAnthropic(const ChatRequest& req) {
  return d::ToAnthropicRequest(req, "claude-sonnet-4-6")
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

void Label(benchmark::State& state, const ChatRequest& req, const std::string& out) {
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(out.size()));
  state.SetLabel(std::to_string(out.size()) + " B" + (req.stream ? " stream" : ""));
}

// OpenAI client, OpenAI upstream (pass-through).
void BM_OpenAI_Old(benchmark::State& state) {
  const ChatRequest req = Request(Dialect::kOpenAI, state.range(0));
  std::string out;
  for (auto _ : state) benchmark::DoNotOptimize(out = OldOpenAI(req, nullptr));
  Label(state, req, out);
}
void BM_OpenAI_New(benchmark::State& state) {
  const ChatRequest req = Request(Dialect::kOpenAI, state.range(0));
  std::string out;
  for (auto _ : state) benchmark::DoNotOptimize(out = d::OpenAIRequestBody(req, "gemma-4-31b"));
  Label(state, req, out);
}
// The same as a stream: stream_options.include_usage is added.
void BM_OpenAIStream_Old(benchmark::State& state) {
  ChatRequest req = Request(Dialect::kOpenAI, state.range(0));
  req.stream = true;
  req.body["stream"] = true;
  std::string out;
  for (auto _ : state) benchmark::DoNotOptimize(out = OldOpenAI(req, nullptr));
  Label(state, req, out);
}
void BM_OpenAIStream_New(benchmark::State& state) {
  ChatRequest req = Request(Dialect::kOpenAI, state.range(0));
  req.stream = true;
  req.body["stream"] = true;
  std::string out;
  for (auto _ : state) benchmark::DoNotOptimize(out = d::OpenAIRequestBody(req, "gemma-4-31b"));
  Label(state, req, out);
}
// Anthropic client, Anthropic upstream (pass-through).
void BM_Anthropic_Old(benchmark::State& state) {
  const ChatRequest req = Request(Dialect::kAnthropic, state.range(0));
  std::string out;
  for (auto _ : state) benchmark::DoNotOptimize(out = OldAnthropic(req));
  Label(state, req, out);
}
void BM_Anthropic_New(benchmark::State& state) {
  const ChatRequest req = Request(Dialect::kAnthropic, state.range(0));
  std::string out;
  for (auto _ : state)
    benchmark::DoNotOptimize(out = d::AnthropicRequestBody(req, "claude-sonnet-4-6"));
  Label(state, req, out);
}
// Anthropic client, OpenAI upstream: the body, and the dropped list for the response header.
void BM_Cross_Old(benchmark::State& state) {
  const ChatRequest req = Request(Dialect::kAnthropic, state.range(0));
  std::string out;
  for (auto _ : state) {
    benchmark::DoNotOptimize(out = OldOpenAI(req, nullptr));
    std::vector<std::string> dropped;
    benchmark::DoNotOptimize(d::ToOpenAIRequest(req, "gemma-4-31b", &dropped));
  }
  Label(state, req, out);
}
void BM_Cross_New(benchmark::State& state) {
  const ChatRequest req = Request(Dialect::kAnthropic, state.range(0));
  std::string out;
  for (auto _ : state) {
    std::vector<std::string> dropped;
    benchmark::DoNotOptimize(out = d::OpenAIRequestBody(req, "gemma-4-31b", &dropped));
  }
  Label(state, req, out);
}
// A deployment with a request: section (docs/config.md#request-request-shaping): two members
// dropped (absent here), vLLM's chat_template_kwargs and top_k added, the output limit capped.
void BM_OpenAIShaped_New(benchmark::State& state) {
  const ChatRequest req = Request(Dialect::kOpenAI, state.range(0));
  d::RequestShape shape;
  shape.drop_params = {"seed", "logit_bias"};
  shape.extra_body =
      json::parse(R"({"chat_template_kwargs":{"enable_thinking":false},"top_k":20})");
  shape.max_output_tokens = 1024;
  std::string out;
  for (auto _ : state) {
    std::vector<std::string> dropped;
    benchmark::DoNotOptimize(out = d::OpenAIRequestBody(req, "gemma-4-31b", &dropped, &shape));
  }
  Label(state, req, out);
}
// Reading the body into a tree, the first step of every request.
void BM_Parse_Tree(benchmark::State& state) {
  const std::string body = Body(Dialect::kOpenAI, state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(d::ParseJsonBodyTree(body, 64));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
  state.SetLabel(std::to_string(body.size()) + " B");
}
void BM_Parse_Fast(benchmark::State& state) {
  const std::string body = Body(Dialect::kOpenAI, state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(d::ParseJsonBody(body, 64));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
  state.SetLabel(std::to_string(body.size()) + " B");
}

// 0 the small request of bench/overhead/run.sh, 1 to 4 the conversations, 5 the photo (above)
BENCHMARK(BM_Parse_Tree)->DenseRange(0, 5);
BENCHMARK(BM_Parse_Fast)->DenseRange(0, 5);
BENCHMARK(BM_OpenAI_Old)->DenseRange(0, 1);
BENCHMARK(BM_OpenAI_New)->DenseRange(0, 1);
BENCHMARK(BM_OpenAIShaped_New)->DenseRange(0, 1);
BENCHMARK(BM_OpenAIStream_Old)->DenseRange(0, 1);
BENCHMARK(BM_OpenAIStream_New)->DenseRange(0, 1);
BENCHMARK(BM_Anthropic_Old)->DenseRange(0, 1);
BENCHMARK(BM_Anthropic_New)->DenseRange(0, 1);
BENCHMARK(BM_Cross_Old)->DenseRange(0, 1);
BENCHMARK(BM_Cross_New)->DenseRange(0, 1);

}  // namespace

int main(int argc, char** argv) {
  std::printf(
      "Reading the client's body: Parse_Tree = nlohmann's parser, Parse_Fast = simdjson's DOM "
      "read into the same tree (bodies up to 64 KB). "
      "Building the upstream request body: Old = To...Request() tree (deep copy) + dump(), New = "
      "...RequestBody() written from the client's tree; /0 = bench/overhead/run.sh's request, "
      "/1 to /4 = conversations of ~64 KB, 16 KB, 256 KB and 1 MB; Cross = Anthropic client on an "
      "OpenAI upstream, body and "
      "dropped list; Shaped = a deployment with a request: section.\n"
      "command: cmake --build build --target bench_request_body && "
      "build/bench/dialect/bench_request_body\n");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
