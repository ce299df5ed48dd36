#pragma once
// What the session decides from a request's head before (or instead of) the pipeline: which
// route a path names and which methods it allows, the client's dialect, the request line of a
// head Beast refused, and whether the body carries a content coding. Pure; thread-safe.
#include <optional>
#include <string_view>

#include "dialect/types.h"

namespace triage::server {

enum class Route {
  kNone,             // no such path: 404
  kChatCompletions,  // POST /v1/chat/completions
  kMessages,         // POST /v1/messages
  kCountTokens,      // POST /v1/messages/count_tokens
  kModels,           // GET /v1/models
  kHealthz,          // GET /healthz
  kReadyz,           // GET /readyz
  kMetrics,          // GET /metrics
};

// The target's path, without its query ("/v1/models?x=1" -> "/v1/models"); of an absolute-form
// target, the path after the authority ("http://h:8080/v1/models" -> "/v1/models"; "http://h"
// -> "/"). Other targets (authority-form, "*") are returned as they are (no route matches them).
std::string_view PathOf(std::string_view target);

// The form of a path routes are matched on (RFC 3986 6.2.2): percent-encoded unreserved
// characters decoded (%63hat -> chat, %2D -> -), other escapes kept with uppercase hex (%2f ->
// %2F: an encoded slash never becomes a separator), "." and ".." segments removed and empty
// segments ("//") dropped, as nginx merges slashes; a trailing slash stays (/v1/models/ is
// another resource, 404). A path that needs none of this (no '%', "//" or "/.": nearly every
// request) is returned as it is without copying; otherwise the result is built in `*storage`.
// Sets `*malformed` when a '%' does not start an escape of two hex digits (%zz, a final %);
// those are kept as they are. A target that is not a path ("*", authority-form) is returned.
std::string_view NormalPath(std::string_view path, std::string* storage, bool* malformed);

Route RouteOf(std::string_view path);

// Routes that run the chat pipeline (and so are accounted even when refused early).
bool IsChat(Route r);

// The Allow field of a route: "POST" for the POST routes, "GET, HEAD" for the others (every GET
// route answers HEAD like GET, without the body). REQUIRES: r != Route::kNone.
std::string_view AllowOf(Route r);

// The Allow field of a route's 405 and OPTIONS answers: AllowOf(r) and OPTIONS, which every
// route answers (RFC 9110 9.3.7). REQUIRES: r != Route::kNone.
std::string_view AllowFieldOf(Route r);

// The Allow field of `OPTIONS *` (the server as a whole): every method some route takes.
inline constexpr std::string_view kServerAllow = "GET, HEAD, POST, OPTIONS";

// The dialect a path's client speaks, the same rule the pipeline dispatches on: Anthropic for
// /v1/messages and everything under it, OpenAI otherwise (also when the path is unknown).
dialect::Dialect DialectOf(std::string_view path);

// The request line at the start of `bytes` (raw bytes of a request head, possibly incomplete),
// when it is complete (ends with CRLF) and well formed: a method token, a target, and HTTP/1.0 or
// HTTP/1.1. Used for errors raised before Beast parsed the start line (431, 408, malformed
// heads), so that they can still answer in the client's dialect and HTTP version.
struct RequestLine {
  std::string_view method;
  std::string_view target;
  unsigned version = 11;  // 10 or 11
};
std::optional<RequestLine> PeekRequestLine(std::string_view bytes);

// How many CR and LF bytes `bytes` starts with: the empty lines a server should ignore before a
// request line (RFC 9112 2.2; some clients end a POST body with an extra CRLF).
size_t LeadingLineBreaks(std::string_view bytes);

// What the Transfer-Encoding of a request (the values of all its Transfer-Encoding fields,
// joined by ", "; empty when there is none; ASCII case ignored) says about its body:
// - kReadable: none, or exactly the one coding "chunked";
// - kUnframed: "chunked" is not the final coding, or comes more than once (identity, gzip,
//   chunked, gzip): the body has no knowable length (RFC 9112 6.3: 400, then close), and
//   reading it as empty would parse its body as the next request;
// - kUnknownCoding: "chunked" once and last, after other codings (gzip, chunked): framed, but
//   coded in a way triage does not decode (RFC 9112 6.1: 501 Not Implemented).
enum class TransferFraming { kReadable, kUnframed, kUnknownCoding };
TransferFraming ClassifyTransferEncoding(std::string_view transfer_encoding);

// The first content coding a Content-Encoding field value names, other than "identity" (ASCII
// case ignored; the value is a comma-separated list); empty when the body is not encoded.
std::string_view ContentCoding(std::string_view content_encoding);

}  // namespace triage::server
