// ReadAnswer (answer.h): a non-streaming answer read into the canonical form with simdjson,
// field for field as ParseOpenAIResponse / ParseAnthropicResponse read nlohmann's tree
// (translate_response.cc): the last of duplicate keys, "" for a string of another type.
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "dialect/answer.h"
#include "dialect/fast_json.h"
#include "dialect/openai.h"
#include "dialect/translate.h"

namespace triage::dialect {

namespace {

namespace sj = simdjson::dom;
using fast_json::Last;
using fast_json::StringOr;

Error BadUpstream(const std::string& why) {
  return Error::Make(ErrorKind::kUpstream, "upstream_bad_response", "upstream response " + why);
}

bool IsObject(std::optional<sj::element> e, sj::object* out) {
  return e && e->get_object().get(*out) == simdjson::SUCCESS;
}

ContentBlock TextBlock(std::string text) {
  ContentBlock b;
  b.text = std::move(text);
  return b;
}

// ParseOpenAIResponse.
Result<CanonicalResponse> OpenAIAnswer(sj::object top) {
  const auto [id, model, choices] = fast_json::LastOf<3>(top, {"id", "model", "choices"});
  sj::array list;
  sj::object choice;
  bool first_is_object = false;
  if (choices && choices->get_array().get(list) == simdjson::SUCCESS)
    for (sj::element c : list) {
      first_is_object = c.get_object().get(choice) == simdjson::SUCCESS;
      break;
    }
  if (!first_is_object) return BadUpstream("has no choices");
  const auto [message, finish, stop_reason, matched_stop] =
      fast_json::LastOf<4>(choice, {"message", "finish_reason", "stop_reason", "matched_stop"});
  sj::object msg;
  if (!IsObject(message, &msg)) return BadUpstream("has no message");
  CanonicalResponse r;
  r.id = StringOr(id);
  r.model = StringOr(model);
  const auto [content, calls, refusal] =
      fast_json::LastOf<3>(msg, {"content", "tool_calls", "refusal"});
  sj::array parts;
  if (content && fast_json::NonEmptyString(*content)) {
    r.content.push_back(TextBlock(StringOr(content)));
  } else if (content && content->get_array().get(parts) == simdjson::SUCCESS) {
    for (sj::element part : parts) {
      sj::object p;
      if (part.get_object().get(p) != simdjson::SUCCESS) continue;
      const auto [type, text] = fast_json::LastOf<2>(p, {"type", "text"});
      if (StringOr(type) == "text") r.content.push_back(TextBlock(StringOr(text)));
    }
  }
  if (calls && calls->get_array().get(parts) == simdjson::SUCCESS) {
    for (sj::element call : parts) {
      sj::object c, function;
      if (call.get_object().get(c) != simdjson::SUCCESS) continue;
      const auto [call_id, fn] = fast_json::LastOf<2>(c, {"id", "function"});
      if (!IsObject(fn, &function)) continue;
      const auto [name, arguments] = fast_json::LastOf<2>(function, {"name", "arguments"});
      ContentBlock b;
      b.type = BlockType::kToolUse;
      b.id = StringOr(call_id);
      b.name = StringOr(name);
      b.input = ParseToolArguments(StringOr(arguments));
      r.content.push_back(std::move(b));
    }
  }
  const std::string finish_reason = StringOr(finish);
  if (!finish_reason.empty()) r.stop_reason = StopFromOpenAI(finish_reason);
  r.stop_sequence = OpenAIMatchedStop(finish_reason, StringOr(stop_reason), StringOr(matched_stop));
  if (!r.stop_sequence.empty()) r.stop_reason = StopReason::kStopSequence;
  ToolCallsStopWithToolUse(r);
  if (refusal && fast_json::NonEmptyString(*refusal) && r.content.empty()) {
    r.content.push_back(TextBlock(StringOr(refusal)));
    r.stop_reason = StopReason::kRefusal;
    r.stop_sequence.clear();
  }
  sj::object u;
  bool complete = false;
  if (IsObject(Last(top, "usage"), &u)) {
    TokenUsage t = fast_json::OpenAIUsage(u, &complete);
    if (complete) r.usage = t;
  }
  return r;
}

// ParseAnthropicResponse; nullopt for a tool input ToTree cannot copy exactly (an integer 0
// in a body that holds "-0" somewhere).
std::optional<Result<CanonicalResponse>> AnthropicAnswer(sj::object top, std::string_view body) {
  const auto [id, model, content, stop, sequence] =
      fast_json::LastOf<5>(top, {"id", "model", "content", "stop_reason", "stop_sequence"});
  sj::array blocks;
  if (!content || content->get_array().get(blocks) != simdjson::SUCCESS)
    return BadUpstream("has no content");
  CanonicalResponse r;
  r.id = StringOr(id);
  r.model = StringOr(model);
  for (sj::element element : blocks) {
    sj::object block;
    if (element.get_object().get(block) != simdjson::SUCCESS) continue;
    const auto [type_e, text, block_id, name, input, thinking] =
        fast_json::LastOf<6>(block, {"type", "text", "id", "name", "input", "thinking"});
    const std::string type = StringOr(type_e);
    ContentBlock b;
    if (type == "text") {
      b.text = StringOr(text);
    } else if (type == "tool_use") {
      b.type = BlockType::kToolUse;
      b.id = StringOr(block_id);
      b.name = StringOr(name);
      sj::object o;
      if (IsObject(input, &o)) {
        bool zero = false;
        if (!fast_json::ToTree(*input, std::numeric_limits<int>::max(), &zero, &b.input))
          return std::nullopt;
        if (zero && fast_json::MayHaveMinusZero(body)) return std::nullopt;
      } else {
        b.input = nlohmann::json::object();
      }
    } else if (type == "thinking") {
      b.type = BlockType::kThinking;
      b.text = StringOr(thinking);
    } else {
      continue;
    }
    r.content.push_back(std::move(b));
  }
  const std::string stop_reason = StringOr(stop);
  if (!stop_reason.empty()) r.stop_reason = StopFromAnthropic(stop_reason);
  r.stop_sequence = StringOr(sequence);
  r.usage = fast_json::AnthropicUsageAt(top, "usage");
  return Result<CanonicalResponse>(std::move(r));
}

}  // namespace

std::optional<AnswerReading> ReadAnswerSimdjson(Dialect wire, std::string_view body) {
  sj::object top;
  const fast_json::Parsed parsed = fast_json::ParseObject(body, &top);
  if (parsed == fast_json::Parsed::kRefused) return std::nullopt;
  AnswerReading out;
  out.info.is_object = parsed == fast_json::Parsed::kObject;
  if (!out.info.is_object) return out;
  const std::string_view answer_key = wire == Dialect::kOpenAI ? "choices" : "content";
  std::optional<sj::element> usage;
  for (auto f : top) {
    if (f.key == answer_key) out.info.has_answer = true;
    if (f.key == "usage") usage = f.value;
  }
  sj::object u;
  if (IsObject(usage, &u)) {
    if (wire == Dialect::kOpenAI) {
      bool complete = false;
      TokenUsage t = fast_json::OpenAIUsage(u, &complete);
      if (complete) out.info.usage = t;
    } else {
      out.info.usage = fast_json::AnthropicUsage(u);
    }
  }
  if (wire == Dialect::kOpenAI) {
    out.response = OpenAIAnswer(top);
  } else {
    auto r = AnthropicAnswer(top, body);
    if (!r) return std::nullopt;
    out.response = std::move(*r);
  }
  return out;
}

AnswerReading ReadAnswerTree(Dialect wire, std::string_view body) {
  AnswerReading out;
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return out;
  out.info.is_object = true;
  out.info.has_answer = json.contains(wire == Dialect::kOpenAI ? "choices" : "content");
  auto usage = wire == Dialect::kOpenAI ? OpenAIResponseUsage(json) : AnthropicResponseUsage(json);
  if (usage.ok()) out.info.usage = *usage;
  out.response =
      wire == Dialect::kOpenAI ? ParseOpenAIResponse(json) : ParseAnthropicResponse(json);
  return out;
}

AnswerReading ReadAnswer(Dialect wire, std::string_view body) {
  if (auto fast = ReadAnswerSimdjson(wire, body)) return std::move(*fast);
  return ReadAnswerTree(wire, body);
}

}  // namespace triage::dialect
