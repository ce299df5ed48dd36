#include "upstream/url.h"

#include <charconv>

#include "common/secrets.h"

namespace triage::upstream {

Result<Url> ParseUrl(std::string_view text) {
  auto bad = [&](std::string why) {
    return Error::Make(ErrorKind::kInternal, "bad_url",
                       "invalid URL '" + UrlForDisplay(text) + "': " + why);
  };
  Url url;
  std::string_view rest;
  if (text.starts_with("http://")) {
    rest = text.substr(7);
  } else if (text.starts_with("https://")) {
    url.tls = true;
    rest = text.substr(8);
  } else {
    return bad("expected http:// or https://");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (authority.empty()) return bad("missing host");
  std::string_view host = authority, port;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("garbage after IPv6 address");
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return bad("missing host");
  if (!port.empty()) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535)
      return bad("invalid port");
  }
  url.host = std::string(host);
  url.port = port.empty() ? (url.tls ? "443" : "80") : std::string(port);
  url.path = std::string(path);
  return url;
}

}  // namespace triage::upstream
