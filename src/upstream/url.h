#pragma once
// Parsed upstream base URL (http or https). Pure; thread-safe.
#include <string>
#include <string_view>

#include "common/result.h"

namespace triage::upstream {

struct Url {
  bool tls = false;
  std::string host;
  std::string port;  // always set: "80"/"443" by default
  std::string path;  // without trailing slash, e.g. "/v1"; "" for none
};

// Accepts "http://host[:port][/path]" and "https://..."; IPv6 as "[::1]".
Result<Url> ParseUrl(std::string_view text);

}  // namespace triage::upstream
