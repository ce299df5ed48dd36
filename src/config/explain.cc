// `triage check` text. Shows where keys come from (variable names and whether they are set),
// never their values; extra_body with the values of secret-looking names masked.
#include <cstdlib>
#include <sstream>

#include "config/config.h"

namespace triage::config {
namespace {

std::string Ms(Millis m) { return std::to_string(m.count()) + " ms"; }

std::string PriceText(const std::optional<catalog::Price>& p) {
  if (!p) return "unknown (cost counted as 0)";
  std::string s = "$" + catalog::FormatPerMtok(p->input_micros_per_mtok) + "/$" +
                  catalog::FormatPerMtok(p->output_micros_per_mtok) + " per Mtok";
  if (p->cached_input_micros_per_mtok) {
    s += ", cached input $" + catalog::FormatPerMtok(*p->cached_input_micros_per_mtok);
  }
  if (p->cache_write_micros_per_mtok)
    s += ", cache write $" + catalog::FormatPerMtok(*p->cache_write_micros_per_mtok);
  if (p->cache_write_1h_micros_per_mtok)
    s += ", 1-hour cache write $" + catalog::FormatPerMtok(*p->cache_write_1h_micros_per_mtok);
  if (p->web_search_micros_per_1k)
    s += ", web search $" + catalog::FormatPerMtok(*p->web_search_micros_per_1k) + " per 1,000";
  return s;
}

void ExplainDeployment(const Deployment& d, const HealthChecksConfig& hc, std::ostringstream& out) {
  out << "    - " << d.name << ": provider " << d.provider;
  if (!d.base_url.empty()) out << ", url " << d.base_url;
  out << ", upstream model " << d.model << ", catalog " << d.catalog << "\n";
  out << "      price: " << PriceText(d.EffectivePrice())
      << (d.price ? " (config override)" : " (catalog)") << "\n";
  if (d.api_key_env.empty()) {
    out << "      api key: none\n";
  } else {
    // An empty value is no key: the gateway sends none (upstream/provider.cc).
    const char* value = std::getenv(d.api_key_env.c_str());
    out << "      api key: from $" << d.api_key_env
        << (value == nullptr ? " (NOT set)"
            : *value == '\0' ? " (set but empty: no key is sent)"
                             : " (set)")
        << "\n";
  }
  const Deployment defaults;
  if (d.weight != defaults.weight || d.max_concurrency != 0 || d.max_queue != 0) {
    out << "      balancing: weight " << d.weight;
    if (d.max_concurrency > 0) {
      out << ", at most " << d.max_concurrency << " in flight";
      if (d.max_queue > 0)
        out << ", " << d.max_queue << " queued for up to " << Ms(d.queue_timeout);
    }
    out << "\n";
  }
  if (d.provider == "sim") {
    out << "      sim: latency " << Ms(d.sim.latency) << ", ttft " << Ms(d.sim.ttft) << ", "
        << d.sim.tokens_per_second << " tok/s, " << d.sim.output_tokens
        << " output tokens, error rate " << d.sim.error_rate << ", seed " << d.sim.seed << "\n";
    return;
  }
  out << "      tls: " << (d.tls_verify ? "verify" : "NO verification")
      << (d.ca_file.empty() ? ", system CA store" : ", CA file " + d.ca_file) << "\n";
  out << "      timeouts: connect " << Ms(d.timeouts.connect) << ", first byte "
      << Ms(d.timeouts.first_byte) << ", idle " << Ms(d.timeouts.idle) << ", total "
      << Ms(d.timeouts.total) << "\n";
  if (d.request) {
    const RequestShaping& r = *d.request;
    std::string parts;
    auto part = [&parts](const std::string& p) { parts += (parts.empty() ? "" : "; ") + p; };
    if (!r.drop_params.empty()) {
      std::string names;
      for (const auto& n : r.drop_params) names += (names.empty() ? "" : ", ") + n;
      part("drop " + names);
    }
    if (!r.extra_body.empty()) part("extra body " + r.ExtraBodyForDisplay().dump());
    if (!r.max_tokens_field.empty()) part("output limit sent as " + r.max_tokens_field);
    if (r.max_output_tokens)
      part("output limit capped at " + std::to_string(*r.max_output_tokens) + " tokens");
    out << "      request: " << parts << "\n";
  }
  if (hc.interval.count() == 0) return;
  if (d.health_check)
    out << "      health check: GET " << d.HealthCheckTarget() << "\n";
  else
    out << "      health check: exempt (health_check: false)\n";
}

void ExplainHedging(const Config& c, std::ostringstream& out) {
  bool any = false;
  for (const Tier& t : c.tiers) {
    const HedgeConfig& h = t.hedge;
    if (!h.enabled) continue;
    if (!any) out << "hedging (at most one hedge per request, counted against the retry budget):\n";
    any = true;
    out << "  " << t.name << ": a second attempt when the first has no first token after ";
    if (h.p95)
      out << "the tier's time-to-first-token p95 (at least " << h.min_after.count() << " ms; "
          << h.after.count() << " ms until " << h.min_samples << " first tokens)";
    else
      out << h.after.count() << " ms";
    out << "\n";
  }
  if (!any) out << "hedging: off\n";
}

void ExplainResilience(const Config& c, std::ostringstream& out) {
  const RetryConfig& r = c.retry;
  out << "retry: at most " << r.max_attempts << " attempts per request, backoff "
      << r.backoff_base.count() << "-" << Ms(r.backoff_max) << ", server waits up to "
      << Ms(r.max_server_wait) << ", ";
  if (r.cooldown_max.count() == 0)
    out << "cool-down off";
  else
    out << "cool-down up to " << Ms(r.cooldown_max) << " (share " << r.cooldown_min_share << ")";
  out << ", budget " << r.budget_ratio << " per request + " << r.budget_min << "\n";
  const BreakerConfig& b = c.breaker;
  out << "breaker: opens after " << b.consecutive_failures << " failures in a row, or "
      << b.error_rate * 100 << "% of at least " << b.min_requests << " attempts in " << Ms(b.window)
      << "; open " << Ms(b.open_for) << ", then " << b.half_open_probes << " probe(s)\n";
  const SpilloverConfig& s = c.spillover;
  const Tier* from = s.from.empty() ? &c.tiers.front() : c.FindTier(s.from);
  const Tier* to = nullptr;
  if (from && !s.to.empty()) {
    to = c.FindTier(s.to);
  } else if (from && from != &c.tiers.back()) {
    to = from + 1;  // the tier after `from` (tiers is a vector)
  }
  if (!s.enabled || !from || !to) {
    out << "spillover: off\n";
    return;
  }
  std::string when;
  auto add = [&](const std::string& w) { when += (when.empty() ? "" : ", or ") + w; };
  bool capped = false, checked = false;
  for (const Deployment& d : from->deployments) {
    capped |= d.max_concurrency > 0;
    checked |= c.health_checks.interval.count() > 0 && d.HealthChecked();
  }
  if (capped)
    add("every deployment of " + from->name + " is at max_concurrency with " +
        std::to_string(s.queue_depth) + " queued");
  if (s.ttft_target.count() > 0)
    add("its first-byte latency is above " + std::to_string(s.ttft_target.count()) + " ms");
  if (checked) add("every deployment of " + from->name + " is failing its health checks");
  if (c.retry.cooldown_max.count() > 0)
    add("every deployment of " + from->name + " is cooling down after a stated 429/503/529 wait");
  out << "spillover: model \"auto\" for " << from->name << " goes to " << to->name << " while "
      << when;
  if (s.max_output_micros_per_mtok)
    out << "; only if every deployment of " << to->name << " has a price of at most $"
        << catalog::FormatPerMtok(*s.max_output_micros_per_mtok) << " per Mtok output";
  out << "\n";
}

}  // namespace

std::string Explain(const Config& c) {
  std::ostringstream out;
  const bool v6 = c.listen_host.find(':') != std::string::npos;
  out << "listen: " << (v6 ? "[" + c.listen_host + "]" : c.listen_host) << ":" << c.listen_port
      << "\n";
  // The counterfactual's price as the gateway takes it (Gateway::Create).
  const Deployment* ref_override = c.ReferencePriceDeployment();
  const catalog::ModelInfo* ref = catalog::Find(c.reference_model);
  out << "reference model (all-frontier cost): " << c.reference_model << ", "
      << (ref_override
              ? PriceText(ref_override->price) + " (price of deployment " + ref_override->name + ")"
              : PriceText(ref ? ref->price : std::nullopt) + " (catalog)")
      << "\n";
  out << "tiers (cheapest first):\n";
  for (const Tier& t : c.tiers) {
    out << "  " << t.name << (&t == &c.DefaultTier() ? " (default)" : "") << "\n";
    for (const Deployment& d : t.deployments) ExplainDeployment(d, c.health_checks, out);
  }
  out << "routing: ";
  if (c.router.empty()) {
    out << "model \"auto\" -> tier " << c.DefaultTier().name << " (no router)\n";
  } else {
    out << "router " << c.router << ", thresholds [";
    for (size_t i = 0; i < c.thresholds.size(); ++i) out << (i ? ", " : "") << c.thresholds[i];
    out << "]";
    const bool cascade = c.router.rfind("cascade:", 0) == 0;
    // The gateway runs the cascade only with a tier to escalate to (Gateway::Chat).
    if (cascade && c.tiers.size() < 2)
      out << "; with one tier the live cascade has no tier to escalate to and is off: model "
             "\"auto\" -> tier "
          << c.DefaultTier().name << ", no answer judged";
    else if (cascade)
      out << (c.cascade_tool_calls == "check"
                  ? "; a cheap answer's tool calls are checked against the request's tools, "
                    "valid ones released (routing.cascade_tool_calls check)"
                  : "; a cheap answer's tool calls are not checked: judged by its text only "
                    "(routing.cascade_tool_calls escalate)");
    if (cascade && c.tiers.size() >= 2) {
      if (c.cascade_keepalive.count() == 0)
        out << "; a held stream sends nothing before the decision (routing.cascade_keepalive_ms 0)";
      else
        out << "; a stream held " << Ms(c.cascade_keepalive)
            << " begins with `: keep-alive` comments, one per interval, until the decision "
               "(routing.cascade_keepalive_ms "
            << c.cascade_keepalive.count() << ")";
    }
    out << "\n";
  }
  out << "fallback: " << c.fallback << " (routing.fallback)\n";
  ExplainResilience(c, out);
  ExplainHedging(c, out);
  const HealthChecksConfig& hc = c.health_checks;
  if (hc.interval.count() == 0) {
    out << "health checks: off (health_checks.interval_ms 0)\n";
  } else {
    int checked = 0;
    for (const Tier& t : c.tiers)
      for (const Deployment& d : t.deployments) checked += d.HealthChecked() ? 1 : 0;
    out << "health checks: " << checked << " HTTP deployment(s) every " << Ms(hc.interval)
        << ", timeout " << Ms(hc.timeout) << "; down after " << hc.unhealthy_after
        << " failed check(s) in a row, back after " << hc.healthy_after
        << " passed (a non-2xx answer fails; sim is never checked)\n";
  }
  out << "ledger: " << c.ledger << "\n";
  const Limits& l = c.limits;
  out << "limits: body " << l.max_body_bytes << " bytes, headers " << l.max_header_bytes
      << " bytes, JSON depth " << l.max_json_depth << ", header timeout " << Ms(l.header_timeout)
      << ", body timeout " << Ms(l.body_timeout) << ", keep-alive " << Ms(l.keepalive_timeout)
      << ", upstream answers " << l.max_response_bytes << " bytes\n";
  out << "server: threads " << (c.threads == 0 ? "auto (hardware)" : std::to_string(c.threads))
      << ", shutdown grace " << Ms(c.shutdown_grace) << ", log level " << c.log_level << "\n";
  if (!c.cors.enabled()) {
    out << "cors: off (no browser app on another origin can call the gateway)\n";
  } else {
    std::string origins, headers;
    for (const auto& o : c.cors.allow_origins) origins += (origins.empty() ? "" : ", ") + o;
    for (const auto& h : c.cors.allow_headers) headers += (headers.empty() ? "" : ", ") + h;
    out << "cors: origins " << origins << "; request headers: the SDKs'"
        << (headers.empty() ? "" : " and " + headers) << "; preflights cached "
        << c.cors.max_age_seconds << " s\n";
  }
  return out.str();
}

}  // namespace triage::config
