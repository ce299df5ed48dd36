#include "pipeline/respond.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "dialect/answer.h"
#include "dialect/canonical.h"
#include "dialect/json_util.h"
#include "dialect/openai.h"
#include "dialect/translate.h"

namespace triage::pipeline {

using dialect::Dialect;

namespace {

int64_t TextChars(const dialect::CanonicalResponse& r) {
  int64_t n = 0;
  for (const auto& b : r.content)
    n += dialect::Utf8Chars(b.text) +
         (b.type == dialect::BlockType::kToolUse ? dialect::Utf8Chars(b.input.dump()) : 0);
  return n;
}

int64_t StringChars(const nlohmann::json& o, const char* key) {
  return dialect::Utf8Chars(dialect::JsonStr(o, key));
}

// The generated text of every choice of an OpenAI answer (`n` > 1 passes through): content,
// refusal, reasoning and tool-call arguments, as a stream's chunks are counted.
int64_t OpenAIChoicesTextChars(const nlohmann::json& body) {
  int64_t n = 0;
  auto choices = body.find("choices");
  if (choices == body.end() || !choices->is_array()) return 0;
  for (const auto& ch : *choices) {
    const nlohmann::json m = dialect::JsonObj(ch, "message");
    n += StringChars(m, "content") + StringChars(m, "refusal") +
         StringChars(m, "reasoning_content") + StringChars(m, "reasoning");
    if (auto tc = m.find("tool_calls"); tc != m.end() && tc->is_array())
      for (const auto& call : *tc)
        n += StringChars(dialect::JsonObj(call, "function"), "arguments");
    n += StringChars(dialect::JsonObj(m, "function_call"), "arguments");
  }
  return n;
}

// The canonical reading of a passed-through answer that reported no usage (a rare path:
// the tree is built only then), for its text's length.
int64_t PassedThroughTextChars(Dialect wire, const std::string& body) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (wire == Dialect::kOpenAI && json.is_object()) return OpenAIChoicesTextChars(json);
  auto canon = wire == Dialect::kOpenAI ? dialect::ParseOpenAIResponse(json)
                                        : dialect::ParseAnthropicResponse(json);
  return canon ? TextChars(*canon) : static_cast<int64_t>(body.size()) / 2;
}

}  // namespace

Result<UnaryAnswer> ConvertUnary(Dialect wire, Dialect client, std::string upstream_body,
                                 std::optional<dialect::TokenUsage>* usage_seen) {
  auto bad = [&](const std::string& why) {
    return Error::Make(ErrorKind::kUpstream, "upstream_bad_response",
                       "upstream sent a malformed answer: " + why);
  };
  const char* no_answer = wire == Dialect::kOpenAI ? "no choices" : "no content";
  UnaryAnswer a;
  if (wire == client) {  // passed through: read what accounting needs, build no tree
    dialect::AnswerInfo info = dialect::InspectAnswer(wire, upstream_body);
    if (usage_seen) *usage_seen = info.usage;
    if (!info.is_object) return bad("not a JSON object");
    if (!info.has_answer) return bad(no_answer);
    if (info.usage) {
      a.usage = *info.usage;
      a.usage_reported = true;
    } else {
      a.text_chars = PassedThroughTextChars(wire, upstream_body);
    }
    a.body = std::move(upstream_body);
    return a;
  }
  // Translated: read with simdjson (nlohmann's tree as fallback), written without a tree.
  dialect::AnswerReading read = dialect::ReadAnswer(wire, upstream_body);
  if (usage_seen) *usage_seen = read.info.usage;
  if (!read.info.is_object) return bad("not a JSON object");
  if (!read.info.has_answer) return bad(no_answer);
  if (read.info.usage) {
    a.usage = *read.info.usage;
    a.usage_reported = true;
  }
  const Result<dialect::CanonicalResponse>& canon = *read.response;
  if (!canon) return canon.error();
  if (!a.usage_reported) a.text_chars = TextChars(*canon);
  if (client == Dialect::kOpenAI) {
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    a.body = dialect::WriteOpenAIResponse(*canon, now);
  } else {
    a.body = dialect::WriteAnthropicResponse(*canon);
  }
  return a;
}

}  // namespace triage::pipeline
