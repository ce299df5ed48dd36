// Walking the plan: admission (circuit breakers, active health checks, concurrency caps and their
// bounded queues), retries with backoff and jitter that honour the upstream's Retry-After, under
// the retry budget. Shared by the unary and streaming attempt loops.
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <random>

#include "pipeline/gateway.h"

namespace triage::pipeline {

namespace net = boost::asio;
using Admission = upstream::DeploymentHealth::Admission;
using std::chrono::milliseconds;

namespace {
// A queued request is woken when a slot frees (DeploymentHealth::TryEnqueue's `wake`); it also
// re-checks this often, a safety net that bounds the cost of any missed wake.
constexpr milliseconds kQueueRecheck{100};

// Takes a queued request out of the deployment's queue when it stops waiting, or when its
// coroutine is destroyed while it waits (the io_context going away), so that the queue never
// keeps a waiter whose wake-up would post to an executor that is gone.
class QueuePlace {
 public:
  QueuePlace(upstream::DeploymentHealth& health, uint64_t ticket)
      : health_(health), ticket_(ticket) {}
  QueuePlace(const QueuePlace&) = delete;
  QueuePlace& operator=(const QueuePlace&) = delete;
  ~QueuePlace() { Leave(); }
  void Leave() {
    if (ticket_ != 0) health_.Dequeue(ticket_);
    ticket_ = 0;
  }

 private:
  upstream::DeploymentHealth& health_;
  uint64_t ticket_;
};

net::awaitable<void> Sleep(milliseconds d, upstream::CancelHook* cancel) {
  if (d.count() <= 0) co_return;
  net::steady_timer t(co_await net::this_coro::executor);
  t.expires_after(d);
  cancel->Set([&t] { t.cancel(); });
  co_await t.async_wait(net::as_tuple(net::use_awaitable));
  cancel->Clear();
}
}  // namespace

net::awaitable<const config::Deployment*> Gateway::NextAttempt(RequestContext& ctx,
                                                               AttemptCursor& cur) {
  const size_t n = ctx.plan.size();
  if (cur.tries.size() != n) {
    cur.tries.assign(n, 0);
    cur.server_wait.assign(n, std::nullopt);
    cur.excluded.assign(n, 0);
  }
  if (n == 0 || ctx.cancel->fired() || ctx.attempts >= retry_policy_.max_attempts)
    co_return nullptr;
  // A retry needs a token of the budget, taken only once a deployment admits it (below): a
  // retry that finds no deployment to take it costs nothing.
  if (ctx.attempts > 0 && !retry_budget_->CanRetry()) {
    cur.budget_denied = true;
    co_return nullptr;
  }
  thread_local std::mt19937_64 rng{std::random_device{}()};
  for (size_t scan = 0; scan < n; ++scan) {
    const size_t i = cur.next++ % n;
    const config::Deployment* d = ctx.plan[i];
    auto& health = *health_.at(d->name);
    if (cur.excluded[i]) continue;  // asking it again within this request gets the same answer
    if (auto u = std::find(ctx.unchecked.begin(), ctx.unchecked.end(), d);
        u != ctx.unchecked.end()) {
      ctx.unchecked.erase(u);
      if (Untranslatable(ctx.req, *d)) {  // as DropUntranslatable would have: never tried
        cur.excluded[i] = 1;
        continue;
      }
    }
    if (cur.tries[i] > 0) {
      // Trying this deployment again: back off, and wait at least as long as it asked.
      milliseconds wait = upstream::Backoff(cur.retries, retry_policy_, rng());
      if (auto sw = cur.server_wait[i]) {
        if (*sw > retry_policy_.max_server_wait) {
          ++cur.server_wait_skips;
          continue;
        }
        wait = std::max(wait, *sw);
      }
      co_await Sleep(wait, ctx.cancel.get());
      if (ctx.cancel->fired()) co_return nullptr;
      if (cur.server_wait[i]) {
        // Other requests' answers may have extended the cool-down meanwhile (the same wait,
        // asked a little later): this request, waiting anyway, waits for its end too, as long as
        // its whole wait stays within max_server_wait, rather than giving up at once.
        milliseconds waited = wait;
        for (milliseconds left = health.cooldown_left(Clock::now());
             left.count() > 0 && waited + left <= retry_policy_.max_server_wait;
             left = health.cooldown_left(Clock::now())) {
          co_await Sleep(left, ctx.cancel.get());
          if (ctx.cancel->fired()) co_return nullptr;
          waited += left;
        }
      }
    }
    Admission a = health.Admit(Clock::now(), d->max_concurrency);
    uint64_t ticket = 0;
    std::shared_ptr<net::steady_timer> queue_timer;
    if (a == Admission::kFull && d->max_queue > 0) {
      // Queued: served in arrival order (Admit keeps a freed slot for the first waiter). The
      // health wakes the first waiter when a slot frees (from whichever thread ended the
      // attempt: posted to this coroutine's executor, where it cancels the wait).
      queue_timer = std::make_shared<net::steady_timer>(co_await net::this_coro::executor);
      ticket = health.TryEnqueue(
          d->max_queue,
          [weak = std::weak_ptr<net::steady_timer>(queue_timer), ex = queue_timer->get_executor()] {
            net::post(ex, [weak] {
              if (auto t = weak.lock()) t->cancel();
            });
          });
    }
    if (ticket != 0) {
      QueuePlace place(health, ticket);
      const auto until = Clock::now() + d->queue_timeout;
      // A slot may have freed between the refusal above and the enqueue.
      a = health.Admit(Clock::now(), d->max_concurrency, ticket);
      while (a == Admission::kFull && Clock::now() < until && !ctx.cancel->fired()) {
        queue_timer->expires_at(std::min(until, Clock::now() + kQueueRecheck));
        ctx.cancel->Set([t = queue_timer.get()] { t->cancel(); });
        co_await queue_timer->async_wait(net::as_tuple(net::use_awaitable));
        ctx.cancel->Clear();
        if (ctx.cancel->fired()) break;
        a = health.Admit(Clock::now(), d->max_concurrency, ticket);
      }
      place.Leave();
    }
    if (ctx.cancel->fired()) {
      // The client left (or the grace period ended) while this request waited: it leaves the
      // queue and calls no other deployment, for nobody.
      if (a == Admission::kAdmitted)
        health.End(upstream::DeploymentHealth::Outcome::kNeutral, {}, Clock::now());
      co_return nullptr;
    }
    if (a == Admission::kBreakerOpen) {
      ++cur.breaker_skips;
      continue;
    }
    if (a == Admission::kCheckFailing) {
      ++cur.check_skips;
      continue;
    }
    if (a == Admission::kFull) {
      ++cur.full_skips;
      continue;
    }
    if (a == Admission::kCoolingDown) {
      const milliseconds left = health.cooldown_left(Clock::now());
      if (cur.cooldown_skips++ == 0 || left < cur.cooldown_left) {
        cur.cooldown_left = left;
        cur.cooldown_status = health.cooldown_status();
      }
      continue;
    }
    if (ctx.attempts > 0 && !retry_budget_->TryRetry()) {  // taken by others meanwhile
      health.End(upstream::DeploymentHealth::Outcome::kNeutral, {}, Clock::now());
      cur.budget_denied = true;
      co_return nullptr;
    }
    if (cur.tries[i] > 0 || ctx.attempts > 0) ++cur.retries;
    cur.current = i;
    cur.attempt_start = Clock::now();
    cur.first_byte.reset();
    ++ctx.attempts;
    ctx.deployment = d;
    co_return d;
  }
  co_return nullptr;
}

void Gateway::ExcludeSameModel(RequestContext& ctx, AttemptCursor& cur) {
  const config::Deployment& d = *ctx.plan[cur.current];
  for (size_t i = 0; i < ctx.plan.size(); ++i) {
    const config::Deployment& o = *ctx.plan[i];
    if (i == cur.current ||
        (o.provider == d.provider && o.base_url == d.base_url && o.model == d.model))
      cur.excluded[i] = 1;
  }
}

void Gateway::EndAttempt(RequestContext& ctx, AttemptCursor& cur,
                         upstream::DeploymentHealth::Outcome outcome,
                         std::optional<milliseconds> server_wait, int upstream_status) {
  const size_t i = cur.current;
  auto end = cur.first_byte.value_or(Clock::now());
  auto& health = *health_.at(ctx.plan[i]->name);
  const auto now = Clock::now();
  health.End(outcome,
             std::chrono::duration_cast<std::chrono::microseconds>(end - cur.attempt_start), now,
             cur.attempt_start);
  if (server_wait && server_wait->count() > 0 && retry_policy_.cooldown_max.count() > 0)
    health.RefusedWithWait(now, now + std::min(*server_wait, retry_policy_.cooldown_max),
                           upstream_status, retry_policy_.cooldown_min_share);
  ++cur.tries[i];
  cur.server_wait[i] = server_wait;
  ctx.retry_after_ms = server_wait ? server_wait->count() : 0;
}

Error Gateway::ExhaustedError(RequestContext& ctx, const AttemptCursor& cur,
                              std::optional<Error> last) const {
  if (last) {
    if (cur.budget_denied) last->message += " (no retry: retry budget exhausted)";
    return *last;
  }
  if (cur.breaker_skips > 0 && cur.check_skips > 0)
    return Error::Make(ErrorKind::kUnavailable, "circuit_open",
                       "every deployment this request may use has its circuit open or is "
                       "failing its health checks; retry later");
  if (cur.breaker_skips > 0)
    return Error::Make(ErrorKind::kUnavailable, "circuit_open",
                       "every deployment this request may use has its circuit open; retry later");
  if (cur.check_skips > 0)
    return Error::Make(ErrorKind::kUnavailable, "health_check_failing",
                       "every deployment this request may use is failing its health checks; "
                       "retry later");
  if (cur.cooldown_skips > 0 && cur.full_skips == 0) {
    // Nothing was asked: every deployment left is cooling down after its upstream asked callers
    // to wait. The client is told the shortest of those waits.
    ctx.retry_after_ms = std::max<int64_t>(1, cur.cooldown_left.count());
    const bool limited = cur.cooldown_status == 429;
    Error e = Error::Make(
        limited ? ErrorKind::kRateLimit : ErrorKind::kUnavailable,
        limited ? "upstream_rate_limited" : "upstream_unavailable",
        "every deployment this request may use is cooling down: its upstream answered " +
            std::to_string(cur.cooldown_status) + " and asked callers to wait; retry in " +
            std::to_string((ctx.retry_after_ms + 999) / 1000) + " s");
    // Overloaded (529) stays 529 for Anthropic clients, as the answer that started it was: the
    // SDK's OverloadedError, not its ServiceUnavailableError.
    if (cur.cooldown_status == 529) e.upstream_status = 529;
    return e;
  }
  if (cur.full_skips > 0)
    return Error::Make(ErrorKind::kUnavailable, "overloaded",
                       "every deployment this request may use is at its concurrency limit");
  if (cur.server_wait_skips > 0)
    return Error::Make(ErrorKind::kRateLimit, "upstream_rate_limited",
                       "upstreams asked to wait longer than retry.max_server_wait_ms");
  return Error::Make(ErrorKind::kUnavailable, "no_deployment", "no deployment available");
}

}  // namespace triage::pipeline
