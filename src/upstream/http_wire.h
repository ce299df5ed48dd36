#pragma once
// HTTP/1.1 messages written as one buffer (start line, header fields, Content-Length, body), so
// that a message goes out in a single write. Byte for byte what Beast's serializer writes for
// the same message (tests/upstream/http_wire_test.cc and tests/server/wire_test.cc check that).
// Pure; thread-safe.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "upstream/url.h"

namespace triage::upstream {

// Header fields in the order they will be written; views into strings the caller keeps alive.
using FieldList = std::vector<std::pair<std::string_view, std::string_view>>;

// Beast's `set`: removes every field named `name` (ASCII case ignored), then appends it.
void SetField(FieldList& fields, std::string_view name, std::string_view value);

// start_line (without CRLF) and each field, each line ended by CRLF; no blank line after.
void AppendHead(std::string& out, std::string_view start_line, const FieldList& fields);

// start_line (without CRLF), then each field, then Content-Length and the body.
// REQUIRES: no Content-Length or Transfer-Encoding among fields; no CR or LF in names/values.
std::string SerializeMessage(std::string_view start_line, const FieldList& fields,
                             std::string_view body);

// The Host field for `url`: the host ([bracketed] when IPv6) plus ":port" unless the port is
// the scheme's default (RFC 9110 7.2).
std::string HostField(const Url& url);

// An upstream request: Host, User-Agent: triage/VERSION and, for a POST, Content-Type:
// application/json, then `headers` applied with SetField (so a header may override the fixed
// ones). Content-Length as Beast's prepare_payload writes it: always for POST, PUT and OPTIONS
// and for any non-empty body; a GET without a body has none (and no Content-Type).
// REQUIRES: method is an upper-case token (not TRACE); no Host, Connection, Content-Length or
// Transfer-Encoding among headers; target starts with '/'.
std::string SerializeRequest(std::string_view method, std::string_view target,
                             std::string_view host,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             std::string_view body);

// SerializeRequest("POST", ...).
inline std::string SerializePost(std::string_view target, std::string_view host,
                                 const std::vector<std::pair<std::string, std::string>>& headers,
                                 std::string_view body) {
  return SerializeRequest("POST", target, host, headers, body);
}

}  // namespace triage::upstream
