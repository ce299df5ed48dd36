#pragma once
// YAML -> immutable Config, validated with messages that name the key at fault.
// Built once and shared read-only as std::shared_ptr<const Config>.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "common/result.h"

namespace triage::config {

using Millis = std::chrono::milliseconds;

struct Timeouts {
  Millis connect{5000};
  Millis first_byte{60000};  // request sent -> first response byte (or first SSE event)
  Millis idle{30000};        // between two reads of the response body
  Millis total{300000};      // whole upstream attempt
};

// Parameters of the in-process simulated provider (provider: sim).
struct SimParams {
  Millis latency{20};  // before the response headers (non-streaming: whole reply)
  Millis ttft{50};     // streaming: time to first token
  double tokens_per_second = 200.0;
  int64_t output_tokens = 64;  // length of every answer
  double error_rate = 0.0;     // share of requests answered with a 500
  uint64_t seed = 1;
};

// tiers[i].deployments[j].request: how the bodies sent to one deployment are shaped
// (docs/config.md#request-shaping). Validated: never removes or sets what a request cannot
// live without (model, messages, stream, stream_options; max_tokens for Anthropic).
struct RequestShaping {
  std::vector<std::string> drop_params;                  // top-level members never sent
  nlohmann::json extra_body = nlohmann::json::object();  // added when the body lacks them
  std::string max_tokens_field;  // "" (as sent), "max_tokens" or "max_completion_tokens"
  std::optional<int64_t> max_output_tokens;  // a larger output limit is lowered to this
  bool operator==(const RequestShaping&) const = default;

  // extra_body as `triage check` shows it: the values under a name LooksLikeSecretName accepts,
  // at any depth, replaced by "[redacted]" (booleans and null are shown: flags, not credentials).
  nlohmann::json ExtraBodyForDisplay() const;
  // The string values ExtraBodyForDisplay hides, for RegisterSecret: an upstream echoing the
  // request body in an error must not show them. Not the numbers: masked by value, a
  // "token_budget: 1000" would hide every "1000" in every error and log line.
  std::vector<std::string> ExtraBodySecrets() const;
};

struct Deployment {
  std::string name;                     // unique across all tiers
  std::string provider;                 // "openai" | "anthropic" | "sim"
  std::string base_url;                 // e.g. http://127.0.0.1:11434/v1 (empty for sim)
  std::string model;                    // the upstream's model name (defaults to catalog id)
  std::string catalog;                  // catalog id, for prices and capabilities
  std::string api_key_env;              // name of an env var holding the key; "" = none
  std::optional<catalog::Price> price;  // override; else the catalog's price
  std::string ca_file;                  // custom CA bundle for HTTPS ("" = system store)
  bool tls_verify = true;
  Timeouts timeouts;
  SimParams sim;
  double weight = 1.0;         // share of the tier's traffic, relative to its siblings
  int max_concurrency = 0;     // requests in flight at once; 0 = unlimited
  int max_queue = 0;           // requests waiting for a slot beyond max_concurrency
  Millis queue_timeout{1000};  // how long one may wait there before the next deployment
  // Active health checks (when health_checks.interval_ms > 0; never for sim): false exempts
  // this deployment; the path is GET on the base URL's host ("" = base URL path + "/models").
  bool health_check = true;
  std::string health_check_path;
  // nullopt (no `request:` section, or an empty one): bodies pass through as they are.
  std::optional<RequestShaping> request;
  std::string tier;  // filled in: the tier this deployment belongs to

  // The target an active health check GETs: health_check_path, else the base URL's path
  // (trailing '/' removed) + "/models", e.g. "/v1/models" for http://host:8000/v1.
  std::string HealthCheckTarget() const;
  // Whether active health checks cover this deployment (not sim, not exempted). The interval
  // (health_checks.interval_ms > 0) is checked by the caller.
  bool HealthChecked() const { return provider != "sim" && health_check; }

  // The price used for accounting: override, else catalog, else nullopt (unknown -> cost 0,
  // flagged in the ledger).
  std::optional<catalog::Price> EffectivePrice() const;
};

// tiers[].hedge: when an attempt on this tier has no first token (a stream's first content, a
// non-streamed answer's 2xx response head) after a delay, a second attempt starts on another
// deployment of the plan; the first to produce its first token answers, the other is
// cancelled. Off unless the tier has a `hedge` section. At most one hedge per request.
struct HedgeConfig {
  bool enabled = false;
  // after: fixed (after_ms) or p95 (the tier's observed time-to-first-token p95, at least
  // min_after_ms, once min_samples first tokens were seen; after_ms until then).
  bool p95 = false;
  Millis after{0};  // after_ms (required)
  Millis min_after{50};
  int min_samples = 20;
};

struct Tier {
  std::string name;
  std::vector<Deployment> deployments;
  HedgeConfig hedge;
};

// The largest limits.max_json_depth accepted. A body that deep still passes every recursive
// JSON walk on an 8 MiB stack with room to spare (the deepest measured, an Anthropic tool schema
// for the sim, crashed at about 70000 levels).
inline constexpr int kMaxJsonDepthCap = 10000;

struct Limits {
  int64_t max_body_bytes = 8 * 1024 * 1024;
  int64_t max_header_bytes = 16 * 1024;
  int max_json_depth = 64;
  int64_t max_response_bytes = 64 * 1024 * 1024;  // largest upstream answer (or SSE event)
  Millis header_timeout{10000};                   // client must send its headers within this
  Millis body_timeout{30000};                     // and its body within this
  Millis keepalive_timeout{60000};                // idle keep-alive connection is closed after this
};

// retry: attempts across the plan, backoff with full jitter, and the retry budget.
struct RetryConfig {
  int max_attempts = 3;
  Millis backoff_base{100};
  Millis backoff_max{2000};
  Millis max_server_wait{10000};  // a longer Retry-After moves on instead of waiting
  // A deployment whose upstream asked to wait (429/503/529 with a stated wait) is skipped by
  // every request for that long, at most this long (0 = off: only the asking request waits).
  Millis cooldown_max{60000};
  // ... once such refusals are at least this share of its last 20 answers within 10 s (a
  // single 429 among many answers starts none); 0 = every one starts it.
  double cooldown_min_share = 0.5;
  double budget_ratio = 0.2;  // retries at most this share of requests ...
  int budget_min = 10;        // ... plus this burst allowance
};

// breaker: per-deployment circuit breakers.
struct BreakerConfig {
  int consecutive_failures = 5;
  double error_rate = 0.5;
  int min_requests = 20;
  Millis window{10000};
  Millis open_for{5000};
  int half_open_probes = 1;
};

// spillover: when the watched (self-hosted) tier is saturated, `auto` requests go to the
// next tier first, under a price ceiling; they come back once it recovers.
struct SpilloverConfig {
  bool enabled = false;
  std::string from;       // "" = the first tier
  std::string to;         // "" = the tier after `from`
  int queue_depth = 1;    // spill when every deployment of `from` is full and has
                          // at least this many waiting ...
  Millis ttft_target{0};  // ... or its first-byte latency EWMA exceeds this (0 = off)
  std::optional<int64_t> max_output_micros_per_mtok;  // cost ceiling on the `to` tier
};

// health_checks: active checks of every HTTP deployment (interval 0 = off). A deployment is
// marked down after unhealthy_after failed checks in a row, up again after healthy_after passes.
struct HealthChecksConfig {
  Millis interval{0};    // 0 = off
  Millis timeout{2000};  // one whole check; <= interval
  int unhealthy_after = 2;
  int healthy_after = 1;
};

// server.cors: which browser origins may call the gateway (CORS). Off while allow_origins is
// empty: no request then costs more than one check, and nothing CORS is ever sent.
struct CorsConfig {
  // Exact origins ("https://app.example.com", lowercase, no path) or the single entry "*".
  std::vector<std::string> allow_origins;
  // Request headers a preflight may ask for beyond the built-in list (lowercase names), or the
  // single entry "*" for any.
  std::vector<std::string> allow_headers;
  int64_t max_age_seconds = 600;  // Access-Control-Max-Age of a preflight answer
  bool enabled() const { return !allow_origins.empty(); }
};

struct Config {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;
  std::string reference_model = "claude-opus-4.7";  // catalog id of "all-frontier"
  std::vector<Tier> tiers;                          // cheapest first
  std::string default_tier;                         // routing.default_tier; "" = first tier
  // routing.router: "" = model "auto" goes to default_tier; else a scorer SPEC
  // ("length", "random:7", "rules:FILE", "learned:FILE", "cascade:FILE").
  std::string router;
  // routing.thresholds: ascending scores in [0,1], one fewer than tiers. A score below
  // thresholds[0] routes to tiers[0], below thresholds[1] to tiers[1], ..., else the last.
  std::vector<double> thresholds;
  // routing.cascade_tool_calls: how the live cascade (router "cascade:FILE") treats a cheap
  // answer that calls tools. "check" (the default): each call is checked against the request's
  // tools (known name, arguments a JSON object with the schema's required keys, the forced
  // tool_choice) and a valid one is released without the judge; "escalate": the answer is judged
  // by its text only (a call alone is an empty answer, which escalates).
  std::string cascade_tool_calls = "check";
  // routing.cascade_keepalive_ms: while the live cascade holds a streamed cheap answer and
  // nothing has reached the client for this long, the client's stream begins (status 200,
  // headers, `x-triage-route: cascade pending`) and an SSE comment `: keep-alive` goes out,
  // then again every interval until the decision. 0 = off (nothing is sent before the decision).
  Millis cascade_keepalive = Millis(15000);
  // routing.fallback: after the chosen tier's deployments, which other tiers the plan may
  // use: "up" (more expensive tiers, the default), "down", "both" or "none". Pinning a single
  // deployment never falls back elsewhere.
  std::string fallback = "up";
  RetryConfig retry;
  BreakerConfig breaker;
  SpilloverConfig spillover;
  HealthChecksConfig health_checks;
  std::string ledger = "sqlite://triage.db";  // storage.ledger
  Limits limits;
  Millis shutdown_grace{10000};  // server.shutdown_grace_ms
  int threads = 0;               // server.threads; 0 = hardware threads
  CorsConfig cors;               // server.cors
  std::string log_level = "info";

  const Deployment* FindDeployment(std::string_view name) const;
  const Tier* FindTier(std::string_view name) const;
  const Tier& DefaultTier() const;  // REQUIRES: validated (at least one tier)
  // The deployment whose price override prices reference_model (the counterfactual): the first
  // deployment of that catalog id with a `price`; nullptr when the catalog's price applies.
  const Deployment* ReferencePriceDeployment() const;
};

// Parses and validates. Error message names the key at fault, e.g.
// "tiers[1].deployments[0].provider: unknown provider 'foo' (expected openai, anthropic, sim)".
Result<std::shared_ptr<const Config>> LoadFile(const std::string& path);
Result<std::shared_ptr<const Config>> LoadString(const std::string& yaml);

// The built-in demo config: three tiers (open, mid, frontier) backed by sim deployments with
// the catalog's prices (gemma-4-31b, claude-sonnet-4.6, claude-opus-4.7), ledger sqlite.
std::shared_ptr<const Config> Demo(const std::string& ledger = "sqlite://triage-demo.db");

// Human explanation of a validated config for `triage check`: tiers, deployments, prices,
// where keys come from (env var names only, and whether they are set), ledger, limits.
std::string Explain(const Config& config);

// Splits "host:port" ("[::1]:8080" too). Error names `what`.
Result<std::pair<std::string, uint16_t>> ParseHostPort(const std::string& text,
                                                       const std::string& what);

}  // namespace triage::config
