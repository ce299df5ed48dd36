#pragma once
// Retry arithmetic: backoff with full jitter, server-given waits (Retry-After and rate-limit
// reset headers), and a retry budget that caps retries at a share of traffic.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace triage::upstream {

using Millis = std::chrono::milliseconds;

struct RetryPolicy {
  int max_attempts = 3;      // attempts per request, across the plan (1 = no retry)
  Millis backoff_base{100};  // first retry waits up to this, doubling each time
  Millis backoff_max{2000};
  Millis max_server_wait{10000};  // a longer Retry-After skips the deployment instead
  double budget_ratio = 0.2;      // retries may be at most this share of requests ...
  int budget_min_tokens = 10;     // ... plus this many, so a quiet gateway can still retry
  Millis cooldown_max{60000};     // cap on the cross-request cool-down a stated wait starts
  // A stated wait starts the cool-down only when such refusals are at least this share of the
  // deployment's last 20 answers within 10 s (DeploymentHealth::RefusedWithWait); 0 = always.
  double cooldown_min_share = 0.5;
};

// Full jitter: uniform in [0, min(max, base * 2^retry_index)]. `random` is any 64-bit value.
Millis Backoff(int retry_index, const RetryPolicy& policy, uint64_t random);

// How long the upstream asked us to wait, from one header: "retry-after" (delta-seconds or an
// HTTP-date), "retry-after-ms", OpenAI's "x-ratelimit-reset-*" ("1s", "6m0s", "20ms") or
// Anthropic's "anthropic-ratelimit-*-reset" (RFC 3339). nullopt when absent or unparseable.
std::optional<Millis> ParseServerWait(std::string_view header_name, std::string_view value,
                                      std::chrono::system_clock::time_point now);

// Token bucket in thousandths: every request deposits budget_ratio, every retry withdraws 1.
// Thread-safe (lock-free).
class RetryBudget {
 public:
  explicit RetryBudget(const RetryPolicy& policy);
  void OnRequest();
  // True (and withdraws) when a retry is allowed now.
  bool TryRetry();
  // Whether TryRetry would allow one now (withdraws nothing).
  bool CanRetry() const { return balance_.load(std::memory_order_relaxed) >= 1000; }
  double tokens() const { return balance_.load() / 1000.0; }

 private:
  const int64_t deposit_;
  const int64_t cap_;
  std::atomic<int64_t> balance_;
};

}  // namespace triage::upstream
