#pragma once
// Internal to config/: the per-section readers LoadString is built from.
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace triage::config::internal {

// Upper bound for every *_ms key: one day. Keeps deadline arithmetic far from overflow.
inline constexpr int64_t kMaxMillis = 86'400'000;

// Reads map[key] as milliseconds into *out; `min` is the smallest accepted value (0 or 1).
void GetMillis(const YAML::Node& map, std::string_view key, const std::string& path, int64_t min,
               Diag& diag, Millis* out);

// Why a tier or deployment name cannot be used, or "" when it can. Names travel in response
// headers (x-triage-tier, x-triage-deployment, x-triage-route) and /metrics labels, so control
// characters (a CR LF would start a header of its own) and the empty name are refused, and so
// are leading or trailing spaces, which every HTTP parser strips from a header value.
std::string NameProblem(std::string_view name);
// NameProblem, and a tier or deployment name shaped like an API key (MaskCredentialWords would
// hide it), which every response header and /metrics label would then carry.
std::string TierOrDeploymentNameProblem(std::string_view name);

// True for values that look like an API key rather than the name of a variable holding one.
bool LooksLikeSecret(std::string_view value);

// One deployment; `tier` is left empty for the caller. Every problem goes to `diag`.
Deployment ParseDeployment(const YAML::Node& node, const std::string& path, Diag& diag);

// Optional sections; each reads its own key of the top-level map into `c`.
void ParseStorage(const YAML::Node& root, Diag& diag, Config& c);
void ParseRouting(const YAML::Node& root, Diag& diag, Config& c);
void ParseLimitsAndServer(const YAML::Node& root, Diag& diag, Config& c);
// server.cors (cors.cc); `server` is the server map.
void ParseCors(const YAML::Node& server, Diag& diag, Config& c);
// Why `origin` (a server.cors.allow_origins entry other than "*") can never equal a browser's
// Origin field, or "" when it can: scheme://host[:port], lowercase, no path, no default port.
std::string OriginProblem(std::string_view origin);
// retry, breaker, spillover, health_checks sections (resilience.cc).
void ParseResilience(const YAML::Node& root, Diag& diag, Config& c);
// tiers[i].hedge (resilience.cc); `path` is the tier's ("tiers[0]").
void ParseTierHedge(const YAML::Node& tier, const std::string& path, Diag& diag, Tier& t);
// weight, max_concurrency, max_queue, queue_timeout_ms of one deployment.
void ParseDeploymentBalancing(const YAML::Node& node, const std::string& path, Diag& diag,
                              Deployment& d);
// health_check and health_check_path of one deployment (after its provider is read).
void ParseDeploymentHealthCheck(const YAML::Node& node, const std::string& path, Diag& diag,
                                Deployment& d);
// request: of one deployment (after its provider is read): drop_params, extra_body,
// max_tokens_field, max_output_tokens (request_shaping.cc).
void ParseDeploymentRequest(const YAML::Node& node, const std::string& path, Diag& diag,
                            Deployment& d);
// routing.fallback value; health_checks.timeout_ms within the interval; spillover tiers exist and
// can trigger (fills from/to defaults).
void CheckResilience(Config& c, Diag& diag);

// Cross-checks after tiers are known: default_tier exists, thresholds count matches.
void CheckRouting(const Config& c, Diag& diag);

}  // namespace triage::config::internal
