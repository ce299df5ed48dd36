#pragma once
// What the gateway reads of upstream answers that it passes to the client unchanged (same
// dialect both sides): a non-streaming answer (is it one, its usage), and one event of an
// Anthropic stream (OpenAI stream chunks: InspectOpenAIChunk in openai.h). Each reading uses
// simdjson and falls back to nlohmann's tree for what simdjson refuses. Pure; thread-safe.
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "dialect/canonical.h"
#include "dialect/types.h"

namespace triage::dialect {

struct AnswerInfo {
  bool is_object = false;   // the body is a JSON object
  bool has_answer = false;  // it has the key an answer needs: `choices` (OpenAI), `content`
  // The usage as OpenAIResponseUsage / AnthropicResponseUsage read it; nullopt where they fail.
  std::optional<TokenUsage> usage;
  bool operator==(const AnswerInfo&) const = default;
};

// Reads the body with simdjson; a body simdjson refuses or over 64 KiB goes to
// InspectAnswerTree, so both accept what nlohmann accepts and give the same answer.
AnswerInfo InspectAnswer(Dialect wire, std::string_view body);
// The same from nlohmann's JSON tree: the fallback, and the reference for tests.
AnswerInfo InspectAnswerTree(Dialect wire, std::string_view body);
// simdjson's reading alone: nullopt when it refuses the body. For tests and benchmarks.
std::optional<AnswerInfo> InspectAnswerSimdjson(Dialect wire, std::string_view body);

// A non-streaming answer read whole, to be translated into the other dialect: what
// InspectAnswer reads of it, and the canonical answer ParseOpenAIResponse /
// ParseAnthropicResponse make of its tree.
struct AnswerReading {
  AnswerInfo info;
  // Set when info.is_object: the canonical answer, or the parser's kUpstream error.
  std::optional<Result<CanonicalResponse>> response;
};
// Reads the body with simdjson; what simdjson refuses, bodies over 64 KiB and shapes it does
// not handle (a tool input with an integer 0 in a body holding "-0") go to ReadAnswerTree, so both
// give the same reading.
AnswerReading ReadAnswer(Dialect wire, std::string_view body);
// The same from nlohmann's tree (what ConvertUnary did before): the fallback and the reference.
AnswerReading ReadAnswerTree(Dialect wire, std::string_view body);
// simdjson's reading alone: nullopt when it does not read the body. For tests and benchmarks.
std::optional<AnswerReading> ReadAnswerSimdjson(Dialect wire, std::string_view body);

// One `data:` payload of an Anthropic stream, read for what AnthropicPassThrough needs.
struct AnthropicEventInfo {
  bool is_object = false;
  std::string type;                // the payload's `type` when a string, else ""
  std::string error_message;       // error.message when a string, else ""
  std::string error_type;          // error.type when a string ("overloaded_error"), else ""
  bool has_message = false;        // a `message` key (message_start)
  TokenUsage message_usage;        // UsageFromAnthropic of message.usage (zeros when absent)
  TokenUsage usage;                // UsageFromAnthropic of the top-level usage (message_delta)
  std::string content_block_type;  // content_block.type when a string (content_block_start)
  // UTF-8 characters of delta.text, delta.partial_json and delta.thinking: the output
  // estimate when the upstream reports no usage.
  int64_t text_chars = 0;
  bool operator==(const AnthropicEventInfo&) const = default;
};

// simdjson, falling back to InspectAnthropicEventTree for what it refuses.
AnthropicEventInfo InspectAnthropicEvent(std::string_view data);
// The same from nlohmann's JSON tree: the fallback, and the reference for tests.
AnthropicEventInfo InspectAnthropicEventTree(std::string_view data);
// simdjson's reading alone: nullopt when it refuses the payload. For tests and benchmarks.
std::optional<AnthropicEventInfo> InspectAnthropicEventSimdjson(std::string_view data);

// One `data:` payload of an Anthropic stream, read for what the Anthropic-upstream,
// OpenAI-client stream translator needs. Strings are "" and numbers 0 when absent or of
// another type; the objects read are the last of their key.
struct AnthropicEventView {
  bool is_object = false;
  std::string type;                              // `type`
  std::string error_message;                     // error.message
  std::string error_type;                        // error.type ("overloaded_error")
  std::string message_id, message_model;         // message.id, message.model (message_start)
  TokenUsage message_usage;                      // UsageFromAnthropic of message.usage
  TokenUsage usage;                              // UsageFromAnthropic of usage (message_delta)
  int64_t index = 0;                             // `index` when an integer (JsonInteger)
  std::string block_type, block_id, block_name;  // content_block.type, .id, .name
  // delta.type, delta.text, delta.partial_json, delta.stop_reason
  std::string delta_type, delta_text, delta_partial_json, delta_stop_reason;
  // UTF-8 characters of delta.thinking (a thinking_delta): generated, billed as output, but
  // with no OpenAI equivalent to carry it; counted for the estimate when usage is missing.
  int64_t delta_thinking_chars = 0;
  bool operator==(const AnthropicEventView&) const = default;
};
// simdjson, falling back to ReadAnthropicEventTree for what it refuses.
AnthropicEventView ReadAnthropicEvent(std::string_view data);
// The same from nlohmann's tree: the fallback and the reference for tests.
AnthropicEventView ReadAnthropicEventTree(std::string_view data);
// simdjson's reading alone; nullopt when it refuses the payload. For tests and benchmarks.
std::optional<AnthropicEventView> ReadAnthropicEventSimdjson(std::string_view data);

}  // namespace triage::dialect
