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
  // Of cache_creation_input_tokens, those written to a 1-hour cache (Anthropic's
  // usage.cache_creation.ephemeral_1h_input_tokens), which the Messages API bills higher.
  int64_t cache_creation_1h_input_tokens = 0;
  // Web searches the upstream ran (Anthropic's usage.server_tool_use.web_search_requests),
  // billed per search on top of the tokens (price.web_search_per_1k).
  int64_t web_search_requests = 0;
  bool operator==(const TokenUsage&) const = default;
  TokenUsage& operator+=(const TokenUsage& o) {
    input_tokens += o.input_tokens;
    output_tokens += o.output_tokens;
    cached_input_tokens += o.cached_input_tokens;
    cache_creation_input_tokens += o.cache_creation_input_tokens;
    cache_creation_1h_input_tokens += o.cache_creation_1h_input_tokens;
    web_search_requests += o.web_search_requests;
    return *this;
  }
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
  // System instructions (OpenAI system/developer messages, Anthropic's top-level `system`): how
  // many of the messages counted above they are (always 0 for Anthropic, whose `system` is no
  // message), and how many bytes of prompt_text they take, their "\n" joiners included.
  int system_messages = 0;
  size_t system_bytes = 0;
  bool has_image = false;
  bool has_audio = false;
  bool has_tools = false;
  // All message text (system and user/assistant turns) joined with "\n", for routing
  // features. Cheap to build once at parse time.
  std::string prompt_text;
  std::string last_user_text;  // the last user message with text (none: empty)
  // The user message before the last one (empty when there is none): feature set 3 reads it
  // with a short last message, a follow-up whose subject is the turn before.
  std::string prev_user_text;
};

// Appends one text to a prompt_text, "\n" between texts, and keeps *system_bytes the bytes of
// system text in it together with the joiners that separate it from the rest, so that
// prompt_text minus *system_bytes bytes is exactly the other texts joined by "\n".
inline void AppendPromptText(std::string* prompt_text, size_t* system_bytes, std::string_view text,
                             bool system) {
  const bool joined = !prompt_text->empty();
  // A joiner after text that is all system text goes with it.
  const bool after_system_only = joined && prompt_text->size() == *system_bytes;
  if (joined) prompt_text->push_back('\n');
  prompt_text->append(text);
  if (system) {
    *system_bytes += text.size() + (joined ? 1 : 0);
  } else if (after_system_only) {
    *system_bytes += 1;
  }
}

}  // namespace triage::dialect
