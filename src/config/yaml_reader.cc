#include "config/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "common/secrets.h"

namespace triage::config::internal {
namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

const char* TypeName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "null";
  }
}

// Returns the scalar at map[key] or nullptr-equivalent; adds a type error for non-scalars.
bool Scalar(const YAML::Node& map, std::string_view key, const std::string& path, Diag& diag,
            const char* expected, YAML::Node* out) {
  if (!Has(map, key)) return false;
  YAML::Node node = map[std::string(key)];
  if (!node.IsScalar()) {
    diag.Add(Child(path, key), std::string("expected ") + expected + ", got " + TypeName(node));
    return false;
  }
  *out = node;
  return true;
}

}  // namespace

void Diag::Add(const std::string& path, const std::string& message) {
  // Messages quote what the file says (a value, an unknown key's name), and `check`, `serve` and
  // a SIGHUP reload's log line print them: a key pasted into the wrong field is not echoed.
  messages_.push_back(MaskCredentialWords(path.empty() ? message : path + ": " + message));
}

std::string Diag::Joined() const {
  std::string out;
  for (const std::string& m : messages_) {
    if (!out.empty()) out += '\n';
    out += m;
  }
  return out;
}

std::string Child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string Index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string Suggest(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (std::string_view c : candidates) {
    const size_t d = EditDistance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(c);
    }
  }
  return best;
}

bool CheckMap(const YAML::Node& node, const std::string& path,
              std::initializer_list<std::string_view> allowed, Diag& diag) {
  if (!node.IsMap()) {
    diag.Add(path.empty() ? "(top level)" : path,
             std::string("expected a map, got ") + TypeName(node));
    return false;
  }
  const std::vector<std::string_view> keys(allowed);
  std::set<std::string> seen;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      diag.Add(path.empty() ? "(top level)" : path, "keys must be plain names");
      continue;
    }
    const std::string key = kv.first.Scalar();
    if (!seen.insert(key).second) {
      diag.Add(Child(path, key), "duplicate key");
    }
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
    std::string message = "unknown key";
    if (std::string hint = Suggest(key, keys); !hint.empty()) {
      message += " (did you mean '" + hint + "'?)";
    } else {
      message += " (expected one of:";
      for (size_t i = 0; i < keys.size(); ++i) message += (i ? ", " : " ") + std::string(keys[i]);
      message += ")";
    }
    diag.Add(Child(path, key), message);
  }
  return true;
}

bool Has(const YAML::Node& map, std::string_view key) {
  if (!map.IsMap()) return false;
  const YAML::Node node = map[std::string(key)];
  return node.IsDefined() && !node.IsNull();
}

bool GetString(const YAML::Node& map, std::string_view key, const std::string& path, Diag& diag,
               std::string* out) {
  YAML::Node node;
  if (!Scalar(map, key, path, diag, "a string", &node)) return false;
  *out = node.Scalar();
  return true;
}

bool GetInt(const YAML::Node& map, std::string_view key, const std::string& path, Diag& diag,
            int64_t* out) {
  YAML::Node node;
  if (!Scalar(map, key, path, diag, "an integer", &node)) return false;
  // The YAML 1.2 core schema's integers, as extra_body reads them: decimal (a leading 0 is not
  // octal, as yaml-cpp's stream reading would take it), 0x hexadecimal, 0o octal.
  const std::string& text = node.Scalar();
  std::string_view digits = text;
  int base = 10;
  bool negative = false;
  if (digits.starts_with("0x") || digits.starts_with("0o")) {
    base = digits[1] == 'x' ? 16 : 8;
    digits.remove_prefix(2);
  } else if (digits.starts_with('-') || digits.starts_with('+')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  uint64_t magnitude = 0;
  const char* end = digits.data() + digits.size();
  const auto [stop, ec] = std::from_chars(digits.data(), end, magnitude, base);
  const uint64_t limit = negative ? uint64_t{1} << 63 : uint64_t{INT64_MAX};
  if (digits.empty() || digits[0] == '+' || digits[0] == '-' || ec != std::errc() || stop != end ||
      magnitude > limit) {
    diag.Add(Child(path, key), "expected an integer, got '" + text + "'");
    return false;
  }
  *out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  return true;
}

bool GetDouble(const YAML::Node& map, std::string_view key, const std::string& path, Diag& diag,
               double* out) {
  YAML::Node node;
  if (!Scalar(map, key, path, diag, "a number", &node)) return false;
  double value = 0;
  if (!YAML::convert<double>::decode(node, value) || !std::isfinite(value)) {
    diag.Add(Child(path, key), "expected a finite number, got '" + node.Scalar() + "'");
    return false;
  }
  *out = value;
  return true;
}

bool GetBool(const YAML::Node& map, std::string_view key, const std::string& path, Diag& diag,
             bool* out) {
  YAML::Node node;
  if (!Scalar(map, key, path, diag, "true or false", &node)) return false;
  bool value = false;
  if (!YAML::convert<bool>::decode(node, value)) {
    diag.Add(Child(path, key), "expected true or false, got '" + node.Scalar() + "'");
    return false;
  }
  *out = value;
  return true;
}

}  // namespace triage::config::internal
