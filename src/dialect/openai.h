#pragma once
// OpenAI Chat Completions wire format: request parsing/validation and error bodies.
// Pure functions, no I/O. Thread-safe.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
// OpenAI "type" for a kind: invalid_request_error (also for not found, as OpenAI's 404s),
// authentication_error, permission_error, rate_limit_error, api_error, timeout_error,
// server_error...
std::string_view OpenAIErrorType(ErrorKind kind);

// What the gateway needs to know of one `data:` payload of an OpenAI-compatible stream.
struct ChunkInfo {
  bool has_content = false;  // any choices[].delta content / tool_calls / refusal
  bool has_choices = false;  // `choices` is a non-empty array
  std::optional<TokenUsage> usage;
  std::optional<std::string> finish_reason;
  bool is_error = false;      // unparseable, or an {"error":...} object
  bool error_object = false;  // the {"error":...} object: the upstream's own error event
  std::string error_message;
  // UTF-8 characters of the generated text in the deltas (content, refusal, reasoning,
  // reasoning_content, tool-call and function-call arguments): the output estimate when the
  // upstream reports no usage.
  int64_t text_chars = 0;
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

// One chunk of an OpenAI stream read for translation into Anthropic events: what
// OpenAIToAnthropic needs, read the way its tree walk read it (for duplicate keys the last
// occurrence counts; choices[0] is the first element of the last `choices`).
struct ToolCallDelta {
  int64_t index = 0;       // 0 unless an integer
  bool has_index = false;  // `index` is present and not null (Gemini's and GLM's streams omit it)
  std::string id, name, arguments;
  bool operator==(const ToolCallDelta&) const = default;
};
struct OpenAIChunkView {
  bool is_object = false;
  // An `error` key (even null) fails the stream with this message.
  std::optional<std::string> error;
  std::string id, model;            // top-level strings, "" when absent
  std::optional<TokenUsage> usage;  // as InspectOpenAIChunk reads it
  bool has_choice = false;          // `choices` is a non-empty array
  // Of choices[0] (all empty when it is not an object): delta.content, delta.refusal,
  // finish_reason (strings, "" otherwise), and the object elements of delta.tool_calls.
  std::string content, refusal, finish_reason;
  // The stop string that ended the answer (OpenAIMatchedStop of choices[0]: vLLM's
  // `stop_reason`, SGLang's `matched_stop`), "" when none is named.
  std::string stop_sequence;
  std::vector<ToolCallDelta> tool_calls;
  // UTF-8 characters of delta.reasoning_content and delta.reasoning (vLLM, DeepSeek, Ollama):
  // not translated, but generated output, counted for the estimate of a stream cut early.
  int64_t reasoning_chars = 0;
  bool operator==(const OpenAIChunkView&) const = default;
};
// simdjson, falling back to ReadOpenAIChunkTree for what it refuses. Pure; thread-safe.
OpenAIChunkView ReadOpenAIChunk(std::string_view data);
// The same from nlohmann's tree: the fallback and the reference for tests.
OpenAIChunkView ReadOpenAIChunkTree(std::string_view data);
// simdjson's reading alone; nullopt when it refuses the payload. For tests and benchmarks.
std::optional<OpenAIChunkView> ReadOpenAIChunkSimdjson(std::string_view data);

// Usage of a non-streaming chat.completion; missing usage -> kUpstream error.
Result<TokenUsage> OpenAIResponseUsage(const nlohmann::json& response);

}  // namespace triage::dialect
