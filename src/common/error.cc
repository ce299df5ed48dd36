#include "common/error.h"

namespace triage {

int HttpStatus(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidRequest:
      return 400;
    case ErrorKind::kAuthentication:
      return 401;
    case ErrorKind::kPermission:
      return 403;
    case ErrorKind::kNotFound:
      return 404;
    case ErrorKind::kClientTimeout:
      return 408;
    case ErrorKind::kRequestTooLarge:
      return 413;
    case ErrorKind::kHeadersTooLarge:
      return 431;
    case ErrorKind::kUnsupportedMediaType:
      return 415;
    case ErrorKind::kNotImplemented:
      return 501;
    case ErrorKind::kRateLimit:
      return 429;
    case ErrorKind::kUpstream:
      return 502;
    case ErrorKind::kUnavailable:
      return 503;
    case ErrorKind::kUpstreamTimeout:
      return 504;
    case ErrorKind::kInternal:
      return 500;
  }
  return 500;
}

std::string_view KindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidRequest:
      return "invalid_request";
    case ErrorKind::kAuthentication:
      return "authentication";
    case ErrorKind::kPermission:
      return "permission";
    case ErrorKind::kNotFound:
      return "not_found";
    case ErrorKind::kClientTimeout:
      return "client_timeout";
    case ErrorKind::kRequestTooLarge:
      return "request_too_large";
    case ErrorKind::kHeadersTooLarge:
      return "headers_too_large";
    case ErrorKind::kUnsupportedMediaType:
      return "unsupported_media_type";
    case ErrorKind::kNotImplemented:
      return "not_implemented";
    case ErrorKind::kRateLimit:
      return "rate_limit";
    case ErrorKind::kUpstream:
      return "upstream_error";
    case ErrorKind::kUnavailable:
      return "unavailable";
    case ErrorKind::kUpstreamTimeout:
      return "upstream_timeout";
    case ErrorKind::kInternal:
      return "internal";
  }
  return "internal";
}

}  // namespace triage
