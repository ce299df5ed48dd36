#pragma once
// Active health checks (config health_checks): one coroutine per checked deployment, spread
// over the server's io_contexts (no thread of its own). Each checks its deployment after a
// random start-up delay (FirstCheckDelay) and then every interval +- 10 % (NextCheckDelay; start
// to start; one check at a time) through Provider::Check and records the result in the
// deployment's DeploymentHealth, which takes a failing deployment out of the attempt loop. The
// jitter keeps one gateway's deployments, and a fleet of gateways started together, from
// checking a model server in step. Start once; Stop from any thread.
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "upstream/health.h"
#include "upstream/provider.h"

namespace triage::upstream {

// The wait before a deployment's first check: uniform in [0, min(interval, kMaxFirstCheckDelay))
// given a uniform 64-bit `random`. Capped so that a deployment that is down at start is known
// soon even with a long interval.
constexpr std::chrono::milliseconds kMaxFirstCheckDelay{1000};
Clock::duration FirstCheckDelay(config::Millis interval, uint64_t random);
// The wait from one check's start to the next's: uniform in [0.9, 1.1] x interval given a
// uniform 64-bit `random`.
Clock::duration NextCheckDelay(config::Millis interval, uint64_t random);

class HealthChecker {
 public:
  struct Target {
    Provider* provider = nullptr;        // not owned; outlives the checker
    DeploymentHealth* health = nullptr;  // not owned; outlives the checker
  };
  // `max_body`: the largest check response read (limits.max_response_bytes). `seed` seeds the
  // jitter (0: a random seed).
  HealthChecker(std::vector<Target> targets, config::HealthChecksConfig config, int64_t max_body,
                uint64_t seed = 0);
  ~HealthChecker();

  size_t size() const { return loops_.size(); }
  // Spawns one loop per target, round robin over `executors`. Call once.
  // REQUIRES: !executors.empty(); this checker outlives the executors' io_contexts (loops still
  // queued there reference it until those are destroyed).
  void Start(const std::vector<net::any_io_executor>& executors);
  // Ends every loop promptly: cancels its wait and its check in flight, records nothing more.
  // Thread-safe, idempotent. REQUIRES: the io_contexts of Start still exist.
  void Stop();

 private:
  struct Loop;
  net::awaitable<void> Run(Loop& loop);

  std::vector<std::unique_ptr<Loop>> loops_;
  const config::HealthChecksConfig config_;
  const int64_t max_body_;
  std::atomic<bool> started_{false}, stopped_{false};
};

}  // namespace triage::upstream
