#include "server/cors.h"

#include <algorithm>

namespace triage::server {
namespace {

// What the official SDKs send from a browser (openai 6.x, @anthropic-ai/sdk: client.js and
// internal/detect-platform.js) and what fetch may put in a preflight's request-headers list.
// Lowercase: browsers list the names in lowercase.
constexpr std::string_view kBuiltinHeaders[] = {
    "accept",
    "accept-language",
    "anthropic-beta",
    "anthropic-dangerous-direct-browser-access",
    "anthropic-version",
    "authorization",
    "content-language",
    "content-type",
    "idempotency-key",
    "openai-organization",
    "openai-project",
    "user-agent",
    "x-api-key",
};
// X-Stainless-Lang, -OS, -Arch, -Runtime, -Retry-Count, -Timeout, -Helper-Method, ...
constexpr std::string_view kBuiltinPrefix = "x-stainless-";

// The response fields a browser's script may read besides the CORS-safelisted ones.
constexpr std::string_view kExposed =
    "x-request-id, request-id, retry-after, x-triage-route, x-triage-tier, x-triage-deployment, "
    "x-triage-cost-usd, x-triage-reference-cost-usd, x-triage-usage-estimated, "
    "x-triage-dropped-params, x-triage-simulated, x-triage-hedge";

bool IsTokenChar(char ch) {
  if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(ch) != std::string_view::npos;
}

char Lower(char ch) { return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch + ('a' - 'A')) : ch; }

}  // namespace

Cors::Cors(const config::CorsConfig& config)
    : enabled_(config.enabled()), max_age_(std::to_string(config.max_age_seconds)) {
  for (const std::string& o : config.allow_origins) {
    if (o == "*")
      any_origin_ = true;
    else
      origins_.push_back(o);
  }
  for (const std::string& h : config.allow_headers) {
    if (h == "*")
      any_header_ = true;
    else
      extra_headers_.push_back(h);
  }
}

bool Cors::Allows(std::string_view origin) const {
  if (!enabled_ || origin.empty()) return false;
  if (any_origin_) return true;
  return std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
}

void Cors::AddResponseFields(std::string_view origin, pipeline::Headers& headers) const {
  headers.emplace_back("vary", "Origin");
  if (!Allows(origin)) return;
  headers.emplace_back("access-control-allow-origin", any_origin_ ? "*" : std::string(origin));
  headers.emplace_back("access-control-expose-headers", std::string(kExposed));
}

pipeline::Headers Cors::PreflightFields(std::string_view origin, std::string_view methods,
                                        std::string_view requested_headers) const {
  pipeline::Headers h;
  h.emplace_back("access-control-allow-origin", any_origin_ ? "*" : std::string(origin));
  h.emplace_back("access-control-allow-methods", std::string(methods));
  if (std::string allowed = AllowedRequestHeaders(requested_headers); !allowed.empty())
    h.emplace_back("access-control-allow-headers", std::move(allowed));
  h.emplace_back("access-control-max-age", max_age_);
  h.emplace_back("vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  return h;
}

std::string Cors::AllowedRequestHeaders(std::string_view requested) const {
  std::string out;
  std::string name;
  size_t pos = 0;
  while (pos <= requested.size()) {
    size_t end = requested.find(',', pos);
    if (end == std::string_view::npos) end = requested.size();
    std::string_view item = requested.substr(pos, end - pos);
    pos = end + 1;
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.empty() || !std::all_of(item.begin(), item.end(), IsTokenChar)) continue;
    name.assign(item.size(), '\0');
    std::transform(item.begin(), item.end(), name.begin(), Lower);
    const bool allowed =
        any_header_ || name.starts_with(kBuiltinPrefix) ||
        std::find(std::begin(kBuiltinHeaders), std::end(kBuiltinHeaders), name) !=
            std::end(kBuiltinHeaders) ||
        std::find(extra_headers_.begin(), extra_headers_.end(), name) != extra_headers_.end();
    if (!allowed) continue;
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace triage::server
