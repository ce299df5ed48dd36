#include "dialect/answer.h"

#include <nlohmann/json.hpp>

#include "dialect/fast_json.h"
#include "dialect/json_util.h"
#include "dialect/openai.h"
#include "dialect/translate.h"

namespace triage::dialect {

namespace {

namespace sj = simdjson::dom;
using fast_json::AnthropicUsage;

// OpenAIResponseUsage: `prompt_tokens` and `completion_tokens` must both be present.
std::optional<TokenUsage> OpenAIUsage(sj::object u) {
  bool complete = false;
  TokenUsage t = fast_json::OpenAIUsage(u, &complete);
  if (!complete) return std::nullopt;
  return t;
}

}  // namespace

std::optional<AnthropicEventInfo> InspectAnthropicEventSimdjson(std::string_view data) {
  sj::object top;
  const fast_json::Parsed parsed = fast_json::ParseObject(data, &top);
  if (parsed == fast_json::Parsed::kRefused) return std::nullopt;
  AnthropicEventInfo info;
  info.is_object = parsed == fast_json::Parsed::kObject;
  if (!info.is_object) return info;
  const auto [type, message, error, block, delta] =
      fast_json::LastOf<5>(top, {"type", "message", "error", "content_block", "delta"});
  info.type = fast_json::StringOr(type);
  info.has_message = message.has_value();
  sj::object o;
  if (message && message->get_object().get(o) == simdjson::SUCCESS)
    info.message_usage = fast_json::AnthropicUsageAt(o, "usage");
  if (error && error->get_object().get(o) == simdjson::SUCCESS) {
    const auto [msg, etype] = fast_json::LastOf<2>(o, {"message", "type"});
    info.error_message = fast_json::StringOr(msg);
    info.error_type = fast_json::StringOr(etype);
  }
  if (block && block->get_object().get(o) == simdjson::SUCCESS)
    info.content_block_type = fast_json::StringOr(fast_json::Last(o, "type"));
  if (delta && delta->get_object().get(o) == simdjson::SUCCESS) {
    const auto [text, partial, thinking] =
        fast_json::LastOf<3>(o, {"text", "partial_json", "thinking"});
    info.text_chars = fast_json::StringChars(text) + fast_json::StringChars(partial) +
                      fast_json::StringChars(thinking);
  }
  info.usage = fast_json::AnthropicUsageAt(top, "usage");
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
  info.error_type = JsonStr(JsonObj(j, "error"), "type");
  info.usage = UsageFromAnthropic(JsonObj(j, "usage"));
  info.content_block_type = JsonStr(JsonObj(j, "content_block"), "type");
  const nlohmann::json& d = JsonObj(j, "delta");
  info.text_chars = Utf8Chars(JsonStr(d, "text")) + Utf8Chars(JsonStr(d, "partial_json")) +
                    Utf8Chars(JsonStr(d, "thinking"));
  return info;
}

AnthropicEventInfo InspectAnthropicEvent(std::string_view data) {
  if (auto fast = InspectAnthropicEventSimdjson(data)) return std::move(*fast);
  return InspectAnthropicEventTree(data);
}

std::optional<AnthropicEventView> ReadAnthropicEventSimdjson(std::string_view data) {
  sj::object top;
  const fast_json::Parsed parsed = fast_json::ParseObject(data, &top);
  if (parsed == fast_json::Parsed::kRefused) return std::nullopt;
  AnthropicEventView v;
  v.is_object = parsed == fast_json::Parsed::kObject;
  if (!v.is_object) return v;
  const auto [type, index, delta, block, message, usage, error] = fast_json::LastOf<7>(
      top, {"type", "index", "delta", "content_block", "message", "usage", "error"});
  v.type = fast_json::StringOr(type);
  v.index = fast_json::IntegerOr0(index);
  sj::object o;
  if (delta && delta->get_object().get(o) == simdjson::SUCCESS) {
    const auto [dt, text, partial, stop, thinking] =
        fast_json::LastOf<5>(o, {"type", "text", "partial_json", "stop_reason", "thinking"});
    v.delta_type = fast_json::StringOr(dt);
    v.delta_text = fast_json::StringOr(text);
    v.delta_partial_json = fast_json::StringOr(partial);
    v.delta_stop_reason = fast_json::StringOr(stop);
    v.delta_thinking_chars = fast_json::StringChars(thinking);
  }
  if (block && block->get_object().get(o) == simdjson::SUCCESS) {
    const auto [bt, id, name] = fast_json::LastOf<3>(o, {"type", "id", "name"});
    v.block_type = fast_json::StringOr(bt);
    v.block_id = fast_json::StringOr(id);
    v.block_name = fast_json::StringOr(name);
  }
  if (message && message->get_object().get(o) == simdjson::SUCCESS) {
    const auto [id, model] = fast_json::LastOf<2>(o, {"id", "model"});
    v.message_id = fast_json::StringOr(id);
    v.message_model = fast_json::StringOr(model);
    v.message_usage = fast_json::AnthropicUsageAt(o, "usage");
  }
  if (usage && usage->get_object().get(o) == simdjson::SUCCESS) v.usage = AnthropicUsage(o);
  if (error && error->get_object().get(o) == simdjson::SUCCESS) {
    const auto [msg, etype] = fast_json::LastOf<2>(o, {"message", "type"});
    v.error_message = fast_json::StringOr(msg);
    v.error_type = fast_json::StringOr(etype);
  }
  return v;
}

AnthropicEventView ReadAnthropicEventTree(std::string_view data) {
  AnthropicEventView v;
  auto j = nlohmann::json::parse(data, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return v;
  v.is_object = true;
  v.type = JsonStr(j, "type");
  v.index = JsonInteger(j, "index");
  const nlohmann::json& d = JsonObj(j, "delta");
  v.delta_type = JsonStr(d, "type");
  v.delta_text = JsonStr(d, "text");
  v.delta_partial_json = JsonStr(d, "partial_json");
  v.delta_stop_reason = JsonStr(d, "stop_reason");
  v.delta_thinking_chars = Utf8Chars(JsonStr(d, "thinking"));
  const nlohmann::json& b = JsonObj(j, "content_block");
  v.block_type = JsonStr(b, "type");
  v.block_id = JsonStr(b, "id");
  v.block_name = JsonStr(b, "name");
  const nlohmann::json& m = JsonObj(j, "message");
  v.message_id = JsonStr(m, "id");
  v.message_model = JsonStr(m, "model");
  v.message_usage = UsageFromAnthropic(JsonObj(m, "usage"));
  v.usage = UsageFromAnthropic(JsonObj(j, "usage"));
  v.error_message = JsonStr(JsonObj(j, "error"), "message");
  v.error_type = JsonStr(JsonObj(j, "error"), "type");
  return v;
}

AnthropicEventView ReadAnthropicEvent(std::string_view data) {
  if (auto fast = ReadAnthropicEventSimdjson(data)) return std::move(*fast);
  return ReadAnthropicEventTree(data);
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
