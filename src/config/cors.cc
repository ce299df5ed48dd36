// server.cors: the browser origins allowed to call the gateway, checked against what a browser
// actually sends in its Origin field, so that an entry that could never match is an error.
#include <algorithm>
#include <set>

#include "config/parse.h"

namespace triage::config::internal {
namespace {

constexpr int64_t kMaxAgeCap = 86400;  // Firefox's cap; Chromium caps at 7200

bool IsTokenChar(char ch) {
  if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(ch) != std::string_view::npos;
}

bool AllDigits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

// Reads map[key] as a list of strings; false (error added) when it is not one.
bool GetStringList(const YAML::Node& map, std::string_view key, const std::string& path, Diag& diag,
                   std::vector<std::string>* out) {
  if (!Has(map, key)) return false;
  const YAML::Node list = map[std::string(key)];
  const std::string at = Child(path, key);
  if (!list.IsSequence()) {
    diag.Add(at, "expected a list of strings");
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].IsScalar()) {
      diag.Add(Index(at, i), "expected a string");
      ok = false;
      continue;
    }
    out->push_back(list[i].Scalar());
  }
  return ok;
}

}  // namespace

std::string OriginProblem(std::string_view origin) {
  const size_t sep = origin.find("://");
  const std::string_view example =
      " (an origin is scheme://host[:port], e.g. https://app.example.com)";
  if (origin == "null")
    return "'null' is refused: it is the origin of every sandboxed iframe and file:// page, so "
           "allowing it allows any of them";
  if (sep == std::string_view::npos || sep == 0) return "missing scheme" + std::string(example);
  const std::string_view scheme = origin.substr(0, sep);
  const std::string_view rest = origin.substr(sep + 3);
  const bool scheme_ok = scheme[0] >= 'a' && scheme[0] <= 'z' &&
                         std::all_of(scheme.begin(), scheme.end(), [](char ch) {
                           return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                                  ch == '+' || ch == '-' || ch == '.';
                         });
  if (!scheme_ok) {
    const bool upper =
        std::any_of(scheme.begin(), scheme.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
    if (upper) return "must be lowercase: browsers send the scheme and host in lowercase";
    return "invalid scheme" + std::string(example);
  }
  if (rest.empty()) return "missing host" + std::string(example);
  if (rest.find('/') != std::string_view::npos) {
    if (rest.back() == '/' && rest.find('/') == rest.size() - 1)
      return "must not end with '/': browsers send the origin without a path (" +
             std::string(origin.substr(0, origin.size() - 1)) + ")";
    return "must not have a path: browsers send only scheme://host[:port]";
  }
  for (char ch : rest) {
    if (ch >= 'A' && ch <= 'Z')
      return "must be lowercase: browsers send the scheme and host in lowercase";
    if (ch == '*') return "wildcards are not supported: list each origin, or use '*' alone";
    if (static_cast<unsigned char>(ch) >= 0x80)
      return "must be ASCII: browsers send an internationalized host in punycode (xn--...)";
    if (static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f)
      return "must not contain spaces or control characters";
    if (ch == '?' || ch == '#' || ch == '@')
      return std::string("must not contain '") + ch + "'" + std::string(example);
  }
  // host, [v6] or host:port, [v6]:port
  std::string_view host = rest;
  std::string_view port;
  if (rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return "unclosed '[' in IPv6 host" + std::string(example);
    host = rest.substr(0, close + 1);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "unexpected text after the IPv6 host" + std::string(example);
      port = after.substr(1);
      if (port.empty()) return "empty port" + std::string(example);
    }
  } else if (const size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty()) return "empty port" + std::string(example);
  }
  if (host.empty() || host == "[]") return "missing host" + std::string(example);
  if (!port.empty()) {
    if (!AllDigits(port) || port.size() > 5 || std::stoi(std::string(port)) > 65535 ||
        std::stoi(std::string(port)) == 0 || port.front() == '0')
      return "invalid port '" + std::string(port) + "' (1-65535, no leading zero)";
    if ((scheme == "http" && port == "80") || (scheme == "https" && port == "443"))
      return "the default port " + std::string(port) + " is never in a browser's Origin: write " +
             std::string(scheme) + "://" + std::string(host);
  }
  return "";
}

void ParseCors(const YAML::Node& server, Diag& diag, Config& c) {
  if (!Has(server, "cors")) return;
  const YAML::Node n = server["cors"];
  const std::string path = "server.cors";
  if (!CheckMap(n, path, {"allow_origins", "allow_headers", "max_age_seconds"}, diag)) return;
  std::vector<std::string> origins;
  if (!Has(n, "allow_origins")) {
    diag.Add(Child(path, "allow_origins"),
             "required when server.cors is present (the exact origins allowed, or [\"*\"]; [] "
             "turns CORS off)");
  } else if (GetStringList(n, "allow_origins", path, diag, &origins)) {
    const std::string at = Child(path, "allow_origins");
    bool ok = true;
    std::set<std::string_view> seen;
    const bool any = std::find(origins.begin(), origins.end(), "*") != origins.end();
    if (any && origins.size() > 1) {
      diag.Add(at, "'*' allows every origin: give it alone, or list exact origins without it");
      ok = false;
    }
    for (size_t i = 0; i < origins.size() && !any; ++i) {
      if (const std::string p = OriginProblem(origins[i]); !p.empty()) {
        diag.Add(Index(at, i), "'" + origins[i].substr(0, 200) + "': " + p);
        ok = false;
      } else if (!seen.insert(origins[i]).second) {
        diag.Add(Index(at, i), "'" + origins[i] + "' is listed twice");
        ok = false;
      }
    }
    if (ok) c.cors.allow_origins = std::move(origins);
  }
  std::vector<std::string> headers;
  if (GetStringList(n, "allow_headers", path, diag, &headers)) {
    const std::string at = Child(path, "allow_headers");
    bool ok = true;
    const bool any = std::find(headers.begin(), headers.end(), "*") != headers.end();
    if (any && headers.size() > 1) {
      diag.Add(at, "'*' allows every requested header: give it alone, or list names without it");
      ok = false;
    }
    for (size_t i = 0; i < headers.size() && !any; ++i) {
      std::string& h = headers[i];
      if (h.empty() || !std::all_of(h.begin(), h.end(), IsTokenChar) ||
          h.find('*') != std::string::npos) {
        diag.Add(Index(at, i), "'" + h.substr(0, 200) +
                                   "' is not a header name (letters, digits and !#$%&'+-.^_`|~; "
                                   "no wildcards but '*' alone)");
        ok = false;
      }
      std::transform(h.begin(), h.end(), h.begin(),
                     [](char ch) { return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch; });
    }
    if (ok) c.cors.allow_headers = std::move(headers);
  }
  if (int64_t age = 0; GetInt(n, "max_age_seconds", path, diag, &age)) {
    if (age < 0 || age > kMaxAgeCap) {
      diag.Add(Child(path, "max_age_seconds"),
               "must be in [0, " + std::to_string(kMaxAgeCap) +
                   "] (0: browsers ask again before every request)");
    } else {
      c.cors.max_age_seconds = age;
    }
  }
}

}  // namespace triage::config::internal
