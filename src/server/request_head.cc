#include "server/request_head.h"

#include <cctype>

#include "common/hex.h"

namespace triage::server {

namespace {

// RFC 9110 5.6.2 tchar.
bool IsTokenChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

}  // namespace

std::string_view PathOf(std::string_view target) {
  // RFC 9112 3.2.2: a server must accept the absolute-form, which names the resource of its path
  // ("http://host:8080/v1/models?x=1" is "/v1/models"; an empty path is "/").
  if (!target.empty() && target.front() != '/') {
    size_t scheme = 0;
    if (StartsWithIgnoreCase(target, "http://"))
      scheme = 7;
    else if (StartsWithIgnoreCase(target, "https://"))
      scheme = 8;
    if (scheme != 0) {
      const size_t path = target.find_first_of("/?#", scheme);
      if (path == std::string_view::npos || target[path] != '/') return "/";
      target.remove_prefix(path);
    }
  }
  return target.substr(0, target.find('?'));
}

namespace {

// RFC 3986 2.3.
bool IsUnreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

}  // namespace

std::string_view NormalPath(std::string_view path, std::string* storage, bool* malformed) {
  *malformed = false;
  if (path.empty() || path.front() != '/') return path;
  bool normal = true;
  for (size_t i = 0; i < path.size() && normal; ++i) {
    if (path[i] == '%') normal = false;
    if (path[i] == '/' && i + 1 < path.size() && (path[i + 1] == '/' || path[i + 1] == '.'))
      normal = false;
  }
  if (normal) return path;
  // Percent-encoding normalisation (6.2.2.2) first, then dot segments (6.2.2.3), so that
  // "%2E%2E" is a ".." segment.
  std::string decoded;
  decoded.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c != '%') {
      decoded += c;
      continue;
    }
    const int hi = i + 1 < path.size() ? HexDigitValue(path[i + 1]) : -1;
    const int lo = i + 2 < path.size() ? HexDigitValue(path[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      *malformed = true;
      decoded += c;
      continue;
    }
    const char byte = static_cast<char>(hi * 16 + lo);
    if (IsUnreserved(byte)) {
      decoded += byte;
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      decoded += '%';
      decoded += kHex[hi];
      decoded += kHex[lo];
    }
    i += 2;
  }
  // Segments after the leading '/'; empty, "." and ".." ones leave a trailing slash when last
  // ("/v1/models/." is "/v1/models/"), as in RFC 3986 5.2.4.
  std::string& out = *storage;
  out.clear();
  std::string_view rest = std::string_view(decoded).substr(1);
  bool trailing = false;
  for (;;) {
    const size_t slash = rest.find('/');
    const std::string_view seg = rest.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    trailing = false;
    if (seg == "..") {
      const size_t cut = out.rfind('/');
      out.resize(cut == std::string::npos ? 0 : cut);
      trailing = true;
    } else if (seg.empty() || seg == ".") {
      trailing = true;
    } else {
      out += '/';
      out += seg;
    }
    if (last) break;
    rest.remove_prefix(slash + 1);
  }
  if (trailing || out.empty()) out += '/';
  return out;
}

Route RouteOf(std::string_view path) {
  if (path == "/v1/chat/completions") return Route::kChatCompletions;
  if (path == "/v1/messages") return Route::kMessages;
  if (path == "/v1/messages/count_tokens") return Route::kCountTokens;
  if (path == "/v1/models") return Route::kModels;
  if (path == "/healthz") return Route::kHealthz;
  if (path == "/readyz") return Route::kReadyz;
  if (path == "/metrics") return Route::kMetrics;
  return Route::kNone;
}

bool IsChat(Route r) { return r == Route::kChatCompletions || r == Route::kMessages; }

std::string_view AllowOf(Route r) {
  switch (r) {
    case Route::kChatCompletions:
    case Route::kMessages:
    case Route::kCountTokens:
      return "POST";
    case Route::kNone:
    case Route::kModels:
    case Route::kHealthz:
    case Route::kReadyz:
    case Route::kMetrics:
      break;
  }
  return "GET, HEAD";
}

std::string_view AllowFieldOf(Route r) {
  return AllowOf(r) == "POST" ? "POST, OPTIONS" : "GET, HEAD, OPTIONS";
}

dialect::Dialect DialectOf(std::string_view path) {
  return path == "/v1/messages" || path.starts_with("/v1/messages/") ? dialect::Dialect::kAnthropic
                                                                     : dialect::Dialect::kOpenAI;
}

std::optional<RequestLine> PeekRequestLine(std::string_view bytes) {
  // RFC 9112 2.2: a server should ignore empty lines before the request line.
  while (bytes.starts_with("\r\n")) bytes.remove_prefix(2);
  const size_t eol = bytes.find("\r\n");
  if (eol == std::string_view::npos) return std::nullopt;
  const std::string_view line = bytes.substr(0, eol);
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return std::nullopt;
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return std::nullopt;
  RequestLine r;
  r.method = line.substr(0, sp1);
  r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  for (char c : r.method)
    if (!IsTokenChar(c)) return std::nullopt;
  for (char c : r.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return std::nullopt;
  if (version == "HTTP/1.1")
    r.version = 11;
  else if (version == "HTTP/1.0")
    r.version = 10;
  else
    return std::nullopt;
  return r;
}

size_t LeadingLineBreaks(std::string_view bytes) {
  size_t n = 0;
  while (n < bytes.size() && (bytes[n] == '\r' || bytes[n] == '\n')) ++n;
  return n;
}

TransferFraming ClassifyTransferEncoding(std::string_view value) {
  int codings = 0;
  int chunked_codings = 0;
  bool last_chunked = false;
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view coding = Trim(value.substr(0, comma));
    if (!coding.empty()) {
      ++codings;
      last_chunked = EqualsIgnoreCase(coding, "chunked");
      if (last_chunked) ++chunked_codings;
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  if (codings == 0) return TransferFraming::kReadable;
  if (!last_chunked || chunked_codings > 1) return TransferFraming::kUnframed;
  return codings == 1 ? TransferFraming::kReadable : TransferFraming::kUnknownCoding;
}

std::string_view ContentCoding(std::string_view value) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view coding = Trim(value.substr(0, comma));
    if (!coding.empty() && !EqualsIgnoreCase(coding, "identity")) return coding;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return {};
}

}  // namespace triage::server
