#pragma once
// Internal to config/: typed, path-aware reads from yaml-cpp nodes. Problems are collected in
// a Diag (never thrown) so one `triage check` run reports every mistake at once.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace triage::config::internal {

// Collected validation messages, each "path: what is wrong". Not thread-safe.
class Diag {
 public:
  void Add(const std::string& path, const std::string& message);
  bool empty() const { return messages_.empty(); }
  const std::vector<std::string>& messages() const { return messages_; }
  std::string Joined() const;  // one message per line

 private:
  std::vector<std::string> messages_;
};

// "a.b" / "a[3]" path building; an empty parent yields the bare key.
std::string Child(const std::string& path, std::string_view key);
std::string Index(const std::string& path, size_t i);

// Closest of `candidates` to `word` when it is a plausible typo, else "".
std::string Suggest(std::string_view word, const std::vector<std::string_view>& candidates);

// Adds an error for every key not in `allowed` (with a "did you mean" hint), duplicate or
// non-scalar. Returns false only when `node` is not a map at all (caller cannot read it).
bool CheckMap(const YAML::Node& node, const std::string& path,
              std::initializer_list<std::string_view> allowed, Diag& diag);

// Typed getters for map[key]. Return true and set *out when the key is present, non-null and
// of the right type; false when absent/null (no error) or malformed (error added).
// `path` is the map's path. A type error quotes the value; Diag masks a credential-shaped word.
bool GetString(const YAML::Node& map, std::string_view key, const std::string& path, Diag& diag,
               std::string* out);
bool GetInt(const YAML::Node& map, std::string_view key, const std::string& path, Diag& diag,
            int64_t* out);
bool GetDouble(const YAML::Node& map, std::string_view key, const std::string& path, Diag& diag,
               double* out);
bool GetBool(const YAML::Node& map, std::string_view key, const std::string& path, Diag& diag,
             bool* out);

// True when map[key] exists and is not null.
bool Has(const YAML::Node& map, std::string_view key);

}  // namespace triage::config::internal
