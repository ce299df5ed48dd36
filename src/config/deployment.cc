// Deployment parsing and the price it is accounted at.
#include <cctype>
#include <cmath>

#include "common/secrets.h"
#include "config/parse.h"

namespace triage::config {

std::optional<catalog::Price> Deployment::EffectivePrice() const {
  if (price) return price;
  if (const catalog::ModelInfo* m = catalog::Find(catalog)) return m->price;
  return std::nullopt;
}

namespace internal {
namespace {

// Above this a USD/Mtok figure is surely a unit mistake (and would risk int64 overflow).
constexpr double kMaxUsdPerMtok = 1'000'000.0;

std::string KnownCatalogIds() {
  std::string out;
  for (const catalog::ModelInfo& m : catalog::Builtin()) out += (out.empty() ? "" : ", ") + m.id;
  return out;
}

bool IsEnvName(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

void ParsePrice(const YAML::Node& map, const std::string& path, Diag& diag,
                std::optional<catalog::Price>* out) {
  if (!Has(map, "price")) return;
  const YAML::Node node = map["price"];
  const std::string p = Child(path, "price");
  if (!CheckMap(
          node, p,
          {"input", "output", "cached_input", "cache_write", "cache_write_1h", "web_search_per_1k"},
          diag))
    return;
  auto read = [&](std::string_view key, bool required, std::optional<int64_t>* micros) {
    double usd = 0;
    if (!GetDouble(node, key, p, diag, &usd)) {
      if (required && !Has(node, key)) diag.Add(Child(p, key), "required (USD per million tokens)");
      return false;
    }
    if (usd < 0 || usd > kMaxUsdPerMtok) {
      diag.Add(Child(p, key), "must be between 0 and 1000000 (USD per million tokens)");
      return false;
    }
    *micros = std::llround(usd * 1e6);
    return true;
  };
  std::optional<int64_t> input, output, cached, write, write_1h, search;
  const bool ok_in = read("input", true, &input);
  const bool ok_out = read("output", true, &output);
  const bool ok_cached = !Has(node, "cached_input") || read("cached_input", false, &cached);
  const bool ok_write = !Has(node, "cache_write") || read("cache_write", false, &write);
  const bool ok_write_1h = !Has(node, "cache_write_1h") || read("cache_write_1h", false, &write_1h);
  // USD per 1,000 web searches (not per million tokens), in the same bounds.
  bool ok_search = true;
  if (Has(node, "web_search_per_1k")) {
    double usd = 0;
    ok_search = GetDouble(node, "web_search_per_1k", p, diag, &usd);
    if (ok_search && (usd < 0 || usd > kMaxUsdPerMtok)) {
      diag.Add(Child(p, "web_search_per_1k"),
               "must be between 0 and 1000000 (USD per 1,000 web searches)");
      ok_search = false;
    }
    if (ok_search) search = std::llround(usd * 1e6);
  }
  if (ok_in && ok_out && ok_cached && ok_write && ok_write_1h && ok_search)
    *out = catalog::Price{*input, *output, cached, write, write_1h, search};
}

void ParseTimeouts(const YAML::Node& map, const std::string& path, Diag& diag, Timeouts* t) {
  if (!Has(map, "timeouts")) return;
  const YAML::Node node = map["timeouts"];
  const std::string p = Child(path, "timeouts");
  if (!CheckMap(node, p, {"connect_ms", "first_byte_ms", "idle_ms", "total_ms"}, diag)) return;
  GetMillis(node, "connect_ms", p, 1, diag, &t->connect);
  GetMillis(node, "first_byte_ms", p, 1, diag, &t->first_byte);
  GetMillis(node, "idle_ms", p, 1, diag, &t->idle);
  GetMillis(node, "total_ms", p, 1, diag, &t->total);
}

void ParseSim(const YAML::Node& map, const std::string& path, Diag& diag, SimParams* s) {
  if (!Has(map, "sim")) return;
  const YAML::Node node = map["sim"];
  const std::string p = Child(path, "sim");
  if (!CheckMap(
          node, p,
          {"latency_ms", "ttft_ms", "tokens_per_second", "output_tokens", "error_rate", "seed"},
          diag)) {
    return;
  }
  GetMillis(node, "latency_ms", p, 0, diag, &s->latency);
  GetMillis(node, "ttft_ms", p, 0, diag, &s->ttft);
  if (double tps = 0; GetDouble(node, "tokens_per_second", p, diag, &tps)) {
    if (tps <= 0) diag.Add(Child(p, "tokens_per_second"), "must be > 0");
    s->tokens_per_second = tps;
  }
  if (int64_t n = 0; GetInt(node, "output_tokens", p, diag, &n)) {
    if (n < 1 || n > 1'000'000) diag.Add(Child(p, "output_tokens"), "must be in [1, 1000000]");
    s->output_tokens = n;
  }
  if (double r = 0; GetDouble(node, "error_rate", p, diag, &r)) {
    if (r < 0 || r > 1) diag.Add(Child(p, "error_rate"), "must be in [0, 1]");
    s->error_rate = r;
  }
  if (int64_t seed = 0; GetInt(node, "seed", p, diag, &seed)) {
    if (seed < 0) diag.Add(Child(p, "seed"), "must be >= 0");
    s->seed = static_cast<uint64_t>(seed);
  }
}

void ParseApiKeyEnv(const YAML::Node& map, const std::string& path, Diag& diag, std::string* out) {
  std::string value;
  if (!GetString(map, "api_key_env", path, diag, &value) || value.empty()) return;
  // The value is never echoed: a pasted key must not end up in logs or CI output.
  const std::string p = Child(path, "api_key_env");
  if (LooksLikeSecret(value)) {
    diag.Add(p, "must name an environment variable, not contain the key itself");
  } else if (!IsEnvName(value)) {
    diag.Add(p, "must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
  } else {
    *out = value;
  }
}

// Why `url` (starting with a scheme) may carry a credential, or "". The URL is shown by `triage
// check` and its host lands in DNS and connect errors (clients, logs, the ledger) and its path in
// /readyz, so a password in the userinfo or a key in the query (Gemini's `?key=`) would leak; the
// value is never echoed. A query or fragment could not work anyway: the call's path is appended
// to base_url's.
std::string BaseUrlCredentialProblem(std::string_view url) {
  std::string_view rest = url.substr(url.find("://") + 3);
  if (rest.substr(0, rest.find_first_of("/?#")).find('@') != std::string_view::npos)
    return "must not contain credentials (user:password@); name the key's environment variable "
           "in api_key_env";
  if (rest.find_first_of("?#") != std::string_view::npos)
    return "must not contain a query (?...) or a fragment (#...): requests go to its path plus "
           "/chat/completions or /messages; a key goes in the environment variable named by "
           "api_key_env";
  return "";
}

}  // namespace

void GetMillis(const YAML::Node& map, std::string_view key, const std::string& path, int64_t min,
               Diag& diag, Millis* out) {
  int64_t ms = 0;
  if (!GetInt(map, key, path, diag, &ms)) return;
  if (ms < min || ms > kMaxMillis) {
    const std::string lower = min == 0   ? "must be >= 0"
                              : min == 1 ? "must be > 0"
                                         : "must be >= " + std::to_string(min);
    diag.Add(Child(path, key), lower + " and at most 86400000 (one day)");
    return;
  }
  *out = Millis(ms);
}

std::string NameProblem(std::string_view name) {
  if (name.empty()) return "must not be empty";
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f)
      return "must not contain control characters (names are sent in response headers)";
  if (name.front() == ' ' || name.back() == ' ')
    return "must not begin or end with a space (response headers would drop it)";
  return "";
}

std::string TierOrDeploymentNameProblem(std::string_view name) {
  if (std::string why = NameProblem(name); !why.empty()) return why;
  // Only the unambiguous shape: a long run of letters and digits is refused nowhere, since a
  // name such as "qwen25coder32binstruct" has one (error messages still mask such a run).
  if (HasCredentialPrefix(name))
    return "must not look like an API key (names are sent in response headers and /metrics "
           "labels)";
  return "";
}

bool LooksLikeSecret(std::string_view v) {
  for (std::string_view prefix : {"sk-", "sk_", "pk-", "rk-", "xai-", "gsk_", "Bearer", "eyJ"}) {
    if (v.substr(0, prefix.size()) == prefix && v.size() > prefix.size() + 8) return true;
  }
  bool lower = false, upper = false, digit = false;
  for (char c : v) {
    lower |= std::islower(static_cast<unsigned char>(c)) != 0;
    upper |= std::isupper(static_cast<unsigned char>(c)) != 0;
    digit |= std::isdigit(static_cast<unsigned char>(c)) != 0;
  }
  // Variable names are short-ish and single-case; keys are long random mixed-case strings.
  if (v.size() >= 20 && lower && upper && digit) return true;
  return v.size() >= 32 && v.find('_') == std::string_view::npos;
}

Deployment ParseDeployment(const YAML::Node& node, const std::string& path, Diag& diag) {
  Deployment d;
  if (!CheckMap(node, path,
                {"name", "provider", "base_url", "model", "catalog", "api_key_env", "price",
                 "ca_file", "tls_verify", "timeouts", "sim", "weight", "max_concurrency",
                 "max_queue", "queue_timeout_ms", "health_check", "health_check_path", "request"},
                diag)) {
    return d;
  }
  if (!GetString(node, "name", path, diag, &d.name) && !Has(node, "name")) {
    diag.Add(Child(path, "name"), "required");
  } else if (d.name == "auto") {
    diag.Add(Child(path, "name"), "'auto' is reserved (model \"auto\" asks the router)");
  } else if (std::string why = TierOrDeploymentNameProblem(d.name); !why.empty()) {
    diag.Add(Child(path, "name"), why);
  }
  if (GetString(node, "provider", path, diag, &d.provider)) {
    if (d.provider != "openai" && d.provider != "anthropic" && d.provider != "sim") {
      diag.Add(Child(path, "provider"),
               "unknown provider '" + d.provider + "' (expected openai, anthropic, sim)");
    }
  } else if (!Has(node, "provider")) {
    diag.Add(Child(path, "provider"), "required (openai, anthropic or sim)");
  }
  if (GetString(node, "catalog", path, diag, &d.catalog)) {
    if (!catalog::Find(d.catalog)) {
      diag.Add(Child(path, "catalog"),
               "unknown catalog id '" + d.catalog + "' (known: " + KnownCatalogIds() + ")");
    }
  } else if (!Has(node, "catalog")) {
    diag.Add(Child(path, "catalog"), "required (a catalog id: " + KnownCatalogIds() + ")");
  }
  const bool remote = d.provider == "openai" || d.provider == "anthropic";
  if (GetString(node, "base_url", path, diag, &d.base_url)) {
    if (d.base_url.rfind("http://", 0) != 0 && d.base_url.rfind("https://", 0) != 0) {
      diag.Add(Child(path, "base_url"), "must start with http:// or https://");
    } else if (std::string why = BaseUrlCredentialProblem(d.base_url); !why.empty()) {
      diag.Add(Child(path, "base_url"), why);
    }
  } else if (remote && !Has(node, "base_url")) {
    diag.Add(Child(path, "base_url"), "required for provider " + d.provider);
  }
  // A client that pins the upstream model by name gets it back in x-triage-route.
  if (GetString(node, "model", path, diag, &d.model) && !d.model.empty() &&
      !NameProblem(d.model).empty())
    diag.Add(Child(path, "model"), NameProblem(d.model));
  if (d.model.empty()) d.model = d.catalog;
  ParseApiKeyEnv(node, path, diag, &d.api_key_env);
  ParsePrice(node, path, diag, &d.price);
  GetString(node, "ca_file", path, diag, &d.ca_file);
  GetBool(node, "tls_verify", path, diag, &d.tls_verify);
  ParseTimeouts(node, path, diag, &d.timeouts);
  if (Has(node, "sim") && !d.provider.empty() && d.provider != "sim") {
    diag.Add(Child(path, "sim"), "only applies to provider sim");
  }
  ParseSim(node, path, diag, &d.sim);
  ParseDeploymentBalancing(node, path, diag, d);
  ParseDeploymentHealthCheck(node, path, diag, d);
  ParseDeploymentRequest(node, path, diag, d);
  return d;
}

}  // namespace internal
}  // namespace triage::config
