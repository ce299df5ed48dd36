#include "dialect/canonical.h"

#include <algorithm>

namespace triage::dialect {

StopReason StopFromOpenAI(std::string_view f) {
  if (f == "length") return StopReason::kMaxTokens;
  if (f == "tool_calls" || f == "function_call") return StopReason::kToolUse;
  if (f == "content_filter") return StopReason::kRefusal;
  return StopReason::kEndTurn;  // "stop" and anything new
}

std::string OpenAIMatchedStop(std::string_view finish_reason, std::string_view stop_reason,
                              std::string_view matched_stop) {
  if (finish_reason != "stop") return "";
  return std::string(stop_reason.empty() ? matched_stop : stop_reason);
}

void ToolCallsStopWithToolUse(CanonicalResponse& r) {
  const bool calls = std::any_of(r.content.begin(), r.content.end(), [](const ContentBlock& b) {
    return b.type == BlockType::kToolUse;
  });
  if (!calls) {
    if (r.stop_reason == StopReason::kToolUse) r.stop_reason = StopReason::kEndTurn;
    return;
  }
  if (r.stop_reason && *r.stop_reason != StopReason::kEndTurn &&
      *r.stop_reason != StopReason::kStopSequence)
    return;
  r.stop_reason = StopReason::kToolUse;
  r.stop_sequence.clear();
}

std::string_view OpenAIFinishReason(StopReason r) {
  switch (r) {
    case StopReason::kEndTurn:
    case StopReason::kStopSequence:
      return "stop";
    case StopReason::kMaxTokens:
      return "length";
    case StopReason::kToolUse:
      return "tool_calls";
    case StopReason::kRefusal:
      return "content_filter";
  }
  return "stop";
}

StopReason StopFromAnthropic(std::string_view s) {
  if (s == "max_tokens" || s == "model_context_window_exceeded") return StopReason::kMaxTokens;
  if (s == "tool_use") return StopReason::kToolUse;
  if (s == "stop_sequence") return StopReason::kStopSequence;
  if (s == "refusal") return StopReason::kRefusal;
  return StopReason::kEndTurn;  // end_turn, pause_turn
}

std::string_view AnthropicStopReason(StopReason r) {
  switch (r) {
    case StopReason::kEndTurn:
      return "end_turn";
    case StopReason::kMaxTokens:
      return "max_tokens";
    case StopReason::kToolUse:
      return "tool_use";
    case StopReason::kStopSequence:
      return "stop_sequence";
    case StopReason::kRefusal:
      return "refusal";
  }
  return "end_turn";
}

CanonicalRequest ToCanonical(const ChatRequest& req) {
  return req.dialect == Dialect::kOpenAI ? CanonicalFromOpenAI(req.body)
                                         : CanonicalFromAnthropic(req.body);
}

}  // namespace triage::dialect
