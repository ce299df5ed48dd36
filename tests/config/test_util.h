#pragma once
// Helpers shared by the config tests.
#include <string>

#include "config/config.h"

namespace triage::config::testing {

// A minimal valid config; tests append or substitute to break one rule at a time.
inline constexpr const char* kBase = R"(
tiers:
  - name: open
    deployments:
      - name: local
        provider: openai
        base_url: http://127.0.0.1:11434/v1
        catalog: gemma-4-31b
  - name: frontier
    deployments:
      - {name: opus, provider: sim, catalog: claude-opus-4.7}
)";

// "OK" or the error message, so EXPECT_THAT(..., HasSubstr(...)) shows the whole text.
inline std::string Problems(const std::string& yaml) {
  auto r = LoadString(yaml);
  return r.ok() ? "OK" : r.error().message;
}

// kBase with `from` replaced by `to` (first occurrence); aborts the test on a bad `from`.
inline std::string BaseWith(const std::string& from, const std::string& to) {
  std::string s = kBase;
  const size_t at = s.find(from);
  if (at == std::string::npos) return "BAD TEST: '" + from + "' not in kBase";
  return s.replace(at, from.size(), to);
}

}  // namespace triage::config::testing
