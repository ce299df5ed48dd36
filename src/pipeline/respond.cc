#include "pipeline/respond.h"

#include <algorithm>
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
    const nlohmann::json& m = dialect::JsonObj(ch, "message");
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

int64_t ReceivedTextChars(std::string_view body) {
  // Members whose string value is generated text; `input` (an Anthropic tool_use's arguments)
  // is an object, counted whole.
  static constexpr std::string_view kText[] = {
      "content", "text", "refusal", "reasoning_content", "reasoning", "thinking", "arguments"};
  int64_t n = 0;
  std::string_view key;     // the last string read that may be a member's name
  bool value_next = false;  // a ':' followed it: the next token is that member's value
  int depth = 0;
  int input_depth = -1;  // inside an `input` object opened at this depth: counted whole
  size_t input_start = 0;
  size_t i = 0;
  while (i < body.size()) {
    const char c = body[i];
    if (c == '"') {
      // A string, to its closing quote or to the end of what was received.
      const size_t start = ++i;
      int64_t chars = 0;
      while (i < body.size() && body[i] != '"') {
        const auto b = static_cast<unsigned char>(body[i]);
        if (b == '\\') {
          i += i + 1 < body.size() && body[i + 1] == 'u' ? 6 : 2;
        } else {
          ++i;
          if ((b & 0xC0) == 0x80) continue;  // a UTF-8 continuation byte
        }
        ++chars;
      }
      const std::string_view s = body.substr(start, std::min(i, body.size()) - start);
      if (i < body.size()) ++i;  // the closing quote
      if (value_next) {
        if (input_depth < 0 &&
            std::find(std::begin(kText), std::end(kText), key) != std::end(kText))
          n += chars;
        value_next = false;
        key = {};
      } else {
        key = s;
      }
      continue;
    }
    if (c == ':') {
      value_next = true;
    } else if (c == '{' || c == '[') {
      if (value_next && c == '{' && key == "input" && input_depth < 0) {
        input_depth = depth;
        input_start = i;
      }
      ++depth;
      value_next = false;
    } else if (c == '}' || c == ']') {
      --depth;
      if (input_depth >= 0 && depth == input_depth) {
        n += dialect::Utf8Chars(body.substr(input_start, i + 1 - input_start));
        input_depth = -1;
      }
    } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      value_next = false;  // a number, a literal, a ','
    }
    ++i;
  }
  if (input_depth >= 0) n += dialect::Utf8Chars(body.substr(input_start));  // cut inside it
  return n;
}

Result<UnaryAnswer> ConvertUnary(Dialect wire, Dialect client, std::string upstream_body,
                                 std::optional<dialect::TokenUsage>* usage_seen,
                                 int64_t* refused_text_chars) {
  auto refuse = [&](std::string message) {
    if (refused_text_chars) *refused_text_chars = ReceivedTextChars(upstream_body);
    return Error::Make(ErrorKind::kUpstream, "upstream_bad_response", std::move(message));
  };
  auto bad = [&](const std::string& why) {
    return refuse("upstream sent a malformed answer: " + why);
  };
  // Before any reading: copying or dumping a tree recurses once per level.
  if (auto deep = dialect::AnswerTooDeep(upstream_body)) return refuse(std::move(*deep));
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
    }
    // Read only when the output is to be estimated (no usage, or a report that says 0).
    if (a.usage.output_tokens == 0) a.text_chars = PassedThroughTextChars(wire, upstream_body);
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
  if (!canon) {
    if (refused_text_chars) *refused_text_chars = ReceivedTextChars(upstream_body);
    return canon.error();
  }
  if (a.usage.output_tokens == 0) a.text_chars = TextChars(*canon);
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

std::string WithBilledUsage(Dialect client, std::string body, const dialect::TokenUsage& billed) {
  // Only on the estimate path (an upstream that reports no usage): a tree is fine here. Ordered,
  // so the answer's members keep the order they came in.
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return body;
  nlohmann::ordered_json& u = j["usage"];
  if (!u.is_object()) u = nlohmann::ordered_json::object();
  if (client == Dialect::kOpenAI) {
    u["prompt_tokens"] = billed.input_tokens;
    u["completion_tokens"] = billed.output_tokens;
    u["total_tokens"] = billed.input_tokens + billed.output_tokens;
  } else {
    u["input_tokens"] = std::max<int64_t>(
        0, billed.input_tokens - billed.cached_input_tokens - billed.cache_creation_input_tokens);
    u["output_tokens"] = billed.output_tokens;
  }
  return j.dump();
}

}  // namespace triage::pipeline
