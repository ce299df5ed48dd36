#pragma once
// The respond phase for non-streaming answers: the upstream's body in the client's dialect,
// and the usage it reports. Pure; thread-safe.
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "dialect/types.h"

namespace triage::pipeline {

struct UnaryAnswer {
  std::string body;  // in the client's dialect
  dialect::TokenUsage usage;
  bool usage_reported = false;
  // When no usage was reported, or it reported 0 output tokens: UTF-8 characters of the
  // answer's text, thinking and tool arguments, what the output tokens are estimated from (0
  // when a non-zero output count was reported).
  int64_t text_chars = 0;
};

// `upstream_body` is a 2xx answer in `wire` dialect. Same dialect: passed through unchanged.
// Errors (kUpstream, "upstream_bad_response"): not JSON, not a chat answer of that dialect, or
// nested deeper than dialect::kMaxAnswerJsonDepth (checked first, so no tree is built then).
// `usage_seen`, when given, receives the usage the upstream reported whenever the body was a
// JSON object carrying one, even when the answer is refused as malformed (no choices, bad
// content): the failed attempt's reported tokens are billed and go into the ledger row. A body
// refused as too deep is not read, so its usage is not seen.
// `refused_text_chars`, when given, receives ReceivedTextChars of a refused body (what the
// failed attempt's output is estimated from when it reported no usage).
Result<UnaryAnswer> ConvertUnary(dialect::Dialect wire, dialect::Dialect client,
                                 std::string upstream_body,
                                 std::optional<dialect::TokenUsage>* usage_seen = nullptr,
                                 int64_t* refused_text_chars = nullptr);

// `body` (a non-streamed answer in `client`'s dialect, as ConvertUnary returned it) with its
// `usage` saying `billed`, the answer's tokens as the request is billed for them, when the
// upstream reported none or counts that were not believable and the row bills triage's
// estimate: OpenAI `prompt_tokens`, `completion_tokens`, `total_tokens`; Anthropic
// `input_tokens` (uncached), `output_tokens`; a body without `usage` gets one. Other members
// are kept in their order. A body that is not a JSON object is returned unchanged.
std::string WithBilledUsage(dialect::Dialect client, std::string body,
                            const dialect::TokenUsage& billed);

// UTF-8 characters of the generated text in a non-streamed answer's body (either dialect) that
// may be malformed or cut anywhere (a connection lost mid-body, a body over
// limits.max_response_bytes): the string values of the members that carry generated text
// (`content`, `text`, `refusal`, `reasoning_content`, `reasoning`, `thinking`, `arguments`),
// and the whole value of an Anthropic tool_use's `input`, as far as they were received. A
// string escape counts as one character. What was not received is not counted: a lower bound
// of what the upstream generated. Linear, no tree, never fails.
int64_t ReceivedTextChars(std::string_view body);

}  // namespace triage::pipeline
