#pragma once
// The parsed form of a client chat request, shared by every dialect.
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace triage::dialect {

enum class Dialect { kOpenAI, kAnthropic };
std::string_view DialectName(Dialect d);  // "openai" | "anthropic"

struct ChatRequest {
  Dialect dialect = Dialect::kOpenAI;
  std::string model;           // as the client sent it
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
