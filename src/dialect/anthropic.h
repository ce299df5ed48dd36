#pragma once
// Anthropic Messages wire format: request parsing/validation and error bodies.
// Pure functions, no I/O. Thread-safe.
#include <string>
#include <string_view>

#include "common/result.h"
#include "dialect/types.h"

namespace triage::dialect {

// Parses and validates a /v1/messages body into a ChatRequest (dialect kAnthropic) with the same
// summary fields as ParseOpenAIChat. Errors are kInvalidRequest naming the field.
// count_tokens bodies have no max_tokens: pass require_max_tokens=false. REQUIRES: max_depth > 0.
Result<ChatRequest> ParseAnthropicMessages(std::string_view body, int max_depth,
                                           bool require_max_tokens = true);

// {"type":"error","error":{"type":...,"message":...},"request_id":...} as the Messages API writes
// it; request_id only when one is given (errors raised before a request has an id have none).
std::string AnthropicErrorBody(const Error& error, std::string_view request_id = {});
// invalid_request_error, authentication_error, permission_error, not_found_error,
// request_too_large, rate_limit_error, api_error, overloaded_error (503 and upstream 529),
// timeout_error.
std::string_view AnthropicErrorType(const Error& error);
// Anthropic's status for an error: HttpStatus(kind) except 529 for overloaded upstreams.
int AnthropicHttpStatus(const Error& error);

}  // namespace triage::dialect
