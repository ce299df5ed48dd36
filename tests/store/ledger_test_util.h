#pragma once
// Helpers shared by the ledger tests: a scratch directory and distinct, fully populated rows.
#include <cstdlib>
#include <filesystem>
#include <string>

#include "store/ledger.h"

namespace triage::store::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "triage-ledger-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    if (p) path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Row `n`: every field differs from its default and from other rows' values.
inline LedgerRow MakeRow(int n) {
  LedgerRow r;
  r.id = "req-" + std::to_string(n);
  r.ts_ms = 1'790'000'000'000 + n;
  r.dialect = n % 2 ? "anthropic" : "openai";
  r.requested_model = "auto-" + std::to_string(n % 7);
  r.tier = n % 3 ? "open" : "frontier";
  r.deployment = "dep-" + std::to_string(n % 5);
  r.status = n % 11 ? 200 : 502;
  r.error_kind = n % 11 ? "" : "upstream_error";
  r.input_tokens = 100 + n;
  r.output_tokens = 200 + 2 * n;
  r.cached_input_tokens = n % 13;
  r.cost_micros = 1000 + 3 * n;
  r.reference_cost_micros = 5000 + 7 * n;
  r.price_known = n % 4 != 0;
  r.stream = n % 2 == 0;
  r.attempts = 1 + n % 3;
  r.latency_ms = 40 + n;
  r.ttft_ms = n % 2 ? -1 : 10 + n;
  r.route = "learned score=0." + std::to_string(n % 10) + " \u2192 " + r.tier;
  r.route_score = n % 5 ? (n % 10) / 10.0 : -1;  // every fifth row: no router score
  r.usage_estimated = n % 6 == 0;
  r.web_search_requests = n % 3;
  r.failed_input_tokens = n % 9 ? 0 : 10 + n;
  r.failed_output_tokens = n % 9 ? 0 : 1;
  r.failed_cost_micros = n % 9 ? 0 : 5 + n;
  return r;
}

inline bool SameRow(const LedgerRow& a, const LedgerRow& b) {
  return a.id == b.id && a.ts_ms == b.ts_ms && a.dialect == b.dialect &&
         a.requested_model == b.requested_model && a.tier == b.tier &&
         a.deployment == b.deployment && a.status == b.status && a.error_kind == b.error_kind &&
         a.input_tokens == b.input_tokens && a.output_tokens == b.output_tokens &&
         a.cached_input_tokens == b.cached_input_tokens && a.cost_micros == b.cost_micros &&
         a.reference_cost_micros == b.reference_cost_micros && a.price_known == b.price_known &&
         a.stream == b.stream && a.attempts == b.attempts && a.latency_ms == b.latency_ms &&
         a.ttft_ms == b.ttft_ms && a.route == b.route && a.route_score == b.route_score &&
         a.usage_estimated == b.usage_estimated && a.failed_input_tokens == b.failed_input_tokens &&
         a.failed_output_tokens == b.failed_output_tokens &&
         a.failed_cost_micros == b.failed_cost_micros &&
         a.web_search_requests == b.web_search_requests;
}

}  // namespace triage::store::testing
