#pragma once
// Streaming translation: consumes an upstream's SSE events (OpenAI chunks or Anthropic events)
// and produces the client's SSE frames, in its dialect, tracking usage and completion.
// Same-dialect streams pass their events through (re-framed, content unchanged).
// Not thread-safe: one translator per upstream attempt.
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/error.h"
#include "dialect/sse.h"
#include "dialect/types.h"

namespace triage::dialect {

class StreamTranslator {
 public:
  struct Step {
    std::string frames;    // client SSE frames to send now (may be empty)
    bool content = false;  // this event carried real content (text, tool call, refusal)
    // UTF-8 characters of the generated text the event carried (text, reasoning, tool
    // arguments): what the output is estimated from when the upstream reports no usage.
    int64_t text_chars = 0;
    std::optional<std::string> error;  // malformed event or an upstream error event
    bool upstream_error = false;       // `error` is the upstream's own error event
    // An Anthropic error event's error.type ("overloaded_error"), so the client's error can keep
    // it; "" otherwise.
    std::string error_type;
  };
  virtual ~StreamTranslator() = default;
  // One upstream event.
  virtual Step Feed(const SseEvent& event) = 0;
  // True once the upstream said the answer is complete (OpenAI: a finish_reason or [DONE];
  // Anthropic: message_stop). A stream that ends before is truncated.
  virtual bool complete() const = 0;
  // True once the upstream sent the stream's terminal event (OpenAI: `data: [DONE]`;
  // Anthropic: message_stop). Nothing after it belongs to the answer: later events are
  // ignored (Feed returns an empty Step), and the caller need not read the rest of the body.
  virtual bool ended() const = 0;
  // Usage reported so far (input from the start, output from the end of the stream).
  virtual const TokenUsage& usage() const = 0;
  virtual bool usage_reported() const = 0;
  // The frames that close a successful stream, sent after accounting: the final usage
  // (OpenAI: only when `include_usage`), `triage` (an object with the request's tier and cost,
  // attached to the last event), an SSE comment with the cost, and the terminal event.
  // `billed`, when given, is the answer's usage as the request is billed for it (the ledger's:
  // the upstream's report, or triage's estimate where it reported nothing): the usage the
  // translator writes itself (an OpenAI usage chunk, a translated message_delta) says those
  // tokens, and a held upstream usage chunk that says other counts gets them. nullptr: the
  // usage as reported. (An Anthropic upstream's own message_delta is held and passes through
  // unchanged when `billed` is what it reported, else with the billed counts in its usage.)
  virtual std::string Finish(const nlohmann::json& triage, bool include_usage,
                             const std::string& cost_comment,
                             const TokenUsage* billed = nullptr) = 0;
  // A well-formed error event in the client's dialect, ending a stream that failed after
  // content was sent.
  virtual std::string ErrorFrame(const Error& error) const = 0;
};

// `model` names the model in frames the translator must create itself.
std::unique_ptr<StreamTranslator> MakeStreamTranslator(Dialect upstream, Dialect client,
                                                       const std::string& model);

}  // namespace triage::dialect
