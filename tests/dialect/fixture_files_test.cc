// Table-driven translation tests over one-file-per-case fixtures in tests/fixtures/dialect/:
// requests/*.json and responses/*.json hold {"from", "input", "expected", "dropped"}; streams/
// NAME.sse is an upstream SSE transcript whose translated frames must match
// streams/NAME.expected.json event by event (as JSON meaning); errors/errors.json lists error
// bodies and statuses in both dialects.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "dialect/anthropic.h"
#include "dialect/openai.h"
#include "dialect/sse.h"
#include "dialect/stream_translate.h"
#include "dialect/translate.h"

namespace triage::dialect {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

const fs::path kDir = fs::path(TRIAGE_SOURCE_DIR) / "tests/fixtures/dialect";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> Files(const char* sub, const char* ext) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(kDir / sub))
    if (e.path().string().ends_with(ext)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

Dialect DialectOf(const json& c) {
  return c.at("from") == "openai" ? Dialect::kOpenAI : Dialect::kAnthropic;
}

TEST(FixtureFileRequests, TranslateToOtherDialect) {
  const auto files = Files("requests", ".json");
  ASSERT_GE(files.size(), 10u);
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    const json c = json::parse(ReadFile(f));
    const Dialect from = DialectOf(c);
    const Dialect to = from == Dialect::kOpenAI ? Dialect::kAnthropic : Dialect::kOpenAI;
    auto req = from == Dialect::kOpenAI ? ParseOpenAIChat(c.at("input").dump(), 64)
                                        : ParseAnthropicMessages(c.at("input").dump(), 64);
    ASSERT_TRUE(req.ok()) << req.error().message;
    auto err = CheckTranslatable(*req, to);
    if (c.contains("expected_error")) {
      ASSERT_TRUE(err.has_value());
      EXPECT_EQ(HttpStatus(err->kind), 400);
      EXPECT_NE(err->message.find(c["expected_error"].get<std::string>()), std::string::npos)
          << err->message;
      continue;
    }
    ASSERT_FALSE(err.has_value()) << err->message;
    std::vector<std::string> dropped;
    const json out = to == Dialect::kOpenAI ? ToOpenAIRequest(*req, "upstream-model", &dropped)
                                            : ToAnthropicRequest(*req, "upstream-model", &dropped);
    EXPECT_EQ(out, c.at("expected")) << "got:\n" << out.dump(2);
    std::sort(dropped.begin(), dropped.end());
    auto want = c.value("dropped", std::vector<std::string>{});
    std::sort(want.begin(), want.end());
    EXPECT_EQ(dropped, want);
  }
}

TEST(FixtureFileResponses, TranslateToOtherDialect) {
  const auto files = Files("responses", ".json");
  ASSERT_GE(files.size(), 8u);
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    const json c = json::parse(ReadFile(f));
    const bool from_openai = DialectOf(c) == Dialect::kOpenAI;
    auto r =
        from_openai ? ParseOpenAIResponse(c.at("input")) : ParseAnthropicResponse(c.at("input"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    const json out =
        from_openai ? RenderAnthropicResponse(*r) : RenderOpenAIResponse(*r, 1700000000);
    EXPECT_EQ(out, c.at("expected")) << "got:\n" << out.dump(2);
  }
}

// Frames as (event name, JSON meaning); non-JSON data (the [DONE] sentinel) stays a string.
// `created` is the translator's clock, so it is checked for presence and then ignored.
json ParseFrames(const std::string& frames) {
  SseParser parser;
  std::vector<SseEvent> events;
  EXPECT_TRUE(parser.Feed(frames, events));
  EXPECT_FALSE(parser.HasPartial());
  json out = json::array();
  for (const auto& e : events) {
    json data = json::parse(e.data, nullptr, false);
    if (data.is_discarded()) data = e.data;
    if (data.is_object() && data.contains("created")) {
      EXPECT_TRUE(data["created"].is_number_integer());
      data.erase("created");
    }
    json ev = {{"data", data}};
    if (!e.event.empty()) ev["event"] = e.event;
    out.push_back(std::move(ev));
  }
  return out;
}

// Concatenates streamed tool arguments per call, in first-seen order, and parses each.
json JoinedToolInputs(const json& events) {
  std::map<int64_t, std::string> args;
  std::vector<int64_t> order;
  auto add = [&](int64_t k, const std::string& s) {
    if (!args.count(k)) order.push_back(k);
    args[k] += s;
  };
  for (const auto& e : events) {
    const json& d = e["data"];
    if (!d.is_object()) continue;
    if (d.value("type", "") == "content_block_start" &&
        d["content_block"].value("type", "") == "tool_use")
      add(d["index"], "");
    if (d.value("type", "") == "content_block_delta" &&
        d["delta"].value("type", "") == "input_json_delta")
      add(d["index"], d["delta"]["partial_json"]);
    if (d.contains("choices") && !d["choices"].empty() &&
        d["choices"][0]["delta"].contains("tool_calls"))
      for (const auto& tc : d["choices"][0]["delta"]["tool_calls"])
        add(tc["index"], tc["function"].value("arguments", ""));
  }
  json out = json::array();
  for (int64_t k : order) out.push_back(json::parse(args[k], nullptr, false));
  return out;
}

TEST(FixtureFileStreams, TranslateTranscripts) {
  const auto files = Files("streams", ".sse");
  ASSERT_GE(files.size(), 6u);
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    fs::path expected_path = f;
    expected_path.replace_extension(".expected.json");
    const json c = json::parse(ReadFile(expected_path));
    const Dialect up = c.at("upstream") == "openai" ? Dialect::kOpenAI : Dialect::kAnthropic;
    const Dialect client = c.at("client") == "openai" ? Dialect::kOpenAI : Dialect::kAnthropic;
    SseParser parser;
    std::vector<SseEvent> in;
    ASSERT_TRUE(parser.Feed(ReadFile(f), in));
    auto t = MakeStreamTranslator(up, client, "client-model");
    std::string frames;
    for (const auto& ev : in) {
      auto step = t->Feed(ev);
      ASSERT_FALSE(step.error.has_value()) << *step.error;
      frames += step.frames;
    }
    EXPECT_TRUE(t->complete());
    frames += t->Finish(json{{"tier", "mid"}}, /*include_usage=*/true, ": cost 0.000042\n\n");
    const json got = ParseFrames(frames);
    EXPECT_EQ(got, c.at("events")) << "got:\n" << got.dump(1);
    if (c.contains("usage")) {
      EXPECT_EQ(t->usage().input_tokens, c["usage"]["input_tokens"]);
      EXPECT_EQ(t->usage().output_tokens, c["usage"]["output_tokens"]);
      EXPECT_EQ(t->usage().cached_input_tokens, c["usage"]["cached_input_tokens"]);
    }
    if (c.contains("tool_inputs")) {
      EXPECT_EQ(JoinedToolInputs(got), c["tool_inputs"]);
    }
  }
}

// Each dialect's error body and status for the same Error value.
TEST(FixtureFileErrors, BodiesAndStatusInBothDialects) {
  const json cases = json::parse(ReadFile(kDir / "errors/errors.json"));
  ASSERT_GE(cases.size(), 8u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.dump());
    std::optional<ErrorKind> kind;
    for (int k = 0; k <= static_cast<int>(ErrorKind::kInternal); ++k)
      if (KindName(static_cast<ErrorKind>(k)) == c.at("kind").get<std::string>())
        kind = static_cast<ErrorKind>(k);
    ASSERT_TRUE(kind.has_value());
    Error e = Error::Make(*kind, c.at("code"), c.at("message"));
    e.upstream_status = c.value("upstream_status", 0);
    EXPECT_EQ(HttpStatus(e.kind), c["openai"]["status"]);
    EXPECT_EQ(json::parse(OpenAIErrorBody(e)), c["openai"]["body"]);
    EXPECT_EQ(AnthropicHttpStatus(e), c["anthropic"]["status"]);
    EXPECT_EQ(json::parse(AnthropicErrorBody(e)), c["anthropic"]["body"]);
  }
}

}  // namespace
}  // namespace triage::dialect
