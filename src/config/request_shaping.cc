// tiers[i].deployments[j].request: drop_params, extra_body, max_tokens_field,
// max_output_tokens. extra_body is YAML turned into JSON by the YAML 1.2 core schema, so what
// is written is what is sent: 1 stays an integer, 1.0 a float, true a boolean, "1" a string.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <regex>
#include <set>

#include "common/secrets.h"
#include "config/parse.h"

namespace triage::config::internal {
namespace {

using json = nlohmann::json;

// Largest max_output_tokens accepted (far above any model's output limit).
constexpr int64_t kMaxOutputTokensCap = 1'000'000'000;

bool IsNullScalar(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

// Whether a member of `path` (a.b[2].c) is a name LooksLikeSecretName accepts.
bool UnderSecretName(const std::string& path) {
  size_t start = 0;
  while (start <= path.size()) {
    const size_t dot = std::min(path.find('.', start), path.size());
    std::string_view part = std::string_view(path).substr(start, dot - start);
    part = part.substr(0, part.find('['));
    if (LooksLikeSecretName(part)) return true;
    start = dot + 1;
  }
  return false;
}

// A plain (unquoted, untagged) scalar as the YAML 1.2 core schema resolves it. False (with an
// error) for a number JSON cannot hold.
bool PlainScalar(const std::string& s, const std::string& path, Diag& diag, json* out) {
  // Errors name the value, except under a secret-looking name (an "api_key: 0x..." that is not a
  // number JSON can hold).
  const std::string shown = UnderSecretName(path) ? "[redacted]" : s;
  if (IsNullScalar(s)) {
    *out = nullptr;
    return true;
  }
  if (s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE") {
    *out = s[0] == 't' || s[0] == 'T';
    return true;
  }
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kOct("0o[0-7]+");
  static const std::regex kHex("0x[0-9a-fA-F]+");
  static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  static const std::regex kSpecial("[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)");
  auto integer = [&](std::string_view digits, int base, bool negative) {
    uint64_t u = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), u, base);
    if (ec != std::errc() || end != digits.data() + digits.size() ||
        (negative && u > uint64_t{INT64_MAX} + 1)) {
      diag.Add(path, "integer '" + shown + "' is out of range (64 bits)");
      return false;
    }
    if (negative)
      *out = u == uint64_t{INT64_MAX} + 1 ? INT64_MIN : -static_cast<int64_t>(u);
    else if (u <= uint64_t{INT64_MAX})
      *out = static_cast<int64_t>(u);
    else
      *out = u;
    return true;
  };
  if (std::regex_match(s, kInt)) {
    const bool sign = s[0] == '-' || s[0] == '+';
    return integer(std::string_view(s).substr(sign ? 1 : 0), 10, s[0] == '-');
  }
  if (std::regex_match(s, kOct)) return integer(std::string_view(s).substr(2), 8, false);
  if (std::regex_match(s, kHex)) return integer(std::string_view(s).substr(2), 16, false);
  if (std::regex_match(s, kFloat)) {
    char* end = nullptr;
    errno = 0;
    const double d = std::strtod(s.c_str(), &end);
    if (errno == ERANGE && std::isinf(d)) {
      diag.Add(path, "number '" + shown + "' is out of range");
      return false;
    }
    *out = d;
    return true;
  }
  if (std::regex_match(s, kSpecial)) {
    diag.Add(path, "'" + shown + "' has no JSON form (quote it to send a string)");
    return false;
  }
  *out = s;
  return true;
}

bool ToJson(const YAML::Node& node, const std::string& path, Diag& diag, json* out) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      *out = nullptr;
      return true;
    case YAML::NodeType::Scalar: {
      const std::string& tag = node.Tag();
      if (tag == "!" || tag == "tag:yaml.org,2002:str") {  // quoted, or !!str
        *out = node.Scalar();
        return true;
      }
      if (tag == "?" || tag.empty()) return PlainScalar(node.Scalar(), path, diag, out);
      diag.Add(path, "the tag " + tag + " is not supported (only !!str)");
      return false;
    }
    case YAML::NodeType::Sequence: {
      *out = json::array();
      bool ok = true;
      for (size_t i = 0; i < node.size(); ++i) {
        json item;
        ok = ToJson(node[i], Index(path, i), diag, &item) && ok;
        out->push_back(std::move(item));
      }
      return ok;
    }
    case YAML::NodeType::Map: {
      *out = json::object();
      bool ok = true;
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
          diag.Add(path, "keys must be plain names");
          ok = false;
          continue;
        }
        const std::string key = kv.first.Scalar();
        if (out->contains(key)) {
          diag.Add(Child(path, key), "duplicate key");
          ok = false;
          continue;
        }
        ok = ToJson(kv.second, Child(path, key), diag, &(*out)[key]) && ok;
      }
      return ok;
    }
    default:
      *out = nullptr;
      return true;
  }
}

// Members every request needs: never dropped, never set from the config.
bool Essential(std::string_view name) {
  return name == "model" || name == "messages" || name == "stream" || name == "stream_options";
}

bool IsLimit(std::string_view name) {
  return name == "max_tokens" || name == "max_completion_tokens";
}

void ParseDropParams(const YAML::Node& node, const std::string& path, const Deployment& d,
                     bool sets_limit, Diag& diag, RequestShaping& r) {
  if (!node.IsSequence()) {
    diag.Add(path, "expected a list of top-level request member names");
    return;
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string p = Index(path, i);
    if (!node[i].IsScalar() || node[i].Scalar().empty()) {
      diag.Add(p, "expected a member name");
      continue;
    }
    const std::string name = node[i].Scalar();
    if (Essential(name)) {
      diag.Add(p, "'" + name + "' cannot be dropped: every request needs it");
    } else if (name == "max_tokens" && d.provider == "anthropic") {
      diag.Add(p, "'max_tokens' cannot be dropped: the Messages API requires it");
    } else if (IsLimit(name) && sets_limit) {
      diag.Add(p, "'" + name +
                      "' cannot be dropped together with max_tokens_field or max_output_tokens, "
                      "which set the output limit");
    } else if (!seen.insert(name).second) {
      diag.Add(p, "duplicate name '" + name + "'");
    } else {
      r.drop_params.push_back(name);
    }
  }
}

void ParseExtraBody(const YAML::Node& node, const std::string& path, Diag& diag,
                    RequestShaping& r) {
  if (!node.IsMap()) {
    diag.Add(path, "expected a map of top-level request members");
    return;
  }
  json body;
  if (!ToJson(node, path, diag, &body)) return;
  bool ok = true;
  for (const auto& [key, value] : body.items()) {
    if (Essential(key)) {
      diag.Add(Child(path, key), "'" + key + "' cannot be set here: the gateway sets it");
      ok = false;
    } else if (IsLimit(key)) {
      diag.Add(Child(path, key),
               "'" + key + "' cannot be set here (use max_output_tokens and max_tokens_field)");
      ok = false;
    }
  }
  if (ok) r.extra_body = std::move(body);
}

}  // namespace

void ParseDeploymentRequest(const YAML::Node& node, const std::string& path, Diag& diag,
                            Deployment& d) {
  if (!Has(node, "request")) return;
  const YAML::Node req = node["request"];
  const std::string p = Child(path, "request");
  if (!CheckMap(req, p, {"drop_params", "extra_body", "max_tokens_field", "max_output_tokens"},
                diag)) {
    return;
  }
  if (d.provider == "sim") {
    diag.Add(p, "only applies to provider openai or anthropic (sim sends no request)");
    return;
  }
  RequestShaping r;
  if (GetString(req, "max_tokens_field", p, diag, &r.max_tokens_field)) {
    const std::string k = Child(p, "max_tokens_field");
    if (!IsLimit(r.max_tokens_field)) {
      diag.Add(k, "expected max_tokens or max_completion_tokens");
      r.max_tokens_field.clear();
    } else if (d.provider != "openai") {
      diag.Add(k, "only applies to provider openai (the Messages API always takes max_tokens)");
      r.max_tokens_field.clear();
    }
  }
  if (int64_t n = 0; GetInt(req, "max_output_tokens", p, diag, &n)) {
    if (n < 1 || n > kMaxOutputTokensCap)
      diag.Add(Child(p, "max_output_tokens"), "must be in [1, 1000000000]");
    else
      r.max_output_tokens = n;
  }
  const bool sets_limit = Has(req, "max_tokens_field") || Has(req, "max_output_tokens");
  if (Has(req, "drop_params"))
    ParseDropParams(req["drop_params"], Child(p, "drop_params"), d, sets_limit, diag, r);
  if (Has(req, "extra_body")) ParseExtraBody(req["extra_body"], Child(p, "extra_body"), diag, r);
  const bool empty = r.drop_params.empty() && r.extra_body.empty() && r.max_tokens_field.empty() &&
                     !r.max_output_tokens;
  if (!empty) d.request = std::move(r);
}

}  // namespace triage::config::internal

namespace triage::config {
namespace {

using json = nlohmann::json;

// Walks `j`, replacing (when `mask`) or collecting (when `found`) every value under a secret-
// looking name. `secret`: whether `j` lies under such a name.
void WalkSecrets(json& j, bool secret, std::vector<std::string>* found, bool mask) {
  if (j.is_object()) {
    for (auto& [key, value] : j.items())
      WalkSecrets(value, secret || LooksLikeSecretName(key), found, mask);
  } else if (j.is_array()) {
    for (json& item : j) WalkSecrets(item, secret, found, mask);
  } else if (secret && (j.is_string() || j.is_number())) {
    if (found && j.is_string()) found->push_back(j.get<std::string>());
    if (mask) j = "[redacted]";
  }
}

}  // namespace

json RequestShaping::ExtraBodyForDisplay() const {
  json shown = extra_body;
  WalkSecrets(shown, false, nullptr, true);
  return shown;
}

std::vector<std::string> RequestShaping::ExtraBodySecrets() const {
  json copy = extra_body;
  std::vector<std::string> found;
  WalkSecrets(copy, false, &found, false);
  return found;
}

}  // namespace triage::config
