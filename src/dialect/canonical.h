#pragma once
// Dialect-neutral chat request/response. Both wire formats are parsed into these and rendered
// from them; see docs/dialects.md for the field-by-field mapping. Plain values; thread-compatible.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dialect/types.h"

namespace triage::dialect {

enum class BlockType { kText, kImage, kAudio, kDocument, kToolUse, kToolResult, kThinking };

struct ContentBlock {
  BlockType type = BlockType::kText;
  std::string text;         // kText, kThinking
  std::string media_type;   // kImage/kDocument: "image/png"...; kAudio: format ("wav", "mp3")
  std::string data;         // base64 payload (kImage/kDocument/kAudio) when url is empty
  std::string url;          // kImage/kDocument by reference
  std::string id;           // kToolUse
  std::string name;         // kToolUse
  nlohmann::json input;     // kToolUse arguments (an object)
  std::string tool_use_id;  // kToolResult
  std::vector<ContentBlock> content;  // kToolResult: text and image blocks
  bool is_error = false;              // kToolResult
};

enum class Role { kUser, kAssistant };

struct Message {
  Role role = Role::kUser;
  std::vector<ContentBlock> content;
};

struct Tool {
  std::string name;
  std::string description;
  nlohmann::json input_schema;  // JSON schema object
  // Inputs must follow the schema (Anthropic `strict: true` -> OpenAI `function.strict`).
  bool strict = false;
};

struct ToolChoice {
  enum Kind { kAuto, kAny, kNone, kTool } kind = kAuto;
  std::string name;  // kTool
  bool disable_parallel = false;
};

struct CanonicalRequest {
  std::string model;
  std::vector<ContentBlock> system;  // text blocks
  std::vector<Message> messages;
  std::vector<Tool> tools;
  std::optional<ToolChoice> tool_choice;
  std::optional<int64_t> max_tokens;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> top_k;
  std::vector<std::string> stop;
  std::optional<std::string> user;  // OpenAI `user` <-> Anthropic metadata.user_id
  bool stream = false;
  // Structured output: the JSON schema the answer must follow (OpenAI response_format json_schema
  // <-> Anthropic output_config.format). nullopt = free text.
  std::optional<nlohmann::json> output_schema;
  // How much effort to spend: OpenAI reasoning_effort <-> Anthropic output_config.effort, one of
  // "low", "medium", "high", "xhigh", "max" (the levels both APIs name alike).
  std::optional<std::string> effort;
  // Source parameters the canonical form cannot carry (e.g. "frequency_penalty"); the target
  // renderer reports them as dropped.
  std::vector<std::string> unmapped;
};

enum class StopReason { kEndTurn, kMaxTokens, kToolUse, kStopSequence, kRefusal };

struct CanonicalResponse {
  std::string id;
  std::string model;
  std::vector<ContentBlock> content;  // kText, kToolUse, kThinking
  std::optional<StopReason> stop_reason;
  std::string stop_sequence;  // when kStopSequence and known
  TokenUsage usage;
};

// OpenAI finish_reason <-> Anthropic stop_reason through the enum.
StopReason StopFromOpenAI(std::string_view finish_reason);  // unknown -> kEndTurn
// The stop string that ended an OpenAI-compatible answer, when the server names it: vLLM in the
// choice's `stop_reason`, SGLang in `matched_stop` (both strings then; an integer there is a stop
// token id such as EOS, not a stop sequence). `finish_reason` "stop" with one is
// kStopSequence; "" when there is none.
std::string OpenAIMatchedStop(std::string_view finish_reason, std::string_view stop_reason,
                              std::string_view matched_stop);
std::string_view OpenAIFinishReason(StopReason r);
// An OpenAI-compatible answer holding tool calls stops with kToolUse unless it was cut short
// (length) or filtered: OpenAI ends a forced call (a named tool_choice, often "required" too)
// with finish_reason "stop", vLLM a named one, where the Messages API always says tool_use.
// One without tool calls never stops with kToolUse (vLLM says "tool_calls" for a "required"
// answer its parser found no call in): kEndTurn, as the Messages API never says tool_use
// without a tool_use block.
void ToolCallsStopWithToolUse(CanonicalResponse& r);
StopReason StopFromAnthropic(std::string_view stop_reason);  // unknown -> kEndTurn
std::string_view AnthropicStopReason(StopReason r);

// Builds the canonical form of an already validated body (from ParseOpenAIChat /
// ParseAnthropicMessages). Never fails: validation happened at parse time.
CanonicalRequest CanonicalFromOpenAI(const nlohmann::json& body);
CanonicalRequest CanonicalFromAnthropic(const nlohmann::json& body);
// Canonical form of any parsed request, by its dialect.
CanonicalRequest ToCanonical(const ChatRequest& req);

}  // namespace triage::dialect
