#pragma once
// OpenAI Chat Completions wire format: request parsing/validation and error bodies.
// Pure functions, no I/O. Thread-safe.
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "dialect/types.h"

namespace triage::dialect {

// Parses and validates a /v1/chat/completions body. Errors are kInvalidRequest with a message
// naming the field ("messages: required", "messages[2].role: expected a string", "body: empty",
// "body: invalid JSON at byte 17: ...", "body: JSON nested deeper than 64 levels").
// REQUIRES: max_depth > 0.
Result<ChatRequest> ParseOpenAIChat(std::string_view body, int max_depth);

// {"error":{"message":..., "type":..., "param":null, "code":...}}
std::string OpenAIErrorBody(const Error& error);
// OpenAI "type" for a kind: invalid_request_error, authentication_error, permission_error,
// not_found_error, rate_limit_error, api_error, timeout_error, server_error...
std::string_view OpenAIErrorType(ErrorKind kind);

// What the gateway needs to know of one `data:` payload of an OpenAI-compatible stream.
struct ChunkInfo {
  bool has_content = false;  // any choices[].delta content / tool_calls / refusal
  bool has_choices = false;  // `choices` is a non-empty array
  std::optional<TokenUsage> usage;
  std::optional<std::string> finish_reason;
  bool is_error = false;  // unparseable, or an {"error":...} object
  std::string error_message;
  bool operator==(const ChunkInfo&) const = default;
};
// "[DONE]" -> all false. Reads the payload with simdjson (the hot read path: every event of
// every OpenAI stream); a payload simdjson refuses (malformed, but also integers beyond 64
// bits, a byte-order mark, payloads over 64 KiB) goes to InspectOpenAIChunkTree, so both
// accept exactly what nlohmann accepts and give the same answer. For duplicate keys the last
// occurrence counts, as in a parsed object. Pure; thread-safe (one parser per thread).
ChunkInfo InspectOpenAIChunk(std::string_view data);
// The same from nlohmann's JSON tree: the fallback above, and the reference the simdjson
// reading is tested and fuzzed against.
ChunkInfo InspectOpenAIChunkTree(std::string_view data);
// simdjson's reading alone: nullopt when simdjson refuses the payload (what
// InspectOpenAIChunk then hands to the tree). For tests and benchmarks.
std::optional<ChunkInfo> InspectOpenAIChunkSimdjson(std::string_view data);

// Usage of a non-streaming chat.completion; missing usage -> kUpstream error.
Result<TokenUsage> OpenAIResponseUsage(const nlohmann::json& response);

}  // namespace triage::dialect
