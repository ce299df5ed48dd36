#include "dialect/answer.h"

#include <nlohmann/json.hpp>

#include "dialect/fast_json.h"
#include "dialect/json_util.h"
#include "dialect/openai.h"
#include "dialect/translate.h"

namespace triage::dialect {

namespace {

namespace sj = simdjson::dom;
using fast_json::NumberOr0;

// OpenAIResponseUsage: `prompt_tokens` and `completion_tokens` must both be present.
std::optional<TokenUsage> OpenAIUsage(sj::object u) {
  bool complete = false;
  TokenUsage t = fast_json::OpenAIUsage(u, &complete);
  if (!complete) return std::nullopt;
  return t;
}

// UsageFromAnthropic: input_tokens counts the cached and cache-writing tokens too.
TokenUsage AnthropicUsage(sj::object u) {
  int64_t input = 0, output = 0, read = 0, created = 0;
  for (auto f : u) {
    if (f.key == "input_tokens") {
      input = NumberOr0(f.value);
    } else if (f.key == "output_tokens") {
      output = NumberOr0(f.value);
    } else if (f.key == "cache_read_input_tokens") {
      read = NumberOr0(f.value);
    } else if (f.key == "cache_creation_input_tokens") {
      created = NumberOr0(f.value);
    }
  }
  TokenUsage t;
  t.input_tokens = input + read + created;
  t.output_tokens = output;
  t.cached_input_tokens = read;
  t.cache_creation_input_tokens = created;
  return t;
}

// AnthropicUsage of obj[key] when that (last) value is an object; zeros otherwise.
TokenUsage AnthropicUsageAt(sj::object obj, std::string_view key) {
  sj::object u;
  auto v = fast_json::Last(obj, key);
  return v && v->get_object().get(u) == simdjson::SUCCESS ? AnthropicUsage(u) : TokenUsage{};
}

}  // namespace

std::optional<AnthropicEventInfo> InspectAnthropicEventSimdjson(std::string_view data) {
  sj::object top;
  const fast_json::Parsed parsed = fast_json::ParseObject(data, &top);
  if (parsed == fast_json::Parsed::kRefused) return std::nullopt;
  AnthropicEventInfo info;
  info.is_object = parsed == fast_json::Parsed::kObject;
  if (!info.is_object) return info;
  const auto [type, message, error, block] =
      fast_json::LastOf<4>(top, {"type", "message", "error", "content_block"});
  info.type = fast_json::StringOr(type);
  info.has_message = message.has_value();
  sj::object o;
  if (message && message->get_object().get(o) == simdjson::SUCCESS)
    info.message_usage = AnthropicUsageAt(o, "usage");
  if (error && error->get_object().get(o) == simdjson::SUCCESS)
    info.error_message = fast_json::StringOr(fast_json::Last(o, "message"));
  if (block && block->get_object().get(o) == simdjson::SUCCESS)
    info.content_block_type = fast_json::StringOr(fast_json::Last(o, "type"));
  info.usage = AnthropicUsageAt(top, "usage");
  return info;
}

AnthropicEventInfo InspectAnthropicEventTree(std::string_view data) {
  AnthropicEventInfo info;
  auto j = nlohmann::json::parse(data, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return info;
  info.is_object = true;
  info.type = JsonStr(j, "type");
  info.has_message = j.contains("message");
  info.message_usage = UsageFromAnthropic(JsonObj(JsonObj(j, "message"), "usage"));
  info.error_message = JsonStr(JsonObj(j, "error"), "message");
  info.usage = UsageFromAnthropic(JsonObj(j, "usage"));
  info.content_block_type = JsonStr(JsonObj(j, "content_block"), "type");
  return info;
}

AnthropicEventInfo InspectAnthropicEvent(std::string_view data) {
  if (auto fast = InspectAnthropicEventSimdjson(data)) return std::move(*fast);
  return InspectAnthropicEventTree(data);
}

std::optional<AnswerInfo> InspectAnswerSimdjson(Dialect wire, std::string_view body) {
  sj::object top;
  const fast_json::Parsed parsed = fast_json::ParseObject(body, &top);
  if (parsed == fast_json::Parsed::kRefused) return std::nullopt;
  AnswerInfo info;
  info.is_object = parsed == fast_json::Parsed::kObject;
  if (!info.is_object) return info;
  const std::string_view answer_key = wire == Dialect::kOpenAI ? "choices" : "content";
  std::optional<sj::element> usage;
  for (auto f : top) {
    if (f.key == answer_key) info.has_answer = true;
    if (f.key == "usage") usage = f.value;
  }
  sj::object u;
  if (usage && usage->get_object().get(u) == simdjson::SUCCESS)
    info.usage = wire == Dialect::kOpenAI ? OpenAIUsage(u) : AnthropicUsage(u);
  return info;
}

AnswerInfo InspectAnswerTree(Dialect wire, std::string_view body) {
  AnswerInfo info;
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return info;
  info.is_object = true;
  info.has_answer = json.contains(wire == Dialect::kOpenAI ? "choices" : "content");
  auto usage = wire == Dialect::kOpenAI ? OpenAIResponseUsage(json) : AnthropicResponseUsage(json);
  if (usage.ok()) info.usage = *usage;
  return info;
}

AnswerInfo InspectAnswer(Dialect wire, std::string_view body) {
  if (auto fast = InspectAnswerSimdjson(wire, body)) return *fast;
  return InspectAnswerTree(wire, body);
}

}  // namespace triage::dialect
