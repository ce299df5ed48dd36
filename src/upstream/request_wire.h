#pragma once
// The bytes of one upstream HTTP/1.1 POST (request line, header fields, body) in one buffer,
// so that a request goes out in a single write. Byte for byte what Beast's serializer writes for
// the http::request<string_body> built with set(Host), set(User-Agent), set(Content-Type),
// set(each header), keep_alive(true) and prepare_payload() (tests/upstream/request_wire_test.cc
// checks that). Pure; thread-safe.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "upstream/url.h"

namespace triage::upstream {

// The Host field for `url`: the host ([bracketed] when IPv6) plus ":port" unless the port is
// the scheme's default (RFC 9110 7.2).
std::string HostField(const Url& url);

// headers are applied like Beast's `set`: a later field replaces an earlier one of the same
// name (ASCII case ignored), which also lets a deployment override Content-Type or User-Agent.
// REQUIRES: no Host, Connection, Content-Length or Transfer-Encoding among headers; names and
// values free of CR and LF; target starts with '/'.
std::string SerializePost(std::string_view target, std::string_view host,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          std::string_view body);

}  // namespace triage::upstream
