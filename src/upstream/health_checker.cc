#include "upstream/health_checker.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

namespace triage::upstream {

// One deployment's loop. Every field but `target` is touched only on `executor`.
struct HealthChecker::Loop {
  Target target;
  net::any_io_executor executor;
  std::mt19937_64 rng;                 // the jitter of this loop's waits
  net::steady_timer* timer = nullptr;  // the wait between checks, while the loop runs
  CancelHook cancel;                   // aborts the check in flight
  bool stopped = false;
};

Clock::duration FirstCheckDelay(config::Millis interval, uint64_t random) {
  const auto span = std::chrono::duration_cast<Clock::duration>(
      std::min(interval, config::Millis(kMaxFirstCheckDelay)));
  if (span.count() <= 0) return Clock::duration(0);
  return Clock::duration(static_cast<Clock::rep>(random % static_cast<uint64_t>(span.count())));
}

Clock::duration NextCheckDelay(config::Millis interval, uint64_t random) {
  const auto base = std::chrono::duration_cast<Clock::duration>(interval);
  const uint64_t spread = static_cast<uint64_t>(base.count() / 5);  // 20 %: -10 % .. +10 %
  const auto jitter = static_cast<Clock::rep>(spread == 0 ? 0 : random % (spread + 1));
  return base - base / 10 + Clock::duration(jitter);
}

HealthChecker::HealthChecker(std::vector<Target> targets, config::HealthChecksConfig config,
                             int64_t max_body, uint64_t seed)
    : config_(config), max_body_(max_body) {
  if (seed == 0) seed = std::random_device{}() | (uint64_t{std::random_device{}()} << 32);
  std::mt19937_64 seeds(seed);
  for (auto& t : targets) {
    auto loop = std::make_unique<Loop>();
    loop->target = t;
    loop->rng.seed(seeds());
    loops_.push_back(std::move(loop));
  }
}

HealthChecker::~HealthChecker() = default;

void HealthChecker::Start(const std::vector<net::any_io_executor>& executors) {
  if (executors.empty() || stopped_.load() || started_.exchange(true)) return;
  for (size_t i = 0; i < loops_.size(); ++i) {
    Loop& loop = *loops_[i];
    loop.executor = executors[i % executors.size()];
    net::co_spawn(loop.executor, Run(loop), net::detached);
  }
}

void HealthChecker::Stop() {
  if (stopped_.exchange(true) || !started_.load()) return;
  for (auto& l : loops_) {
    net::post(l->executor, [loop = l.get()] {
      loop->stopped = true;
      if (loop->timer) loop->timer->cancel();
      loop->cancel.Fire();
    });
  }
}

net::awaitable<void> HealthChecker::Run(Loop& loop) {
  net::steady_timer timer(co_await net::this_coro::executor);
  loop.timer = &timer;
  timer.expires_after(FirstCheckDelay(config_.interval, loop.rng()));
  co_await timer.async_wait(net::as_tuple(net::use_awaitable));
  while (!loop.stopped) {
    const auto started = Clock::now();
    CheckResult r = co_await loop.target.provider->Check(config_.timeout, max_body_, &loop.cancel);
    if (loop.stopped) break;  // cancelled by Stop: no verdict
    loop.target.health->RecordCheck(r.passed, r.status, std::move(r.error), Clock::now());
    timer.expires_at(started + NextCheckDelay(config_.interval, loop.rng()));
    co_await timer.async_wait(net::as_tuple(net::use_awaitable));
  }
  loop.timer = nullptr;
}

}  // namespace triage::upstream
