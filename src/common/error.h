#pragma once
// Dialect-neutral error values. Every refusal and upstream failure is one of these; the
// client's dialect decides how it is rendered (see dialect/openai_errors.h).
#include <string>
#include <string_view>

namespace triage {

enum class ErrorKind {
  kInvalidRequest,        // 400: malformed JSON, wrong types, missing fields
  kAuthentication,        // 401
  kPermission,            // 403
  kNotFound,              // 404: unknown model or route
  kRequestTooLarge,       // 413
  kHeadersTooLarge,       // 431
  kUnsupportedMediaType,  // 415: a request body with a content coding (gzip, br, ...)
  kClientTimeout,         // 408: client too slow to send its request
  kNotImplemented,        // 501: a transfer coding triage does not implement (gzip, chunked)
  kRateLimit,             // 429
  kUpstream,              // 502: upstream answered with an error or garbage
  kUpstreamTimeout,       // 504: upstream did not answer in time
  kUnavailable,           // 503: draining, no deployment available, circuit open
  kInternal,              // 500
};

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string code;         // machine-readable reason, e.g. "model_not_found"
  std::string message;      // human-readable; never contains secrets
  int upstream_status = 0;  // status the upstream returned, when relevant
  // The request member at fault, as a path ("messages[0].content", "temperature"), for OpenAI
  // clients' error.param (the openai SDKs' APIError.param); empty (JSON null) when the fault is
  // not one member's (malformed JSON, an unknown model, an upstream failure).
  std::string param;

  static Error Make(ErrorKind kind, std::string code, std::string message) {
    return Error{kind, std::move(code), std::move(message), 0, {}};
  }
};

// HTTP status for an error kind.
int HttpStatus(ErrorKind kind);
// Short stable name ("invalid_request", "upstream_timeout", ...) used in ledger and metrics.
std::string_view KindName(ErrorKind kind);

}  // namespace triage
