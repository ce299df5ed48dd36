// The resilience sections: retry, breaker, spillover, health_checks, routing.fallback and the
// per-deployment keys (weight, max_concurrency, max_queue, queue_timeout_ms, health_check,
// health_check_path).
#include <iomanip>
#include <sstream>

#include "config/parse.h"

namespace triage::config::internal {
namespace {

// Reads an integer key within [lo, hi] into *out.
void IntIn(const YAML::Node& n, std::string_view key, const std::string& path, int64_t lo,
           int64_t hi, Diag& diag, int* out) {
  int64_t v = 0;
  if (!GetInt(n, key, path, diag, &v)) return;
  if (v < lo || v > hi) {
    diag.Add(Child(path, key),
             "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return;
  }
  *out = static_cast<int>(v);
}

// A bound as written in the docs: 0.001, 0.01, 1, 10, 1000000 (never cut, never "1e+06").
std::string Bound(double v) {
  std::ostringstream s;
  s << std::setprecision(15) << v;
  return s.str();
}

void DoubleIn(const YAML::Node& n, std::string_view key, const std::string& path, double lo,
              double hi, Diag& diag, double* out) {
  double v = 0;
  if (!GetDouble(n, key, path, diag, &v)) return;
  if (!(v >= lo && v <= hi)) {
    diag.Add(Child(path, key), "must be in [" + Bound(lo) + ", " + Bound(hi) + "]");
    return;
  }
  *out = v;
}

}  // namespace

void ParseDeploymentBalancing(const YAML::Node& node, const std::string& path, Diag& diag,
                              Deployment& d) {
  if (Has(node, "weight")) {
    double w = 1;
    DoubleIn(node, "weight", path, 0.001, 1000, diag, &w);
    d.weight = w;
  }
  IntIn(node, "max_concurrency", path, 0, 1'000'000, diag, &d.max_concurrency);
  IntIn(node, "max_queue", path, 0, 1'000'000, diag, &d.max_queue);
  GetMillis(node, "queue_timeout_ms", path, 1, diag, &d.queue_timeout);
  if (d.max_queue > 0 && d.max_concurrency == 0)
    diag.Add(Child(path, "max_queue"), "needs max_concurrency (a queue forms only behind a cap)");
}

void ParseDeploymentHealthCheck(const YAML::Node& node, const std::string& path, Diag& diag,
                                Deployment& d) {
  if (d.provider == "sim") {
    // A key that would do nothing is an error, like `sim` on an HTTP provider.
    for (const char* key : {"health_check", "health_check_path"})
      if (Has(node, key))
        diag.Add(Child(path, key), "does not apply to provider sim (it is never checked)");
    return;
  }
  GetBool(node, "health_check", path, diag, &d.health_check);
  if (!GetString(node, "health_check_path", path, diag, &d.health_check_path)) return;
  const std::string p = Child(path, "health_check_path");
  const std::string& v = d.health_check_path;
  bool clean = true;
  for (char c : v) clean = clean && static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
  if (v.empty() || v.front() != '/') {
    diag.Add(p,
             "must be an absolute path on the deployment's host, starting with '/' (e.g. "
             "/health, /api/tags)");
  } else if (!clean) {
    diag.Add(p, "must not contain spaces or control characters");
  } else if (v.size() > 2048) {
    diag.Add(p, "must be at most 2048 characters");
  } else if (!d.health_check) {
    diag.Add(p, "set while health_check is false (the deployment is not checked)");
  }
}

void ParseTierHedge(const YAML::Node& tier, const std::string& path, Diag& diag, Tier& t) {
  if (!Has(tier, "hedge")) return;
  const YAML::Node n = tier["hedge"];
  const std::string p = Child(path, "hedge");
  if (!CheckMap(n, p, {"enabled", "after", "after_ms", "min_after_ms", "min_samples"}, diag))
    return;
  HedgeConfig& h = t.hedge;
  h.enabled = true;
  GetBool(n, "enabled", p, diag, &h.enabled);
  std::string after = "fixed";
  GetString(n, "after", p, diag, &after);
  if (after == "p95") {
    h.p95 = true;
  } else if (after != "fixed") {
    diag.Add(Child(p, "after"), "expected fixed or p95, got '" + after + "'");
  }
  if (!Has(n, "after_ms")) {
    diag.Add(Child(p, "after_ms"),
             h.p95 ? "required (the delay used until the tier has min_samples first tokens)"
                   : "required (how long the first attempt may go without a first token)");
  } else {
    GetMillis(n, "after_ms", p, 1, diag, &h.after);
  }
  for (const char* key : {"min_after_ms", "min_samples"})
    if (Has(n, key) && !h.p95) diag.Add(Child(p, key), "applies only with after: p95");
  GetMillis(n, "min_after_ms", p, 1, diag, &h.min_after);
  IntIn(n, "min_samples", p, 1, 1000, diag, &h.min_samples);
}

void ParseResilience(const YAML::Node& root, Diag& diag, Config& c) {
  if (Has(root, "retry")) {
    const YAML::Node n = root["retry"];
    if (CheckMap(n, "retry",
                 {"max_attempts", "backoff_base_ms", "backoff_max_ms", "max_server_wait_ms",
                  "cooldown_max_ms", "cooldown_min_share", "budget_ratio", "budget_min"},
                 diag)) {
      IntIn(n, "max_attempts", "retry", 1, 20, diag, &c.retry.max_attempts);
      GetMillis(n, "backoff_base_ms", "retry", 0, diag, &c.retry.backoff_base);
      GetMillis(n, "backoff_max_ms", "retry", 0, diag, &c.retry.backoff_max);
      GetMillis(n, "max_server_wait_ms", "retry", 0, diag, &c.retry.max_server_wait);
      GetMillis(n, "cooldown_max_ms", "retry", 0, diag, &c.retry.cooldown_max);
      DoubleIn(n, "cooldown_min_share", "retry", 0, 1, diag, &c.retry.cooldown_min_share);
      DoubleIn(n, "budget_ratio", "retry", 0, 10, diag, &c.retry.budget_ratio);
      IntIn(n, "budget_min", "retry", 0, 1'000'000, diag, &c.retry.budget_min);
    }
  }
  if (Has(root, "breaker")) {
    const YAML::Node n = root["breaker"];
    if (CheckMap(n, "breaker",
                 {"consecutive_failures", "error_rate", "min_requests", "window_ms", "open_ms",
                  "half_open_probes"},
                 diag)) {
      IntIn(n, "consecutive_failures", "breaker", 1, 1'000'000, diag,
            &c.breaker.consecutive_failures);
      DoubleIn(n, "error_rate", "breaker", 0.01, 1, diag, &c.breaker.error_rate);
      IntIn(n, "min_requests", "breaker", 1, 1'000'000, diag, &c.breaker.min_requests);
      GetMillis(n, "window_ms", "breaker", 10, diag, &c.breaker.window);
      GetMillis(n, "open_ms", "breaker", 1, diag, &c.breaker.open_for);
      IntIn(n, "half_open_probes", "breaker", 1, 1000, diag, &c.breaker.half_open_probes);
    }
  }
  if (Has(root, "health_checks")) {
    const YAML::Node n = root["health_checks"];
    if (CheckMap(n, "health_checks",
                 {"interval_ms", "timeout_ms", "unhealthy_after", "healthy_after"}, diag)) {
      auto& h = c.health_checks;
      GetMillis(n, "interval_ms", "health_checks", 0, diag, &h.interval);
      GetMillis(n, "timeout_ms", "health_checks", 1, diag, &h.timeout);
      IntIn(n, "unhealthy_after", "health_checks", 1, 1000, diag, &h.unhealthy_after);
      IntIn(n, "healthy_after", "health_checks", 1, 1000, diag, &h.healthy_after);
    }
  }
  if (Has(root, "spillover")) {
    const YAML::Node n = root["spillover"];
    if (CheckMap(n, "spillover",
                 {"enabled", "from", "to", "queue_depth", "ttft_target_ms", "max_price_out"},
                 diag)) {
      c.spillover.enabled = true;
      GetBool(n, "enabled", "spillover", diag, &c.spillover.enabled);
      GetString(n, "from", "spillover", diag, &c.spillover.from);
      GetString(n, "to", "spillover", diag, &c.spillover.to);
      IntIn(n, "queue_depth", "spillover", 0, 1'000'000, diag, &c.spillover.queue_depth);
      GetMillis(n, "ttft_target_ms", "spillover", 0, diag, &c.spillover.ttft_target);
      if (Has(n, "max_price_out")) {
        double usd = 0;
        DoubleIn(n, "max_price_out", "spillover", 0, 1'000'000, diag, &usd);
        c.spillover.max_output_micros_per_mtok = static_cast<int64_t>(usd * 1e6 + 0.5);
      }
    }
  }
}

void CheckResilience(Config& c, Diag& diag) {
  const auto& hc = c.health_checks;
  if (hc.interval.count() > 0 && hc.timeout > hc.interval)
    diag.Add("health_checks.timeout_ms",
             "must be <= health_checks.interval_ms (" + std::to_string(hc.interval.count()) +
                 " ms), got " + std::to_string(hc.timeout.count()) +
                 " ms (the default is 2000): a check must end before the next one is due");
  const std::string& f = c.fallback;
  if (f != "up" && f != "down" && f != "both" && f != "none")
    diag.Add("routing.fallback", "expected up, down, both or none, got '" + f + "'");
  if (c.retry.backoff_max < c.retry.backoff_base)
    diag.Add("retry.backoff_max_ms", "must be >= retry.backoff_base_ms");
  // A hedge is one more attempt, paid from the retry budget: without room for one it never starts.
  for (size_t i = 0; i < c.tiers.size(); ++i) {
    if (!c.tiers[i].hedge.enabled) continue;
    const std::string p = "tiers[" + std::to_string(i) + "].hedge";
    if (c.retry.max_attempts < 2)
      diag.Add(p, "needs retry.max_attempts >= 2 (a hedge is a second attempt), got " +
                      std::to_string(c.retry.max_attempts) + ": it could never start");
    if (c.retry.budget_ratio == 0 && c.retry.budget_min == 0)
      diag.Add(p,
               "needs a retry budget (retry.budget_ratio or retry.budget_min > 0; a hedge takes "
               "a retry token): it could never start");
  }
  auto& s = c.spillover;
  if (!s.enabled || c.tiers.empty()) return;
  auto index = [&](const std::string& name) -> int {
    for (size_t i = 0; i < c.tiers.size(); ++i)
      if (c.tiers[i].name == name) return static_cast<int>(i);
    return -1;
  };
  if (s.from.empty()) s.from = c.tiers.front().name;
  int from = index(s.from);
  if (from < 0) {
    diag.Add("spillover.from", "no tier named '" + s.from + "'");
    return;
  }
  if (s.to.empty()) {
    if (from + 1 >= static_cast<int>(c.tiers.size())) {
      diag.Add("spillover.to", "tier '" + s.from + "' has no next tier to spill to");
      return;
    }
    s.to = c.tiers[from + 1].name;
  }
  if (index(s.to) < 0) diag.Add("spillover.to", "no tier named '" + s.to + "'");
  if (s.to == s.from) diag.Add("spillover.to", "must differ from spillover.from");
  bool capped = false, checked = false;
  for (const auto& d : c.tiers[from].deployments) {
    capped |= d.max_concurrency > 0;
    checked |= c.health_checks.interval.count() > 0 && d.HealthChecked();
  }
  if (!capped && !checked && s.ttft_target.count() == 0)
    diag.Add("spillover", "needs max_concurrency on the deployments of '" + s.from +
                              "', ttft_target_ms, or health checks of its deployments "
                              "(health_checks.interval_ms), or it can never trigger");
}

}  // namespace triage::config::internal
