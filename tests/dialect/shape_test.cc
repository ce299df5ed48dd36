// Per-deployment request shaping (RequestShape): what the upstream receives, pass-through and
// translated, both dialects, and the pass-through writer against the tree path (ApplyShape on a
// copy, then dump()) byte for byte on every request fixture.
#include "dialect/shape.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "dialect/anthropic.h"
#include "dialect/openai.h"
#include "dialect/translate.h"
#include "differential.h"

namespace triage::dialect {
namespace {

using nlohmann::json;
using Strings = std::vector<std::string>;

ChatRequest Parsed(Dialect d, const std::string& body) {
  auto r = d == Dialect::kOpenAI ? ParseOpenAIChat(body, 64) : ParseAnthropicMessages(body, 64);
  EXPECT_TRUE(r.ok()) << body << "\n" << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(*r) : ChatRequest{};
}

RequestShape Shape(Strings drop, json extra = json::object(),
                   RequestShape::LimitField field = RequestShape::LimitField::kAsSent,
                   std::optional<int64_t> cap = std::nullopt) {
  RequestShape s;
  s.drop_params = std::move(drop);
  s.extra_body = std::move(extra);
  s.limit_field = field;
  s.max_output_tokens = cap;
  return s;
}

// The tree path: the old body, shaped on the tree, dumped.
std::string TreeOpenAI(const ChatRequest& req, const RequestShape& shape, Strings* dropped) {
  json body = ToOpenAIRequest(req, "up", dropped);
  ApplyShape(body, shape, Dialect::kOpenAI, dropped);
  if (req.stream) body["stream_options"]["include_usage"] = true;
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}
std::string TreeAnthropic(const ChatRequest& req, const RequestShape& shape, Strings* dropped) {
  json body = ToAnthropicRequest(req, "up", dropped);
  ApplyShape(body, shape, Dialect::kAnthropic, dropped);
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

const char* kOpenAIBody =
    R"({"model":"auto","messages":[{"role":"user","content":"hi"}],"seed":7,)"
    R"("logit_bias":{"50256":-100},"parallel_tool_calls":false,"temperature":0.5})";

TEST(Shape, PassThroughDropsAndReports) {
  const ChatRequest req = Parsed(Dialect::kOpenAI, kOpenAIBody);
  const RequestShape shape = Shape({"seed", "logit_bias", "parallel_tool_calls", "absent"});
  Strings dropped;
  EXPECT_EQ(OpenAIRequestBody(req, "up", &dropped, &shape),
            R"({"messages":[{"content":"hi","role":"user"}],"model":"up","temperature":0.5})");
  EXPECT_EQ(dropped,
            (Strings{"seed (deployment drop_params)", "logit_bias (deployment drop_params)",
                     "parallel_tool_calls (deployment drop_params)"}));
  // Without a shape: untouched, nothing reported (the old behaviour).
  dropped.clear();
  EXPECT_EQ(json::parse(OpenAIRequestBody(req, "up", &dropped)).count("seed"), 1u);
  EXPECT_TRUE(dropped.empty());
}

TEST(Shape, ExtraBodyAddsExactJsonAndTheClientWins) {
  const json extra =
      json::parse(R"({"chat_template_kwargs":{"enable_thinking":false},"top_k":20,"min_p":0.0,)"
                  R"("keep_alive":"5m","repetition_penalty":1.05,"temperature":1.5})");
  const RequestShape shape = Shape({}, extra);
  const ChatRequest req = Parsed(Dialect::kOpenAI, kOpenAIBody);
  Strings dropped;
  EXPECT_EQ(OpenAIRequestBody(req, "up", &dropped, &shape),
            R"({"chat_template_kwargs":{"enable_thinking":false},"keep_alive":"5m",)"
            R"("logit_bias":{"50256":-100},"messages":[{"content":"hi","role":"user"}],)"
            R"("min_p":0.0,"model":"up","parallel_tool_calls":false,"repetition_penalty":1.05,)"
            R"("seed":7,"temperature":0.5,"top_k":20})");
  EXPECT_TRUE(dropped.empty());
  // Listed in drop_params too: the configured value replaces the client's, which is reported.
  const RequestShape forced = Shape({"temperature"}, extra);
  EXPECT_EQ(json::parse(OpenAIRequestBody(req, "up", &dropped, &forced)).at("temperature"), 1.5);
  EXPECT_EQ(dropped, Strings{"temperature (deployment drop_params)"});
}

TEST(Shape, StreamsStillAskForUsage) {
  const ChatRequest req =
      Parsed(Dialect::kOpenAI,
             R"({"model":"auto","stream":true,"stream_options":{"include_usage":false},"seed":1,)"
             R"("messages":[{"role":"user","content":"hi"}]})");
  const RequestShape shape = Shape({"seed"}, json{{"top_k", 5}});
  EXPECT_EQ(OpenAIRequestBody(req, "up", nullptr, &shape),
            R"({"messages":[{"content":"hi","role":"user"}],"model":"up","stream":true,)"
            R"("stream_options":{"include_usage":true},"top_k":5})");
}

TEST(Shape, MaxTokensFieldRenamesPassThroughAndTranslated) {
  using F = RequestShape::LimitField;
  const RequestShape mct = Shape({}, json::object(), F::kMaxCompletionTokens);
  const RequestShape mt = Shape({}, json::object(), F::kMaxTokens);
  Strings dropped;
  const ChatRequest a =
      Parsed(Dialect::kOpenAI,
             R"({"model":"a","max_tokens":300,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(
      OpenAIRequestBody(a, "up", &dropped, &mct),
      R"({"max_completion_tokens":300,"messages":[{"content":"x","role":"user"}],"model":"up"})");
  const ChatRequest b = Parsed(
      Dialect::kOpenAI,
      R"({"model":"a","max_completion_tokens":300,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(OpenAIRequestBody(b, "up", &dropped, &mt),
            R"({"max_tokens":300,"messages":[{"content":"x","role":"user"}],"model":"up"})");
  EXPECT_TRUE(dropped.empty());  // renamed, nothing lost
  // Both sent: the configured name is kept, the other reported.
  const ChatRequest both = Parsed(
      Dialect::kOpenAI,
      R"({"model":"a","max_tokens":10,"max_completion_tokens":300,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(
      OpenAIRequestBody(both, "up", &dropped, &mct),
      R"({"max_completion_tokens":300,"messages":[{"content":"x","role":"user"}],"model":"up"})");
  EXPECT_EQ(dropped, Strings{"max_tokens (deployment takes max_completion_tokens)"});
  // An Anthropic client (translated, which writes max_tokens) towards gpt-5.x.
  const ChatRequest an =
      Parsed(Dialect::kAnthropic,
             R"({"model":"a","max_tokens":256,"messages":[{"role":"user","content":"x"}]})");
  const json sent = json::parse(OpenAIRequestBody(an, "gpt-5.5", nullptr, &mct));
  EXPECT_EQ(sent.at("max_completion_tokens"), 256);
  EXPECT_FALSE(sent.contains("max_tokens"));
  // Not configured: the names as today (translated: max_tokens; pass-through: the client's).
  EXPECT_EQ(json::parse(OpenAIRequestBody(an, "up")).at("max_tokens"), 256);
  EXPECT_EQ(json::parse(OpenAIRequestBody(b, "up")).at("max_completion_tokens"), 300);
}

TEST(Shape, MaxOutputTokensClampsAndReports) {
  using F = RequestShape::LimitField;
  const RequestShape cap = Shape({}, json::object(), F::kAsSent, 1024);
  Strings dropped;
  const ChatRequest big =
      Parsed(Dialect::kOpenAI,
             R"({"model":"a","max_tokens":8000,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(OpenAIRequestBody(big, "up", &dropped, &cap),
            R"({"max_tokens":1024,"messages":[{"content":"x","role":"user"}],"model":"up"})");
  EXPECT_EQ(dropped, Strings{"max_tokens (clamped to 1024)"});
  // Below the cap, or no limit at all towards OpenAI: unchanged, nothing reported.
  dropped.clear();
  const ChatRequest small =
      Parsed(Dialect::kOpenAI,
             R"({"model":"a","max_tokens":100,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(json::parse(OpenAIRequestBody(small, "up", &dropped, &cap)).at("max_tokens"), 100);
  const ChatRequest none =
      Parsed(Dialect::kOpenAI, R"({"model":"a","messages":[{"role":"user","content":"x"}]})");
  EXPECT_FALSE(json::parse(OpenAIRequestBody(none, "up", &dropped, &cap)).contains("max_tokens"));
  EXPECT_TRUE(dropped.empty());
  // Renamed and clamped: reported under the client's name.
  const ChatRequest mct = Parsed(
      Dialect::kOpenAI,
      R"({"model":"a","max_completion_tokens":5000,"messages":[{"role":"user","content":"x"}]})");
  const RequestShape both = Shape({}, json::object(), F::kMaxTokens, 2048);
  EXPECT_EQ(OpenAIRequestBody(mct, "up", &dropped, &both),
            R"({"max_tokens":2048,"messages":[{"content":"x","role":"user"}],"model":"up"})");
  EXPECT_EQ(dropped, Strings{"max_completion_tokens (clamped to 2048)"});
  // Anthropic pass-through.
  dropped.clear();
  const ChatRequest an =
      Parsed(Dialect::kAnthropic,
             R"({"model":"a","max_tokens":64000,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(AnthropicRequestBody(an, "claude", &dropped, &cap),
            R"({"max_tokens":1024,"messages":[{"content":"x","role":"user"}],"model":"claude"})");
  EXPECT_EQ(dropped, Strings{"max_tokens (clamped to 1024)"});
  // An OpenAI client that sent no limit: the default triage sends Anthropic (4096) is clamped.
  dropped.clear();
  const json sent = json::parse(AnthropicRequestBody(none, "claude", &dropped, &cap));
  EXPECT_EQ(sent.at("max_tokens"), 1024);
  EXPECT_EQ(dropped, Strings{"max_tokens (clamped to 1024)"});
  dropped.clear();
  EXPECT_EQ(json::parse(AnthropicRequestBody(none, "claude", &dropped)).at("max_tokens"),
            kDefaultAnthropicMaxTokens);
  EXPECT_TRUE(dropped.empty());
}

TEST(Shape, TranslatedBodiesAreShapedToo) {
  // OpenAI client -> Anthropic upstream: the translation's drops come first, then the shape's.
  const ChatRequest req =
      Parsed(Dialect::kOpenAI,
             R"({"model":"a","seed":3,"temperature":0.2,"metadata":{"k":"v"},"max_tokens":50,)"
             R"("messages":[{"role":"user","content":"x"}]})");
  const RequestShape shape = Shape({"temperature"}, json{{"top_k", 40}});
  Strings dropped;
  EXPECT_EQ(
      AnthropicRequestBody(req, "claude", &dropped, &shape),
      R"({"max_tokens":50,"messages":[{"content":[{"text":"x","type":"text"}],"role":"user"}],)"
      R"("model":"claude","top_k":40})");
  EXPECT_EQ(dropped, (Strings{"seed", "metadata", "temperature (deployment drop_params)"}));
  // Anthropic client -> OpenAI upstream: output_config.effort became reasoning_effort; dropped
  // for an older model that refuses it; vLLM's chat_template_kwargs added.
  const ChatRequest an = Parsed(Dialect::kAnthropic,
                                R"({"model":"a","max_tokens":9,"output_config":{"effort":"high"},)"
                                R"("messages":[{"role":"user","content":"x"}]})");
  const RequestShape vllm = Shape(
      {"reasoning_effort"}, json::parse(R"({"chat_template_kwargs":{"enable_thinking":false}})"));
  dropped.clear();
  EXPECT_EQ(OpenAIRequestBody(an, "qwen3", &dropped, &vllm),
            R"({"chat_template_kwargs":{"enable_thinking":false},"max_tokens":9,)"
            R"("messages":[{"content":"x","role":"user"}],"model":"qwen3"})");
  EXPECT_EQ(dropped, Strings{"reasoning_effort (deployment drop_params)"});
}

TEST(Shape, NeverEditsWhatTheGatewayWrites) {
  // The config refuses these; a shape built in code that names them changes nothing.
  const RequestShape shape =
      Shape({"model", "messages", "stream", "stream_options"},
            json::parse(R"({"model":"x","messages":[],"stream":false,"stream_options":{}})"));
  const ChatRequest req =
      Parsed(Dialect::kOpenAI,
             R"({"model":"a","stream":true,"messages":[{"role":"user","content":"x"}]})");
  Strings dropped;
  EXPECT_EQ(OpenAIRequestBody(req, "up", &dropped, &shape), OpenAIRequestBody(req, "up"));
  EXPECT_TRUE(dropped.empty());
}

// Keys sorting around the ones the gateway sets and the shape edits, and a shape that edits
// every kind of member: the direct writer equals the tree path on every request fixture.
TEST(Shape, WriterMatchesTheTreePathOnEveryFixture) {
  using F = RequestShape::LimitField;
  const std::vector<RequestShape> shapes = {
      Shape({"seed", "temperature", "top_p", "tools", "metadata", "user", "zzz"}),
      Shape({"temperature", "max_tokens_x"},
            json::parse(R"({"temperature":0.7,"a":[1,2.0,"3"],"mode":{},"stream_optionz":1,)"
                        R"("top_k":3,"\u00e9":null})")),
      Shape({"seed"}, json{{"keep_alive", -1}}, F::kMaxCompletionTokens, 100),
      Shape({}, json::object(), F::kMaxTokens, 1),
  };
  int n = 0;
  for (const auto& path : test_util::FixtureFiles("requests")) {
    SCOPED_TRACE(path.filename().string());
    std::ifstream in(path);
    const json c = json::parse(in);
    const Dialect from = c.at("from") == "openai" ? Dialect::kOpenAI : Dialect::kAnthropic;
    for (int stream = 0; stream < 2; ++stream) {
      json input = c.at("input");
      input["stream"] = stream == 1;
      const ChatRequest req = Parsed(from, input.dump());
      for (size_t i = 0; i < shapes.size(); ++i) {
        SCOPED_TRACE(i);
        Strings a, b;
        EXPECT_EQ(OpenAIRequestBody(req, "up", &a, &shapes[i]), TreeOpenAI(req, shapes[i], &b));
        EXPECT_EQ(a, b);
        if (i == 2 || i == 3) continue;  // max_tokens_field is OpenAI-only
        a.clear();
        b.clear();
        EXPECT_EQ(AnthropicRequestBody(req, "up", &a, &shapes[i]),
                  TreeAnthropic(req, shapes[i], &b));
        EXPECT_EQ(a, b);
        ++n;
      }
    }
  }
  EXPECT_GE(n, 60);
}

}  // namespace
}  // namespace triage::dialect
