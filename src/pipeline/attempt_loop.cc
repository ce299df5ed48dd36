// Walking the plan: admission (circuit breakers, active health checks, concurrency caps and their
// bounded queues), retries with backoff and jitter that honour the upstream's Retry-After, under
// the retry budget. Shared by the unary and streaming attempt loops.
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
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
    cur.slot = AttemptSlot{i, Clock::now(), std::nullopt};
    ++ctx.attempts;
    ctx.deployment = d;
    co_return d;
  }
  co_return nullptr;
}

const config::Deployment* Gateway::AdmitHedge(RequestContext& ctx, AttemptCursor& cur,
                                              size_t first) {
  const size_t n = ctx.plan.size();
  if (n == 0 || ctx.cancel->fired() || ctx.attempts >= retry_policy_.max_attempts) return nullptr;
  if (!retry_budget_->CanRetry()) return nullptr;
  for (size_t scan = 0; scan < n; ++scan) {
    const size_t i = (cur.next + scan) % n;
    const config::Deployment* d = ctx.plan[i];
    if (i == first || cur.excluded[i] || cur.tries[i] > 0) continue;
    if (auto u = std::find(ctx.unchecked.begin(), ctx.unchecked.end(), d);
        u != ctx.unchecked.end()) {
      ctx.unchecked.erase(u);
      if (Untranslatable(ctx.req, *d)) {
        cur.excluded[i] = 1;
        continue;
      }
    }
    auto& health = *health_.at(d->name);
    if (health.Admit(Clock::now(), d->max_concurrency) != Admission::kAdmitted) continue;
    if (!retry_budget_->TryRetry()) {
      health.End(upstream::DeploymentHealth::Outcome::kNeutral, {}, Clock::now());
      return nullptr;
    }
    cur.next += scan + 1;  // the plan goes on after the hedge
    ++cur.retries;
    cur.slot = AttemptSlot{i, Clock::now(), std::nullopt};
    ++ctx.attempts;
    return d;
  }
  return nullptr;
}

std::chrono::milliseconds Gateway::HedgeDelay(const config::Tier& tier) const {
  const config::HedgeConfig& h = tier.hedge;
  if (!h.p95) return h.after;
  auto w = ttft_.find(tier.name);
  if (w == ttft_.end()) return h.after;
  std::optional<milliseconds> p95 = w->second->P95(static_cast<size_t>(h.min_samples));
  if (!p95) return h.after;
  return std::max(*p95, h.min_after);
}

bool Gateway::ClaimFirstToken(RequestContext& ctx, Race& race, int me, const config::Deployment& d,
                              const AttemptSlot& slot) {
  if (!race.Claim(me)) return false;
  NoteFirstToken(d, slot);
  ctx.deployment = &d;
  if (race.started[Race::kHedge])
    ctx.hedge = me == Race::kHedge ? "won" : (race.hedge_failed ? "failed" : "lost");
  return true;
}

void Gateway::NoteFirstToken(const config::Deployment& d, const AttemptSlot& slot) {
  auto w = ttft_.find(d.tier);
  if (w == ttft_.end() || !slot.first_byte) return;
  w->second->Record(std::chrono::duration_cast<milliseconds>(*slot.first_byte - slot.start));
}

net::awaitable<Gateway::Step> Gateway::RaceAttempts(RequestContext& ctx, AttemptCursor& cur,
                                                    const config::Deployment* d,
                                                    const AttemptFn& run) {
  Race race;
  const config::Tier* tier = config_->FindTier(d->tier);
  // The cascade's held cheap call is never hedged (its answer is held and judged first).
  if (!tier || !tier->hedge.enabled || cur.hedged || ctx.defer_ledger || ctx.cancel->fired())
    co_return co_await run(d, cur.slot, race, Race::kFirst, ctx.cancel.get());

  const AttemptSlot first = cur.slot;
  net::steady_timer delay(co_await net::this_coro::executor);
  net::steady_timer settled(delay.get_executor());
  race.delay = &delay;
  race.settled = &settled;
  ctx.race = &race;
  // The client leaving (or shutdown) cancels both attempts and the delay.
  ctx.cancel->Set([&race, hook = ctx.cancel.get()] {
    for (auto& h : race.hooks) h.Fire(hook->shutdown());
    if (race.delay) race.delay->cancel();
  });
  auto first_run = [&]() -> net::awaitable<Step> {
    race.running[Race::kFirst] = true;
    race.calling[Race::kFirst] = true;
    Step step = co_await run(d, first, race, Race::kFirst, &race.hooks[Race::kFirst]);
    race.running[Race::kFirst] = false;
    race.first_done = true;
    if (step == Step::kContinue && race.winner < 0) race.first_failed = true;
    race.CallEnded(Race::kFirst);
    if (race.delay) race.delay->cancel();  // ended before the delay: no hedge
    co_return step;
  };
  auto hedger = [&]() -> net::awaitable<Step> {
    // The first may have ended before this began to wait (its cancel of the delay then found
    // no wait to cut short): checked before and after.
    auto over = [&] {
      return race.winner >= 0 || race.first_done || race.closed || ctx.cancel->fired();
    };
    if (over()) co_return Step::kNone;
    delay.expires_after(HedgeDelay(*tier));
    co_await delay.async_wait(net::as_tuple(net::use_awaitable));
    race.delay = nullptr;
    if (over()) co_return Step::kNone;
    const config::Deployment* h = AdmitHedge(ctx, cur, first.index);
    if (!h) {
      stats_->AddHedge(d->tier, observe::HedgeResult::kSkipped);
      co_return Step::kNone;
    }
    cur.hedged = true;
    race.started[Race::kHedge] = true;
    race.running[Race::kHedge] = true;
    race.calling[Race::kHedge] = true;
    Step step = co_await run(h, cur.slot, race, Race::kHedge, &race.hooks[Race::kHedge]);
    race.running[Race::kHedge] = false;
    race.CallEnded(Race::kHedge);
    co_return step;
  };
  using namespace net::experimental::awaitable_operators;
  auto [a, b] = co_await (first_run() && hedger());
  ctx.cancel->Clear();
  ctx.race = nullptr;
  race.delay = nullptr;
  race.settled = nullptr;
  if (race.started[Race::kHedge]) {
    using observe::HedgeResult;
    HedgeResult r = HedgeResult::kFailed;
    if (race.winner == Race::kHedge)
      r = HedgeResult::kWon;
    else if (race.winner == Race::kFirst && !race.hedge_failed)
      r = HedgeResult::kLost;
    else if (race.abandoned[Race::kHedge] || ctx.cancel->fired())
      r = HedgeResult::kCancelled;
    stats_->AddHedge(d->tier, r);
  }
  if (a == Step::kReturn || b == Step::kReturn) co_return Step::kReturn;
  if (a == Step::kBreak || b == Step::kBreak || ctx.cancel->fired() || ctx.client_gone)
    co_return Step::kBreak;
  co_return Step::kContinue;
}

void Gateway::ExcludeSameModel(RequestContext& ctx, AttemptCursor& cur, size_t index) {
  const config::Deployment& d = *ctx.plan[index];
  for (size_t i = 0; i < ctx.plan.size(); ++i) {
    const config::Deployment& o = *ctx.plan[i];
    if (i == index || (o.provider == d.provider && o.base_url == d.base_url && o.model == d.model))
      cur.excluded[i] = 1;
  }
}

void Gateway::EndAttempt(RequestContext& ctx, AttemptCursor& cur, const AttemptSlot& slot,
                         upstream::DeploymentHealth::Outcome outcome,
                         std::optional<milliseconds> server_wait, int upstream_status) {
  const size_t i = slot.index;
  auto end = slot.first_byte.value_or(Clock::now());
  auto& health = *health_.at(ctx.plan[i]->name);
  const auto now = Clock::now();
  health.End(outcome, std::chrono::duration_cast<std::chrono::microseconds>(end - slot.start), now,
             slot.start);
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
