#pragma once
// What the gateway reads from a non-streaming upstream answer that it passes to the client
// unchanged (same dialect both sides): whether it is an answer at all, and its usage. Pure;
// thread-safe.
#include <optional>
#include <string_view>

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

}  // namespace triage::dialect
