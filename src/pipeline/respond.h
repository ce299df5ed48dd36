#pragma once
// The respond phase for non-streaming answers: the upstream's body in the client's dialect,
// and the usage it reports. Pure; thread-safe.
#include <optional>
#include <string>

#include "common/result.h"
#include "dialect/types.h"

namespace triage::pipeline {

struct UnaryAnswer {
  std::string body;  // in the client's dialect
  dialect::TokenUsage usage;
  bool usage_reported = false;
  // When no usage was reported: UTF-8 characters of the answer's text, thinking and tool
  // arguments, what the output tokens are estimated from (0 when usage was reported).
  int64_t text_chars = 0;
};

// `upstream_body` is a 2xx answer in `wire` dialect. Same dialect: passed through unchanged.
// Errors (kUpstream, "upstream_bad_response"): not JSON, or not a chat answer of that dialect.
// `usage_seen`, when given, receives the usage the upstream reported whenever the body was a
// JSON object carrying one, even when the answer is refused as malformed (no choices, bad
// content): the failed attempt's reported tokens are billed and go into the ledger row.
Result<UnaryAnswer> ConvertUnary(dialect::Dialect wire, dialect::Dialect client,
                                 std::string upstream_body,
                                 std::optional<dialect::TokenUsage>* usage_seen = nullptr);

}  // namespace triage::pipeline
