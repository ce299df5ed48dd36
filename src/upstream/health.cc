#include "upstream/health.h"

#include <algorithm>
#include <numeric>

namespace triage::upstream {

const char* BreakerStateName(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

const char* CheckStateName(CheckState s) {
  switch (s) {
    case CheckState::kOff:
      return "off";
    case CheckState::kPassing:
      return "passing";
    case CheckState::kFailing:
      return "failing";
  }
  return "off";
}

DeploymentHealth::DeploymentHealth(std::string name, double weight, BreakerPolicy policy)
    : name_(std::move(name)), weight_(weight > 0 ? weight : 1.0), policy_(policy) {}

DeploymentHealth::Bucket& DeploymentHealth::CurrentBucket(Clock::time_point now) {
  const auto width = std::max<int64_t>(1, policy_.window.count() / kBuckets);
  const int64_t epoch =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() / width;
  Bucket& b = buckets_[epoch % kBuckets];
  if (b.epoch != epoch) b = Bucket{epoch, 0, 0};
  return b;
}

void DeploymentHealth::Transition(BreakerState to, Clock::time_point now) {
  BreakerState from = state_;
  if (from == to) return;
  state_ = to;
  if (to == BreakerState::kOpen) opened_at_ = now;
  if (to != BreakerState::kHalfOpen) probes_ = 0;
  if (to == BreakerState::kClosed) {
    consecutive_failures_ = 0;
    for (auto& b : buckets_) b = Bucket{};
  }
  if (on_transition) on_transition(name_, from, to);
}

DeploymentHealth::Admission DeploymentHealth::Admit(Clock::time_point now, int max_concurrency,
                                                    uint64_t ticket) {
  if (check_failing_.load(std::memory_order_acquire)) return Admission::kCheckFailing;
  if (now.time_since_epoch().count() < cooldown_until_.load(std::memory_order_acquire))
    return Admission::kCoolingDown;
  // Capacity first (lock-free while nobody waits), then the breaker; a refused breaker gives the
  // slot back. The requests queued ahead of this caller keep the free slots for themselves.
  std::unique_lock<std::mutex> queue_lock;
  int64_t ahead = 0;
  if (max_concurrency > 0 && (ticket != 0 || queued_.load(std::memory_order_relaxed) > 0)) {
    queue_lock = std::unique_lock(queue_mu_);
    ahead = std::find_if(waiting_.begin(), waiting_.end(),
                         [ticket](const Waiter& w) { return w.ticket == ticket; }) -
            waiting_.begin();
  }
  // Sequentially consistent: pairs with End's decrement (see TryEnqueue).
  int64_t cur = in_flight_.load(std::memory_order_seq_cst);
  do {
    if (max_concurrency > 0 && cur + ahead >= max_concurrency) return Admission::kFull;
  } while (!in_flight_.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
  if (queue_lock.owns_lock()) queue_lock.unlock();
  bool refused = false;
  {
    std::lock_guard lock(mu_);
    if (state_ == BreakerState::kOpen) {
      if (now - opened_at_ < policy_.open_for)
        refused = true;
      else
        Transition(BreakerState::kHalfOpen, now);
    }
    if (!refused && state_ == BreakerState::kHalfOpen) {
      if (probes_ >= policy_.half_open_probes)
        refused = true;
      else
        ++probes_;
    }
  }
  if (!refused) return Admission::kAdmitted;
  // The slot goes back, and to the first waiter if any.
  in_flight_.fetch_sub(1, std::memory_order_seq_cst);
  if (queued_.load(std::memory_order_seq_cst) > 0) WakeFirst();
  return Admission::kBreakerOpen;
}

void DeploymentHealth::CoolDown(Clock::time_point until, int status) {
  const int64_t t = until.time_since_epoch().count();
  // Writers take turns (rare: an upstream asked to wait), so that the deadline and its status
  // move together: with a bare compare-and-swap, two answers at once could leave the later
  // deadline with the other answer's status. Admit reads the deadline alone, lock-free.
  std::lock_guard lock(cooldown_mu_);
  if (t <= cooldown_until_.load(std::memory_order_relaxed)) return;
  cooldown_status_.store(status, std::memory_order_relaxed);
  cooldown_until_.store(t, std::memory_order_release);
}

bool DeploymentHealth::RefusedWithWait(Clock::time_point now, Clock::time_point until, int status,
                                       double min_share) {
  bool start = min_share <= 0;
  {
    std::lock_guard lock(mu_);
    // End recorded this answer as not refused: mark the newest such one (answers ending at
    // the same moment on other threads may interleave; only the count matters).
    const size_t n = std::min(recent_count_, kRecentAnswers);
    bool marked = false;
    for (size_t k = 0; k < n && !marked; ++k) {
      RecentAnswer& r = recent_[(recent_count_ - 1 - k) % kRecentAnswers];
      if (!r.refused) r.refused = marked = true;
    }
    if (!marked) recent_[recent_count_++ % kRecentAnswers] = {now, true};  // End was not called
    int64_t answers = 0, refused = 0;
    for (size_t k = 0; k < std::min(recent_count_, kRecentAnswers); ++k) {
      const RecentAnswer& r = recent_[k];
      if (now - r.at > kRecentWindow) continue;
      ++answers;
      refused += r.refused ? 1 : 0;
    }
    start = start || static_cast<double>(refused) >=
                         min_share * static_cast<double>(std::max<int64_t>(answers, 1));
  }
  if (start) CoolDown(until, status);
  return start;
}

std::chrono::milliseconds DeploymentHealth::cooldown_left(Clock::time_point now) const {
  const Clock::time_point until{Clock::duration{cooldown_until_.load(std::memory_order_acquire)}};
  if (until <= now) return std::chrono::milliseconds{0};
  // Rounded up: 1 ms left is still a cool-down.
  return std::chrono::ceil<std::chrono::milliseconds>(until - now);
}

uint64_t DeploymentHealth::TryEnqueue(int max_queue, std::function<void()> wake) {
  std::lock_guard lock(queue_mu_);
  if (static_cast<int64_t>(waiting_.size()) >= max_queue) return 0;
  waiting_.push_back(Waiter{++next_ticket_, std::move(wake)});
  // Sequentially consistent with End's decrement and load: either End sees this waiter and
  // wakes it, or the waiter's next Admit sees the slot End freed.
  queued_.store(static_cast<int64_t>(waiting_.size()), std::memory_order_seq_cst);
  return next_ticket_;
}

void DeploymentHealth::Dequeue(uint64_t ticket) {
  bool was_first = false;
  {
    std::lock_guard lock(queue_mu_);
    auto it = std::find_if(waiting_.begin(), waiting_.end(),
                           [ticket](const Waiter& w) { return w.ticket == ticket; });
    if (it != waiting_.end()) {
      was_first = it == waiting_.begin();
      waiting_.erase(it);
    }
    queued_.store(static_cast<int64_t>(waiting_.size()), std::memory_order_seq_cst);
  }
  // The next in line may now have a free slot (this one was admitted to one of several free
  // slots, or left without taking one).
  if (was_first) WakeFirst();
}

void DeploymentHealth::WakeFirst() {
  std::function<void()> wake;
  {
    std::lock_guard lock(queue_mu_);
    if (waiting_.empty()) return;
    wake = waiting_.front().wake;
  }
  if (wake) wake();
}

void DeploymentHealth::End(Outcome outcome, std::chrono::microseconds latency,
                           Clock::time_point now, std::optional<Clock::time_point> started) {
  in_flight_.fetch_sub(1, std::memory_order_seq_cst);
  // The slot goes to the first waiter, if any: wake it rather than let it poll.
  if (queued_.load(std::memory_order_seq_cst) > 0) WakeFirst();
  const bool ok = outcome == Outcome::kSuccess;
  if (ok) {
    // EWMA with alpha = 0.2; a racy read-modify-write only loses a sample now and then.
    int64_t old = ewma_us_.load(std::memory_order_relaxed);
    int64_t sample = latency.count();
    ewma_us_.store(old == 0 ? sample : (old * 4 + sample) / 5, std::memory_order_relaxed);
  }
  std::lock_guard lock(mu_);
  if (outcome != Outcome::kNeutral) recent_[recent_count_++ % kRecentAnswers] = {now, false};
  if (state_ == BreakerState::kHalfOpen) {
    // An attempt from before the circuit opened (a slow answer, a client gone) is no probe: it
    // must not let a second probe in beside the one in flight, nor decide for it.
    if (started && *started < opened_at_) return;
    probes_ = std::max(0, probes_ - 1);
    if (outcome != Outcome::kNeutral)
      Transition(ok ? BreakerState::kClosed : BreakerState::kOpen, now);
    return;
  }
  if (state_ == BreakerState::kOpen || outcome == Outcome::kNeutral) return;
  Bucket& b = CurrentBucket(now);
  if (ok) {
    ++b.ok;
    consecutive_failures_ = 0;
    return;
  }
  ++b.failed;
  ++consecutive_failures_;
  int total_ok = 0, total_failed = 0;
  const auto width = std::max<int64_t>(1, policy_.window.count() / kBuckets);
  const int64_t epoch =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() / width;
  for (const auto& x : buckets_)
    if (x.epoch > epoch - kBuckets) {
      total_ok += x.ok;
      total_failed += x.failed;
    }
  const int total = total_ok + total_failed;
  if (consecutive_failures_ >= policy_.consecutive_failures ||
      (total >= policy_.min_requests &&
       total_failed >= policy_.error_rate * static_cast<double>(total)))
    Transition(BreakerState::kOpen, now);
}

void DeploymentHealth::EnableChecks(CheckPolicy policy) {
  std::lock_guard lock(mu_);
  check_policy_ = policy;
  check_policy_.unhealthy_after = std::max(1, policy.unhealthy_after);
  check_policy_.healthy_after = std::max(1, policy.healthy_after);
  if (check_state_ == CheckState::kOff) check_state_ = CheckState::kPassing;
}

void DeploymentHealth::RecordCheck(bool passed, int status, std::string error,
                                   Clock::time_point now) {
  CheckState from, to;
  {
    std::lock_guard lock(mu_);
    if (check_state_ == CheckState::kOff) return;
    (passed ? checks_passed_ : checks_failed_).fetch_add(1, std::memory_order_relaxed);
    last_check_ = now;
    last_check_status_ = status;
    last_check_error_ = passed ? std::string() : error;
    if (passed) {
      ++check_passes_;
      check_failures_ = 0;
    } else {
      ++check_failures_;
      check_passes_ = 0;
    }
    from = to = check_state_;
    if (from == CheckState::kPassing && check_failures_ >= check_policy_.unhealthy_after)
      to = CheckState::kFailing;
    if (from == CheckState::kFailing && check_passes_ >= check_policy_.healthy_after) {
      to = CheckState::kPassing;
      // Back per the checks: an open circuit need not sit out the rest of open_ms.
      if (state_ == BreakerState::kOpen) Transition(BreakerState::kHalfOpen, now);
    }
    check_state_ = to;
    check_failing_.store(to == CheckState::kFailing, std::memory_order_release);
  }
  if (from != to && on_check_transition) on_check_transition(name_, from, to, status, error);
}

CheckState DeploymentHealth::check_state() const {
  std::lock_guard lock(mu_);
  return check_state_;
}

nlohmann::json DeploymentHealth::CheckSnapshot(Clock::time_point now) const {
  std::lock_guard lock(mu_);
  nlohmann::json j = nlohmann::json::object();
  j["state"] = CheckStateName(check_state_);
  if (check_state_ == CheckState::kOff) return j;
  j["consecutive_failures"] = check_failures_;
  j["consecutive_passes"] = check_passes_;
  j["last_status"] = nullptr;
  j["last_error"] = nullptr;
  j["last_checked_ms_ago"] = nullptr;
  if (last_check_) {
    if (last_check_status_ != 0) j["last_status"] = last_check_status_;
    if (!last_check_error_.empty()) j["last_error"] = last_check_error_;
    j["last_checked_ms_ago"] = std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(now - *last_check_).count());
  }
  return j;
}

double DeploymentHealth::Score() const {
  // Unknown latency counts as 1 ms so fresh deployments get traffic and build an estimate.
  double ewma = std::max<double>(1000.0, static_cast<double>(ewma_us_.load()));
  return (static_cast<double>(in_flight()) + 1.0) * ewma / weight_;
}

BreakerState DeploymentHealth::state(Clock::time_point now) const {
  std::lock_guard lock(mu_);
  if (state_ == BreakerState::kOpen && now - opened_at_ >= policy_.open_for)
    return BreakerState::kHalfOpen;  // will admit a probe on the next attempt
  return state_;
}

nlohmann::json DeploymentHealth::Snapshot(Clock::time_point now) const {
  nlohmann::json j = nlohmann::json::object();
  j["deployment"] = name_;
  j["circuit"] = BreakerStateName(state(now));
  j["in_flight"] = in_flight();
  j["queued"] = queued();
  j["latency_ewma_ms"] = ewma_ms();
  j["cooldown_ms"] = cooldown_left(now).count();
  j["health_check"] = CheckSnapshot(now);
  return j;
}

std::vector<size_t> BalanceOrder(const std::vector<const DeploymentHealth*>& c, uint64_t random) {
  std::vector<size_t> order(c.size());
  std::iota(order.begin(), order.end(), 0);
  if (c.size() < 2) return order;
  std::vector<double> score(c.size());
  for (size_t i = 0; i < c.size(); ++i) score[i] = c[i]->Score();
  // Power of two choices: two distinct random candidates, the better one goes first.
  size_t a = random % c.size();
  size_t b = (a + 1 + (random >> 32) % (c.size() - 1)) % c.size();
  size_t first = score[b] < score[a] ? b : a;
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    if (x == first || y == first) return x == first && y != first;
    return score[x] < score[y];
  });
  return order;
}

}  // namespace triage::upstream
