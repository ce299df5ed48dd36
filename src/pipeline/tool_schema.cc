// The cascade's lenient JSON Schema check of tool-call arguments. Written here rather than
// taken from a library: Debian 12 packages no validator for nlohmann::json but valijson, which
// pulls Qt 5 and Poco development packages, throws on schemas it does not understand, recurses
// without a bound and evaluates `pattern` with std::regex; the check wants the opposite on
// every point (accept what it does not understand, bounded work on client- and upstream-given
// input, reasons without values).
#include "pipeline/tool_schema.h"

#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace triage::pipeline {

using nlohmann::json;

std::string ShownName(std::string_view name) {
  std::string out;
  for (char c : name.substr(0, 64)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.' || c == ':' || c == '/';
    out += ok ? c : '?';
  }
  if (name.size() > 64) out += "...";
  return out;
}

namespace {

// Bounds on client- and upstream-given input: nesting (arguments within arguments, $ref hops,
// branches) and the number of schema-value pairs looked at. Past either, the rest is accepted.
constexpr int kMaxDepth = 48;
constexpr size_t kMaxSteps = 10000;
// Enum entries compared, in all: an enum is the client's and may hold a million entries, read
// at every one of the steps a $ref or a branch leads back to it. Past this, enums are not read.
constexpr size_t kMaxCompared = 1'000'000;
constexpr size_t kMaxShownPath = 128;

struct Walk {
  const json& root;
  std::string path;  // where the value being checked sits: "location.lat", "cities[2]"
  int depth = 0;
  size_t steps = 0;
  size_t compared = 0;  // enum entries compared (kMaxCompared)
};

bool IsInteger(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

// 1 when `v` is of the JSON Schema type `t`, 0 when not, -1 for a type name not known here.
int TypeIs(const std::string& t, const json& v) {
  if (t == "string") return v.is_string();
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "number") return v.is_number();
  if (t == "integer") return IsInteger(v);
  if (t == "boolean") return v.is_boolean();
  if (t == "null") return v.is_null();
  return -1;
}

// A count keyword (minItems, maxLength, ...): a non-negative integer, else not read.
std::optional<uint64_t> Count(const json& s, const char* key) {
  auto it = s.find(key);
  if (it == s.end()) return std::nullopt;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_float() && IsInteger(*it) && it->get<double>() >= 0 && it->get<double>() < 1e18)
    return static_cast<uint64_t>(it->get<double>());
  return std::nullopt;
}

std::string Plural(uint64_t n, const char* one) {
  return std::to_string(n) + " " + one + (n == 1 ? "" : "s");
}

// Code points of UTF-8 text (JSON Schema lengths count characters, not bytes).
uint64_t CodePoints(const std::string& s) {
  uint64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// A local reference ("#", "#/$defs/X", any JSON pointer into the root), or nullptr for one that
// is not local or does not resolve.
const json* Resolve(const json& root, const json& ref) {
  if (!ref.is_string()) return nullptr;
  const std::string& r = ref.get_ref<const std::string&>();
  if (r.empty() || r[0] != '#') return nullptr;
  const json* at = &root;
  size_t i = 1;
  if (i < r.size() && r[i] != '/') return nullptr;  // "#anchor": not read
  while (i < r.size()) {
    size_t end = r.find('/', i + 1);
    if (end == std::string::npos) end = r.size();
    std::string token;
    for (size_t k = i + 1; k < end; ++k) {
      if (r[k] == '~' && k + 1 < end && (r[k + 1] == '0' || r[k + 1] == '1')) {
        token += r[k + 1] == '0' ? '~' : '/';
        ++k;
      } else {
        token += r[k];
      }
    }
    if (at->is_object()) {
      auto it = at->find(token);
      if (it == at->end()) return nullptr;
      at = &*it;
    } else if (at->is_array()) {
      if (token.empty() || token.size() > 9 ||
          token.find_first_not_of("0123456789") != std::string::npos)
        return nullptr;
      const size_t index = std::stoul(token);
      if (index >= at->size()) return nullptr;
      at = &(*at)[index];
    } else {
      return nullptr;
    }
    i = end;
  }
  return at;
}

// "path: why", or `why` alone at the top level.
std::string At(const Walk& w, const std::string& why) {
  if (w.path.empty()) return why;
  if (w.path.size() > kMaxShownPath) return w.path.substr(0, kMaxShownPath) + "...: " + why;
  return w.path + ": " + why;
}

std::string Check(Walk& w, const json& s, const json& v, bool closed);

// Checks `v` against `s` with `segment` appended to the path.
std::string CheckAt(Walk& w, const std::string& segment, const json& s, const json& v) {
  const size_t mark = w.path.size();
  w.path += segment;
  std::string why = Check(w, s, v, true);
  w.path.resize(mark);
  return why;
}

std::string Key(const Walk& w, const std::string& key) {
  return (w.path.empty() ? "" : ".") + ShownName(key);
}

std::string CheckType(const Walk& w, const json& t, const json& v) {
  std::string expected;
  if (t.is_string()) {
    const int is = TypeIs(t.get_ref<const std::string&>(), v);
    if (is != 0) return "";
    expected = t.get_ref<const std::string&>();
  } else if (t.is_array() && !t.empty()) {
    for (const auto& one : t) {
      if (!one.is_string()) return "";
      const int is = TypeIs(one.get_ref<const std::string&>(), v);
      if (is != 0) return "";
      expected += (expected.empty() ? "" : " or ") + one.get<std::string>();
    }
  } else {
    return "";
  }
  return At(w, "expected " + expected);
}

std::string CheckNumber(const Walk& w, const json& s, const json& v) {
  const double x = v.get<double>();
  auto bound = [&](const char* key) -> const json* {
    auto it = s.find(key);
    return it != s.end() && it->is_number() ? &*it : nullptr;
  };
  // Draft 4 spells an exclusive bound as a boolean beside minimum/maximum.
  auto flag = [&](const char* key) {
    auto it = s.find(key);
    return it != s.end() && it->is_boolean() && it->get<bool>();
  };
  if (const json* b = bound("minimum")) {
    const bool exclusive = flag("exclusiveMinimum");
    if (exclusive ? !(x > b->get<double>()) : x < b->get<double>())
      return At(w, std::string("expected ") + (exclusive ? "> " : ">= ") + b->dump());
  }
  if (const json* b = bound("maximum")) {
    const bool exclusive = flag("exclusiveMaximum");
    if (exclusive ? !(x < b->get<double>()) : x > b->get<double>())
      return At(w, std::string("expected ") + (exclusive ? "< " : "<= ") + b->dump());
  }
  if (const json* b = bound("exclusiveMinimum"); b && !(x > b->get<double>()))
    return At(w, "expected > " + b->dump());
  if (const json* b = bound("exclusiveMaximum"); b && !(x < b->get<double>()))
    return At(w, "expected < " + b->dump());
  return "";
}

std::string CheckObject(Walk& w, const json& s, const json& v, bool closed) {
  if (auto req = s.find("required"); req != s.end() && req->is_array())
    for (const auto& k : *req)
      if (k.is_string() && !v.contains(k.get_ref<const std::string&>()))
        return At(w, "missing required \"" + ShownName(k.get_ref<const std::string&>()) + "\"");
  auto props = s.find("properties");
  const bool listed = props != s.end() && props->is_object();
  auto more = s.find("additionalProperties");
  // Keys matched by patternProperties, or declared by a $ref or a branch beside, are not known
  // here: other keys are then not refused.
  const bool others_known = !s.contains("patternProperties") && !s.contains("$ref") &&
                            !s.contains("allOf") && !s.contains("anyOf") && !s.contains("oneOf");
  for (const auto& [key, value] : v.items()) {
    if (listed)
      if (auto p = props->find(key); p != props->end()) {
        if (std::string why = CheckAt(w, Key(w, key), *p, value); !why.empty()) return why;
        continue;
      }
    if (more == s.end() || !others_known || !closed) continue;
    if (more->is_boolean() && !more->get<bool>())
      return At(w, "unexpected key \"" + ShownName(key) + "\"");
    if (more->is_object())
      if (std::string why = CheckAt(w, Key(w, key), *more, value); !why.empty()) return why;
  }
  return "";
}

std::string CheckArray(Walk& w, const json& s, const json& v) {
  if (auto n = Count(s, "minItems"); n && v.size() < *n)
    return At(w, "expected at least " + Plural(*n, "item"));
  if (auto n = Count(s, "maxItems"); n && v.size() > *n)
    return At(w, "expected at most " + Plural(*n, "item"));
  auto items = s.find("items");
  if (items == s.end() || !items->is_object()) return "";  // the tuple form is not read
  for (size_t i = 0; i < v.size(); ++i)
    if (std::string why = CheckAt(w, "[" + std::to_string(i) + "]", *items, v[i]); !why.empty())
      return why;
  return "";
}

// `closed`: whether this schema's additionalProperties is read (not in an allOf branch, where
// the keys may be another branch's).
std::string Check(Walk& w, const json& s, const json& v, bool closed) {
  if (!s.is_object() || w.depth >= kMaxDepth || w.steps >= kMaxSteps) return "";
  ++w.steps;
  struct Deeper {
    int& d;
    explicit Deeper(int& depth) : d(++depth) {}
    ~Deeper() { --d; }
  } deeper(w.depth);
  if (v.is_null())
    if (auto n = s.find("nullable"); n != s.end() && n->is_boolean() && n->get<bool>()) return "";
  if (auto ref = s.find("$ref"); ref != s.end())
    if (const json* target = Resolve(w.root, *ref))
      if (std::string why = Check(w, *target, v, closed); !why.empty()) return why;
  if (auto t = s.find("type"); t != s.end())
    if (std::string why = CheckType(w, *t, v); !why.empty()) return why;
  if (auto e = s.find("enum");
      e != s.end() && e->is_array() && !e->empty() && w.compared < kMaxCompared) {
    bool found = false;
    for (const auto& one : *e) {
      ++w.compared;
      if (one == v) {
        found = true;
        break;
      }
    }
    if (!found) return At(w, "not one of the enum");
  }
  if (auto c = s.find("const"); c != s.end() && *c != v) return At(w, "not the const value");
  std::string why;
  if (v.is_object()) why = CheckObject(w, s, v, closed);
  if (v.is_array()) why = CheckArray(w, s, v);
  if (v.is_string()) {
    const auto len = CodePoints(v.get_ref<const std::string&>());
    if (auto n = Count(s, "minLength"); n && len < *n)
      why = At(w, "expected at least " + Plural(*n, "character"));
    else if (auto n = Count(s, "maxLength"); n && len > *n)
      why = At(w, "expected at most " + Plural(*n, "character"));
  }
  if (v.is_number()) why = CheckNumber(w, s, v);
  if (!why.empty()) return why;
  if (auto all = s.find("allOf"); all != s.end() && all->is_array())
    for (const auto& branch : *all)
      if (std::string why = Check(w, branch, v, false); !why.empty()) return why;
  for (const char* key : {"anyOf", "oneOf"}) {
    auto any = s.find(key);
    if (any == s.end() || !any->is_array() || any->empty()) continue;
    bool matched = false;
    for (const auto& branch : *any)
      if (Check(w, branch, v, closed).empty()) {
        matched = true;
        break;
      }
    if (!matched) return At(w, std::string("matches none of ") + key);
  }
  return "";
}

}  // namespace

bool NestedDeeperThan(const json& v, int limit) {
  std::vector<std::pair<const json*, int>> pending = {{&v, 0}};
  while (!pending.empty()) {
    const auto [at, depth] = pending.back();
    pending.pop_back();
    if (!at->is_structured()) continue;
    if (depth >= limit) return true;
    for (const auto& child : *at)
      if (child.is_structured()) pending.emplace_back(&child, depth + 1);
  }
  return false;
}

std::string CheckArguments(const json& schema, const json& args) {
  Walk w{schema, {}, 0, 0};
  return Check(w, schema, args, true);
}

}  // namespace triage::pipeline
