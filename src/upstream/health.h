#pragma once
// Per-deployment health: requests in flight, a latency EWMA, and a circuit breaker
// (consecutive failures, or error rate over a sliding window -> open; after a cool-down,
// half-open lets a few probes through; a probe's success closes it, a failure re-opens it).
// Thread-safe: counters are atomics; breaker transitions take a small mutex.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace triage::upstream {

using Clock = std::chrono::steady_clock;

struct BreakerPolicy {
  int consecutive_failures = 5;  // this many failures in a row open the circuit
  double error_rate = 0.5;       // or this share of failures over the window ...
  int min_requests = 20;         // ... once the window holds at least this many
  std::chrono::milliseconds window{10000};
  std::chrono::milliseconds open_for{5000};  // cool-down before half-open
  int half_open_probes = 1;                  // attempts admitted at once while half-open
};

enum class BreakerState { kClosed, kOpen, kHalfOpen };
const char* BreakerStateName(BreakerState s);

class DeploymentHealth {
 public:
  DeploymentHealth(std::string name, double weight, BreakerPolicy policy);

  enum class Admission { kAdmitted, kBreakerOpen, kFull };
  // May a new attempt go here now? Reserves one of `max_concurrency` slots (0 = unlimited),
  // then asks the breaker (half-open admits up to half_open_probes at a time).
  // kAdmitted must be followed by End().
  Admission Admit(Clock::time_point now, int max_concurrency = 0);

  enum class Outcome { kSuccess, kFailure, kNeutral };
  // Records the end of an admitted attempt. Success: the deployment answered properly (an
  // upstream 400 counts: the deployment is healthy). Neutral (client went away): no verdict.
  // `latency` (success only) feeds the EWMA: time to the response's first byte.
  void End(Outcome outcome, std::chrono::microseconds latency, Clock::time_point now);
  void End(bool ok, std::chrono::microseconds latency, Clock::time_point now) {
    End(ok ? Outcome::kSuccess : Outcome::kFailure, latency, now);
  }

  // Requests waiting for a slot (max_queue accounting). Thread-safe.
  bool TryEnqueue(int max_queue);
  void Dequeue() { queued_.fetch_sub(1, std::memory_order_relaxed); }
  int64_t queued() const { return queued_.load(std::memory_order_relaxed); }

  // Lower is better: (in_flight + 1) * latency EWMA / weight.
  double Score() const;
  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  double ewma_ms() const { return ewma_us_.load(std::memory_order_relaxed) / 1000.0; }
  BreakerState state(Clock::time_point now) const;
  const std::string& name() const { return name_; }
  nlohmann::json Snapshot(Clock::time_point now) const;

  // Called on every breaker transition (for logs). Set once before use.
  std::function<void(const std::string& name, BreakerState from, BreakerState to)> on_transition;

 private:
  static constexpr int kBuckets = 10;
  struct Bucket {
    int64_t epoch = -1;
    int ok = 0, failed = 0;
  };
  void Transition(BreakerState to, Clock::time_point now);  // REQUIRES: mu_ held
  Bucket& CurrentBucket(Clock::time_point now);             // REQUIRES: mu_ held

  const std::string name_;
  const double weight_;
  const BreakerPolicy policy_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<int64_t> queued_{0};
  std::atomic<int64_t> ewma_us_{0};
  mutable std::mutex mu_;
  BreakerState state_ = BreakerState::kClosed;  // guarded by mu_
  Clock::time_point opened_at_{};               // guarded by mu_
  int consecutive_failures_ = 0;                // guarded by mu_
  int probes_ = 0;                              // guarded by mu_
  Bucket buckets_[kBuckets];                    // guarded by mu_
};

// Orders one tier's deployments for the attempt loop: power of two choices on Score() for the
// first, the rest by Score(). Deterministic given `random`. Thread-safe.
std::vector<size_t> BalanceOrder(const std::vector<const DeploymentHealth*>& candidates,
                                 uint64_t random);

}  // namespace triage::upstream
