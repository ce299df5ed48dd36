#pragma once
// Per-deployment health: requests in flight, a latency EWMA, a circuit breaker (consecutive
// failures, or error rate over a sliding window -> open; after a cool-down, half-open lets a
// few probes through; a probe's success closes it, a failure re-opens it), and the state of the
// active health checks (health_checks: failing checks take the deployment out of service).
// Thread-safe: counters are atomics; breaker and check transitions take a small mutex.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
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

// Active health checks: how many results in a row change the verdict.
struct CheckPolicy {
  int unhealthy_after = 2;  // failed checks in a row: passing -> failing
  int healthy_after = 1;    // passed checks in a row: failing -> passing
};
// kOff: not checked. kPassing: in service (also before the first check). kFailing: skipped.
enum class CheckState { kOff, kPassing, kFailing };
const char* CheckStateName(CheckState s);

class DeploymentHealth {
 public:
  DeploymentHealth(std::string name, double weight, BreakerPolicy policy);

  enum class Admission { kAdmitted, kBreakerOpen, kFull, kCheckFailing, kCoolingDown };
  // May a new attempt go here now? Refused while active health checks say failing or while
  // cooling down (CoolDown); else
  // reserves one of `max_concurrency` slots (0 = unlimited), then asks the breaker (half-open
  // admits up to half_open_probes at a time). kAdmitted must be followed by End().
  // Requests waiting in the queue are served first, in their order: a free slot goes to a caller
  // only when fewer waiting requests are ahead of it (all of them without a `ticket`; those
  // queued before it with the ticket TryEnqueue gave it) than slots are free.
  Admission Admit(Clock::time_point now, int max_concurrency = 0, uint64_t ticket = 0);

  enum class Outcome { kSuccess, kFailure, kNeutral };
  // Records the end of an admitted attempt. Success: the deployment answered properly (an
  // upstream 400 counts: the deployment is healthy). Neutral (client went away): no verdict.
  // `latency` (success only) feeds the EWMA: time to the response's first byte. `started`: when
  // the attempt was admitted; one admitted before the circuit last opened is no probe, and its
  // end neither takes a probe's place nor decides a half-open circuit (unknown: a probe).
  void End(Outcome outcome, std::chrono::microseconds latency, Clock::time_point now,
           std::optional<Clock::time_point> started = std::nullopt);
  void End(bool ok, std::chrono::microseconds latency, Clock::time_point now) {
    End(ok ? Outcome::kSuccess : Outcome::kFailure, latency, now);
  }

  // The upstream asked callers to wait (a 429 / 503 / 529 with Retry-After or a rate-limit
  // reset): Admit refuses new attempts (kCoolingDown) until `until`. A later deadline extends
  // the cool-down, an earlier one never shortens it. `status` is the status that asked (the
  // one a request refused for it reports). Thread-safe; callers take turns on a mutex, Admit
  // and cooldown_left never wait for it.
  void CoolDown(Clock::time_point until, int status);
  // An answer that asked callers to wait (a 429 / 503 / 529 with a stated wait; End has already
  // counted the answer): starts the cool-down (CoolDown(until, status)) only when such answers
  // are at least `min_share` of the deployment's last kRecentAnswers answers within the last
  // kRecentWindow (this one included), and returns whether it did. An upstream that refuses
  // everything (a real rate limit) or a quiet deployment's single refusal starts it; a
  // refusal now and then among many answers (a large request over a token limit, an odd 429)
  // does not take the whole deployment out. The answers are counted, not a time slice, so the
  // silence of a cool-down does not make the next odd refusal look like the whole share.
  // `min_share` 0: every such answer starts it.
  bool RefusedWithWait(Clock::time_point now, Clock::time_point until, int status,
                       double min_share);
  static constexpr size_t kRecentAnswers = 20;
  static constexpr std::chrono::seconds kRecentWindow{10};
  // Time left of the cool-down (0 when none), and the status that started it.
  std::chrono::milliseconds cooldown_left(Clock::time_point now) const;
  int cooldown_status() const { return cooldown_status_.load(std::memory_order_relaxed); }

  // Requests waiting for a slot, first come first served (max_queue accounting). TryEnqueue
  // returns the caller's ticket (0 when max_queue are waiting already), for Admit while it waits
  // and for Dequeue when it stops waiting (admitted, timed out or cancelled). Thread-safe.
  // `wake` (optional) is called, from any thread and outside every lock, when a slot may have
  // become free for this caller: when it is first in the queue and an attempt ends (End), a
  // breaker refusal gives its slot back, or the waiter before it leaves (Dequeue). It must only
  // signal (post to the waiter's executor), never call back into this object. A wake can be
  // spurious (another caller took the slot first): the waiter asks Admit again.
  uint64_t TryEnqueue(int max_queue, std::function<void()> wake = nullptr);
  void Dequeue(uint64_t ticket);
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

  // Active health checks. Off until EnableChecks (call once, before use); then passing until
  // `unhealthy_after` failed checks in a row make it failing (Admit refuses, kCheckFailing),
  // failing until `healthy_after` passed checks in a row make it passing again. That recovery
  // also moves an open circuit to half-open at once, so live traffic may probe it without
  // waiting for open_ms; the breaker is otherwise independent of the checks.
  void EnableChecks(CheckPolicy policy);
  // Records one check's result: `status` is the HTTP status (0 = no response), `error` why it
  // failed ("" for a pass; must be free of secrets). Ignored while checks are off.
  void RecordCheck(bool passed, int status, std::string error, Clock::time_point now);
  CheckState check_state() const;
  // check_state() == kFailing, lock-free (the attempt loop and spill-over read it per request).
  bool check_failing() const { return check_failing_.load(std::memory_order_acquire); }
  int64_t checks_passed() const { return checks_passed_.load(std::memory_order_relaxed); }
  int64_t checks_failed() const { return checks_failed_.load(std::memory_order_relaxed); }
  // {"state", "consecutive_failures", "consecutive_passes", "last_status", "last_error",
  // "last_checked_ms_ago"} (only "state" when off). Also part of Snapshot.
  nlohmann::json CheckSnapshot(Clock::time_point now) const;
  // Called (outside the lock) on every passing <-> failing change, with the deciding check's
  // status and error (for logs). Set once before use.
  std::function<void(const std::string& name, CheckState from, CheckState to, int status,
                     const std::string& error)>
      on_check_transition;

 private:
  static constexpr int kBuckets = 10;
  struct Bucket {
    int64_t epoch = -1;
    int ok = 0, failed = 0;
  };
  // The last kRecentAnswers answers (ring, oldest overwritten), for RefusedWithWait.
  struct RecentAnswer {
    Clock::time_point at{};
    bool refused = false;  // asked callers to wait
  };
  void Transition(BreakerState to, Clock::time_point now);  // REQUIRES: mu_ held
  Bucket& CurrentBucket(Clock::time_point now);             // REQUIRES: mu_ held

  const std::string name_;
  const double weight_;
  const BreakerPolicy policy_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<int64_t> queued_{0};  // waiting_.size(), readable without the lock
  std::mutex queue_mu_;
  struct Waiter {
    uint64_t ticket;
    std::function<void()> wake;
  };
  void WakeFirst();             // wakes the first waiter, if any
  std::deque<Waiter> waiting_;  // in arrival order; guarded by queue_mu_
  uint64_t next_ticket_ = 0;    // guarded by queue_mu_
  std::atomic<int64_t> ewma_us_{0};
  std::atomic<int64_t> cooldown_until_{0};  // steady-clock ticks; 0 = none
  std::atomic<int> cooldown_status_{0};
  std::mutex cooldown_mu_;  // serializes CoolDown (the deadline and its status move together)
  mutable std::mutex mu_;
  RecentAnswer recent_[kRecentAnswers];         // guarded by mu_
  size_t recent_count_ = 0;                     // guarded by mu_: answers ever recorded
  BreakerState state_ = BreakerState::kClosed;  // guarded by mu_
  Clock::time_point opened_at_{};               // guarded by mu_
  int consecutive_failures_ = 0;                // guarded by mu_
  int probes_ = 0;                              // guarded by mu_
  Bucket buckets_[kBuckets];                    // guarded by mu_

  CheckPolicy check_policy_;                // set once by EnableChecks
  std::atomic<bool> check_failing_{false};  // written under mu_; read lock-free by Admit
  std::atomic<int64_t> checks_passed_{0}, checks_failed_{0};
  CheckState check_state_ = CheckState::kOff;    // guarded by mu_
  int check_failures_ = 0, check_passes_ = 0;    // in a row; guarded by mu_
  int last_check_status_ = 0;                    // guarded by mu_
  std::string last_check_error_;                 // guarded by mu_
  std::optional<Clock::time_point> last_check_;  // guarded by mu_
};

// Orders one tier's deployments for the attempt loop: power of two choices on Score() for the
// first, the rest by Score(). Deterministic given `random`. Thread-safe.
std::vector<size_t> BalanceOrder(const std::vector<const DeploymentHealth*>& candidates,
                                 uint64_t random);

}  // namespace triage::upstream
