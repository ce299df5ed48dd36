// The optional top-level sections: storage, routing, limits, server (its cors: cors.cc).
#include "common/secrets.h"
#include "config/parse.h"

namespace triage::config::internal {
namespace {

// Scorer kinds the routing room understands; SPEC is KIND or KIND:ARG.
constexpr const char* kRouterKinds[] = {"length", "random", "rules", "learned", "cascade"};

// routing.cascade_keepalive_ms, when not 0: from a tenth of a second (tests) to ten minutes
// (beyond any proxy's idle timeout, so a larger value could never help).
constexpr int64_t kMinCascadeKeepaliveMs = 100;
constexpr int64_t kMaxCascadeKeepaliveMs = 600'000;

}  // namespace

void ParseStorage(const YAML::Node& root, Diag& diag, Config& c) {
  if (!Has(root, "storage")) return;
  const YAML::Node node = root["storage"];
  if (!internal::CheckMap(node, "storage", {"ledger"}, diag)) return;
  if (!GetString(node, "ledger", "storage", diag, &c.ledger)) return;
  // Query options (?synchronous=full) are checked by store/sqlite_url, when `triage check` runs
  // and when the ledger opens.
  const std::string_view url = c.ledger;
  const std::string_view rest = url.substr(0, url.find('?'));
  const bool file = rest.starts_with("sqlite://") && rest.size() > 9;
  if (!file && rest != "sqlite::memory:") {
    diag.Add("storage.ledger",
             "expected sqlite://PATH or sqlite::memory:, got '" + UrlForDisplay(c.ledger) + "'");
  }
}

void ParseRouting(const YAML::Node& root, Diag& diag, Config& c) {
  if (!Has(root, "routing")) return;
  const YAML::Node node = root["routing"];
  if (!internal::CheckMap(node, "routing",
                          {"default_tier", "router", "thresholds", "fallback", "cascade_tool_calls",
                           "cascade_keepalive_ms"},
                          diag))
    return;
  GetString(node, "default_tier", "routing", diag, &c.default_tier);
  GetString(node, "fallback", "routing", diag, &c.fallback);
  if (GetString(node, "cascade_tool_calls", "routing", diag, &c.cascade_tool_calls) &&
      c.cascade_tool_calls != "check" && c.cascade_tool_calls != "escalate")
    diag.Add("routing.cascade_tool_calls",
             "expected check or escalate, got '" + c.cascade_tool_calls + "'");
  if (int64_t ms = 0; GetInt(node, "cascade_keepalive_ms", "routing", diag, &ms)) {
    if (ms != 0 && (ms < kMinCascadeKeepaliveMs || ms > kMaxCascadeKeepaliveMs))
      diag.Add("routing.cascade_keepalive_ms",
               "must be 0 (off) or in [" + std::to_string(kMinCascadeKeepaliveMs) + ", " +
                   std::to_string(kMaxCascadeKeepaliveMs) + "], got " + std::to_string(ms));
    else
      c.cascade_keepalive = Millis(ms);
  }
  if (GetString(node, "router", "routing", diag, &c.router) && !c.router.empty()) {
    const std::string kind = c.router.substr(0, c.router.find(':'));
    bool known = false;
    std::string list;
    for (const char* k : kRouterKinds) {
      known |= kind == k;
      list += (list.empty() ? "" : ", ") + std::string(k);
    }
    if (!known) diag.Add("routing.router", "unknown router '" + kind + "' (expected " + list + ")");
  }
  if (!Has(node, "thresholds")) return;
  const YAML::Node th = node["thresholds"];
  if (!th.IsSequence()) {
    diag.Add("routing.thresholds", "expected a list of numbers in [0, 1]");
    return;
  }
  for (size_t i = 0; i < th.size(); ++i) {
    const std::string path = Index("routing.thresholds", i);
    double v = 0;
    if (!th[i].IsScalar() || !YAML::convert<double>::decode(th[i], v) || !(v >= 0 && v <= 1)) {
      diag.Add(path, "expected a number in [0, 1]");
      continue;
    }
    if (!c.thresholds.empty() && v < c.thresholds.back()) {
      diag.Add(path, "thresholds must be ascending");
    }
    c.thresholds.push_back(v);
  }
}

void ParseLimitsAndServer(const YAML::Node& root, Diag& diag, Config& c) {
  if (Has(root, "limits")) {
    const YAML::Node n = root["limits"];
    if (internal::CheckMap(
            n, "limits",
            {"max_body_bytes", "max_header_bytes", "max_json_depth", "header_timeout_ms",
             "body_timeout_ms", "keepalive_timeout_ms", "max_response_bytes"},
            diag)) {
      auto positive = [&](std::string_view key, int64_t max, int64_t* out) {
        int64_t v = 0;
        if (!GetInt(n, key, "limits", diag, &v)) return;
        if (v < 1 || v > max) {
          diag.Add(Child("limits", key), "must be in [1, " + std::to_string(max) + "]");
        } else {
          *out = v;
        }
      };
      positive("max_body_bytes", int64_t{1} << 40, &c.limits.max_body_bytes);
      positive("max_header_bytes", int64_t{1} << 30, &c.limits.max_header_bytes);
      positive("max_response_bytes", int64_t{1} << 40, &c.limits.max_response_bytes);
      // Capped well below what the recursive JSON walks (translation, body writing, the sim's
      // schema sampling) can take on an 8 MiB thread stack: 100000 crashed the process.
      int64_t depth = c.limits.max_json_depth;
      positive("max_json_depth", kMaxJsonDepthCap, &depth);
      c.limits.max_json_depth = static_cast<int>(depth);
      GetMillis(n, "header_timeout_ms", "limits", 1, diag, &c.limits.header_timeout);
      GetMillis(n, "body_timeout_ms", "limits", 1, diag, &c.limits.body_timeout);
      GetMillis(n, "keepalive_timeout_ms", "limits", 1, diag, &c.limits.keepalive_timeout);
    }
  }
  if (Has(root, "server")) {
    const YAML::Node n = root["server"];
    if (internal::CheckMap(n, "server", {"threads", "shutdown_grace_ms", "cors"}, diag)) {
      if (int64_t t = 0; GetInt(n, "threads", "server", diag, &t)) {
        if (t < 0 || t > 1024) {
          diag.Add("server.threads", "must be in [0, 1024] (0 = one per hardware thread)");
        } else {
          c.threads = static_cast<int>(t);
        }
      }
      GetMillis(n, "shutdown_grace_ms", "server", 0, diag, &c.shutdown_grace);
      ParseCors(n, diag, c);
    }
  }
}

void CheckRouting(const Config& c, Diag& diag) {
  if (!c.default_tier.empty() && !c.FindTier(c.default_tier)) {
    std::string names;
    for (const Tier& t : c.tiers) names += (names.empty() ? "" : ", ") + t.name;
    diag.Add("routing.default_tier",
             "no tier named '" + c.default_tier + "' (tiers: " + names + ")");
  }
  if (!c.router.empty() && c.thresholds.size() + 1 != c.tiers.size()) {
    diag.Add("routing.thresholds",
             "routing.router needs exactly " + std::to_string(c.tiers.size() - 1) +
                 (c.tiers.size() == 2 ? " threshold" : " thresholds") +
                 " (one fewer than tiers), got " + std::to_string(c.thresholds.size()));
  }
}

}  // namespace triage::config::internal
