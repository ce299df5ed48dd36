// libFuzzer target: a preflight's Access-Control-Request-Headers value, which triage echoes in
// part. Whatever comes in, what goes out is lowercase header names (tokens) joined by ", ", and
// at most about one and a half times the request's field (the ", " between names).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/cors.h"

namespace {

bool IsTokenChar(char ch) {
  if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(ch) != std::string_view::npos;
}

void Check(const triage::server::Cors& cors, std::string_view requested) {
  const std::string out = cors.AllowedRequestHeaders(requested);
  if (out.size() > requested.size() + requested.size() / 2 + 2) std::abort();
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find(", ", pos);
    if (end == std::string::npos) end = out.size();
    const std::string_view name(out.data() + pos, end - pos);
    if (name.empty()) std::abort();
    for (char ch : name)
      if (!IsTokenChar(ch)) std::abort();
    pos = end + 2;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s(reinterpret_cast<const char*>(data), size);
  triage::config::CorsConfig c;
  c.allow_origins = {"https://app.example.com"};
  c.allow_headers = {"x-tenant"};
  Check(triage::server::Cors(c), s);
  c.allow_headers = {"*"};
  Check(triage::server::Cors(c), s);
  return 0;
}
