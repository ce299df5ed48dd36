// "host:port" parsing for `listen` and --listen. An empty host (":8080") means every IPv4
// interface, 0.0.0.0, as most servers read it. The host must be an IP address or "localhost":
// the listener binds an address and resolves no names, so `check` refuses what `serve` could not
// bind.
#include <arpa/inet.h>

#include <cctype>

#include "config/config.h"

namespace triage::config {

namespace {

// An IPv4 address in dotted-quad form, "localhost", or (in brackets) an IPv6 address with an
// optional zone ("fe80::1%eth0").
bool IsIpLiteral(const std::string& host, bool bracketed) {
  unsigned char buf[16];
  if (bracketed) {
    const std::string addr = host.substr(0, host.find('%'));
    return ::inet_pton(AF_INET6, addr.c_str(), buf) == 1;
  }
  return host == "localhost" || ::inet_pton(AF_INET, host.c_str(), buf) == 1;
}

}  // namespace

Result<std::pair<std::string, uint16_t>> ParseHostPort(const std::string& text,
                                                       const std::string& what) {
  auto fail = [&](const std::string& why) {
    return Error::Make(
        ErrorKind::kInvalidRequest, "invalid_config",
        what + ": " + why + " (expected HOST:PORT, e.g. 127.0.0.1:8080, " + "[::1]:8080 or :8080)");
  };
  std::string host, port;
  const bool bracketed = !text.empty() && text[0] == '[';
  if (bracketed) {
    const size_t close = text.find(']');
    if (close == std::string::npos || close == 1) return fail("bad bracketed IPv6 address");
    if (close + 1 >= text.size() || text[close + 1] != ':') return fail("missing :PORT");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos) return fail("missing :PORT");
    host = text.substr(0, colon);
    if (host.find(':') != std::string::npos) return fail("IPv6 addresses need brackets");
    port = text.substr(colon + 1);
    if (host.empty()) host = "0.0.0.0";
  }
  for (char c : host) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '/' || c == '[' || c == ']') {
      return fail("bad host");
    }
  }
  if (!IsIpLiteral(host, bracketed))
    return fail("host '" + host + "' is not an IP address or localhost (names are not resolved)");
  if (port.empty() || port.size() > 5) return fail("bad port");
  unsigned value = 0;
  for (char c : port) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return fail("bad port");
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return fail("port out of range 0-65535");
  return std::pair<std::string, uint16_t>{host, static_cast<uint16_t>(value)};
}

}  // namespace triage::config
