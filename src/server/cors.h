#pragma once
// CORS (server.cors): the fields a response to a browser carries, and the answer to a preflight
// (an OPTIONS request a browser sends before a cross-origin request it may not send unasked).
// Built once from the config at start; immutable, thread-safe. While the config's allow_origins
// is empty the session checks enabled() and nothing else: no CORS work, no allocation.
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "pipeline/client_writer.h"

namespace triage::server {

class Cors {
 public:
  explicit Cors(const config::CorsConfig& config);

  bool enabled() const { return enabled_; }

  // Whether a request with this Origin field value may read the responses (exact, case-sensitive
  // match, as browsers serialize origins; any origin with "*").
  bool Allows(std::string_view origin) const;

  // The fields of an actual (non-preflight) response, appended to `headers`: `Vary: Origin`
  // always (the answer depends on the Origin, so a cache must key on it); for an allowed
  // `origin` (non-empty) also Access-Control-Allow-Origin (the origin, or "*" when every origin
  // is allowed) and Access-Control-Expose-Headers (the x-request-id, request-id, retry-after
  // and x-triage-* fields clients read). REQUIRES: enabled().
  void AddResponseFields(std::string_view origin, pipeline::Headers& headers) const;

  // The fields of the 204 answering a preflight from an allowed origin: Allow-Origin, Vary,
  // Allow-Methods (`methods`, the route's), Allow-Headers (the requested ones allowed, see
  // AllowedRequestHeaders; absent when none), Max-Age. REQUIRES: enabled(), Allows(origin).
  pipeline::Headers PreflightFields(std::string_view origin, std::string_view methods,
                                    std::string_view requested_headers) const;

  // Of an Access-Control-Request-Headers value (comma-separated names), the names allowed, in
  // lowercase, joined by ", ": the built-in list (what the OpenAI and Anthropic SDKs send:
  // authorization, content-type, x-api-key, anthropic-*, openai-organization, openai-project,
  // idempotency-key, x-stainless-*, ...) and allow_headers; every well-formed name when
  // allow_headers is ["*"]. Names that are not tokens are dropped.
  std::string AllowedRequestHeaders(std::string_view requested) const;

 private:
  bool enabled_ = false;
  bool any_origin_ = false;
  bool any_header_ = false;
  std::vector<std::string> origins_;
  std::vector<std::string> extra_headers_;
  std::string max_age_;
};

}  // namespace triage::server
