#pragma once
// The parsed form of a client chat request, shared by every dialect.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace triage::dialect {

enum class Dialect { kOpenAI, kAnthropic };

// Token usage as reported by an upstream, normalised. input_tokens includes cached ones.
struct TokenUsage {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cached_input_tokens = 0;
  int64_t cache_creation_input_tokens = 0;
  bool operator==(const TokenUsage&) const = default;
};
std::string_view DialectName(Dialect d);  // "openai" | "anthropic"

struct ChatRequest {
  Dialect dialect = Dialect::kOpenAI;
  std::string model;  // as the client sent it
  bool stream = false;
  bool include_usage = false;  // OpenAI stream_options.include_usage
  nlohmann::json body;         // the validated request body, in the client's dialect
  int64_t prompt_chars = 0;    // characters of text across system + messages
  int message_count = 0;
  bool has_image = false;
  bool has_audio = false;
  bool has_tools = false;
  // All message text (system and user/assistant turns) joined with "\n", for routing
  // features. Cheap to build once at parse time.
  std::string prompt_text;
  std::string last_user_text;
};

}  // namespace triage::dialect
