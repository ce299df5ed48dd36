#pragma once
// Live in-memory request statistics: per-tier counts and money, route decisions, status
// counters and a latency histogram. Rendered as Prometheus text and as the demo's one-line summary.
// Thread-safe: all counters are atomics; the tier list is fixed at construction.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace triage::observe {

// How the `route` phase (or the live cascade) chose the request's tier.
enum class RouteDecision : uint8_t {
  kNone,                // no tier chosen: refused before routing, or a cascade cut short
  kRouter,              // model "auto", routing.router's score and thresholds
  kDefault,             // model "auto" without a router: routing.default_tier
  kSpilled,             // model "auto", moved to another tier by local-first spill-over
  kPinned,              // a tier, deployment or model named by the client
  kCascadeReleased,     // live cascade: the cheap answer scored good enough and was sent
  kCascadeEscalated,    // live cascade: the cheap answer scored too low, the next tier answered
  kCascadeCheapFailed,  // live cascade: the cheap tier gave no answer, the next tier answered
  kCount
};
// `value` escaped for a Prometheus label value (text format: backslash, double quote and line
// feed escaped): tier and deployment names come from the config and may hold a quote.
std::string PromLabel(std::string_view value);

// Prometheus label value of each decision ("router", "cascade_released", ...).
std::string_view RouteDecisionName(RouteDecision d);

// How a hedge (tiers[].hedge) ended, or why none started once the delay passed.
enum class HedgeResult : uint8_t {
  kWon,        // the hedge produced the first token and answered; the first attempt was cancelled
  kLost,       // the first attempt produced its first token first; the hedge was cancelled
  kFailed,     // the hedge failed before its first token (the first attempt went on alone)
  kCancelled,  // the client left (or shutdown) while both ran, before either's first token
  kSkipped,    // the delay passed but no hedge started (no deployment admitted it, retry
               // attempts or budget exhausted)
  kCount
};
std::string_view HedgeResultName(HedgeResult r);

struct RequestRecord {
  std::string_view tier;  // "" when no tier was reached
  RouteDecision decision = RouteDecision::kNone;
  std::string_view route_tier;  // the tier the decision chose ("" with kNone)
  int status = 0;
  bool stream = false;
  bool error = false;
  int64_t cost_micros = 0;
  int64_t reference_cost_micros = 0;
  // false: the answering deployment's (or a failed attempt's) price is unknown (the ledger's
  // price_known 0). Such a request is kept out of both sides of the summary's saving.
  bool price_known = true;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int attempts = 0;
  double latency_seconds = 0;
  // The router's or cascade's score behind the decision, in [0,1]; negative when none.
  double route_score = -1;
};

class Stats {
 public:
  explicit Stats(std::vector<std::string> tiers);
  void Record(const RequestRecord& r);
  void AddInFlight(int delta) { in_flight_.fetch_add(delta, std::memory_order_relaxed); }
  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  // A request whose ledger row could not be written (disk full, I/O error, ...).
  void AddLedgerFailure() { ledger_failures_.fetch_add(1, std::memory_order_relaxed); }
  // A SIGHUP reload of the config file: applied, or refused (the running routing stays).
  void AddReload(bool ok) {
    (ok ? reloads_ok_ : reloads_failed_).fetch_add(1, std::memory_order_relaxed);
    last_reload_ok_.store(ok, std::memory_order_relaxed);
  }
  // A hedge on `tier` (the tier of the attempt it hedged) ended with `r`.
  void AddHedge(std::string_view tier, HedgeResult r) {
    Find(tier)->hedges[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed);
  }
  // Prometheus text exposition format (version 0.0.4).
  std::string Prometheus() const;
  // "requests 12 (open 9, mid 2, frontier 1) | spend $0.0012 | all-frontier $0.0100 | saved 88.0%";
  // with "no tier N" in the parentheses for requests refused before a tier was chosen and
  // " | errors E" before the money for requests that ended in an error, on a tier or not.
  // The money is over requests whose price is known; " | N unpriced" at the end counts the
  // others (their cost is unknown: their reference cost would only inflate the saving).
  std::string Summary() const;
  int64_t total_requests() const;

 private:
  struct TierStats {
    std::string name;
    std::atomic<int64_t> requests{0}, errors{0}, cost{0}, reference{0}, in_tokens{0}, out_tokens{0};
    // Of those, the requests whose price is unknown, and their part of cost and reference.
    std::atomic<int64_t> unpriced{0}, unpriced_cost{0}, unpriced_reference{0};
    // Requests whose route decision chose this tier, by decision.
    std::atomic<int64_t> routed[static_cast<size_t>(RouteDecision::kCount)] = {};
    std::atomic<int64_t> hedges[static_cast<size_t>(HedgeResult::kCount)] = {};
  };
  static constexpr std::array<double, 12> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                      0.5,   1,    2.5,   5,    10,  30};
  TierStats* Find(std::string_view tier);
  std::vector<std::unique_ptr<TierStats>> tiers_;
  TierStats none_;
  std::atomic<int64_t> by_class_[6] = {};  // status / 100 (0 = no status)
  std::atomic<int64_t> attempts_{0}, streams_{0};
  std::atomic<int64_t> hist_[kBuckets.size() + 1] = {};
  std::atomic<int64_t> latency_sum_us_{0};
  // Route scores in 20 buckets of 0.05 (the last one ends at 1), for the router (router and
  // spilled decisions) and for the live cascade (released and escalated); sums in millionths.
  static constexpr size_t kScoreBuckets = 20;
  std::atomic<int64_t> score_hist_[2][kScoreBuckets] = {};
  std::atomic<int64_t> score_sum_millionths_[2] = {};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<int64_t> ledger_failures_{0};
  std::atomic<int64_t> reloads_ok_{0}, reloads_failed_{0};
  std::atomic<bool> last_reload_ok_{true};  // true until a reload fails (none is not a failure)
};

}  // namespace triage::observe
