// The route phase: which deployments a request may use, in order. The attempt loop only walks
// this plan; it never widens it.
#include <cstdio>
#include <random>

#include "pipeline/attempt_util.h"
#include "pipeline/gateway.h"
#include "routing/router.h"

namespace triage::pipeline {

void Gateway::AppendTier(RequestContext& ctx, const config::Tier& tier) const {
  std::vector<const upstream::DeploymentHealth*> hs;
  for (const auto& d : tier.deployments) hs.push_back(health_.at(d.name).get());
  thread_local std::mt19937_64 rng{std::random_device{}()};
  for (size_t i : upstream::BalanceOrder(hs, rng())) ctx.plan.push_back(&tier.deployments[i]);
}

const config::Tier* Gateway::SpillTarget(const config::Tier& chosen, std::string* why) const {
  const auto& s = config_->spillover;
  if (!s.enabled || chosen.name != s.from) return nullptr;
  const config::Tier* to = config_->FindTier(s.to);
  if (!to) return nullptr;
  if (s.max_output_micros_per_mtok) {
    // Cost ceiling: every deployment of the target tier must be priced within it.
    for (const auto& d : to->deployments) {
      auto p = d.EffectivePrice();
      if (!p || p->output_micros_per_mtok > *s.max_output_micros_per_mtok) return nullptr;
    }
  }
  bool all_full = true;
  bool all_failing = !chosen.deployments.empty();  // every deployment failing its health checks
  bool all_out = all_failing;  // every deployment failing its checks or cooling down
  bool any_cooling = false;
  const auto now = Clock::now();
  double best_ms = -1;
  for (const auto& d : chosen.deployments) {
    const auto& h = *health_.at(d.name);
    all_failing = all_failing && h.check_failing();
    const bool cooling = h.cooldown_left(now).count() > 0;
    any_cooling = any_cooling || cooling;
    all_out = all_out && (h.check_failing() || cooling);
    const bool full =
        d.max_concurrency > 0 && h.in_flight() >= d.max_concurrency && h.queued() >= s.queue_depth;
    all_full = all_full && full;
    if (h.ewma_ms() > 0 && (best_ms < 0 || h.ewma_ms() < best_ms)) best_ms = h.ewma_ms();
  }
  bool capped = false;
  for (const auto& d : chosen.deployments) capped |= d.max_concurrency > 0;
  if (all_failing) {
    *why = "failing health checks";
  } else if (all_out && any_cooling) {
    // Its upstreams asked every caller to wait (429/503/529 with a stated wait).
    *why = "cooling down";
  } else if (capped && all_full) {
    *why = "queue full";
  } else if (s.ttft_target.count() > 0 && best_ms > static_cast<double>(s.ttft_target.count())) {
    *why = "first-byte latency " + std::to_string(static_cast<int64_t>(best_ms)) + " ms > " +
           std::to_string(s.ttft_target.count()) + " ms";
  } else {
    return nullptr;
  }
  return to;
}

bool Gateway::Route(RequestContext& ctx, const Routing& routing) {
  const auto& cfg = *config_;
  const std::string& m = ctx.req.model;
  const config::Tier* tier = nullptr;
  const config::Tier* spilled_from = nullptr;  // the watched tier a spilled request left
  if (m == "auto" || m.empty()) {
    if (routing.scorer) {
      // The learned (or length / rules / random) router: one score, thresholds pick the tier.
      const double score = routing.scorer->Score(RouteInputOf(ctx.req));
      ctx.route_score = score;
      const size_t i =
          std::min(routing::ChooseTier(score, routing.thresholds), cfg.tiers.size() - 1);
      tier = &cfg.tiers[i];
      ctx.route_reason =
          routing.kind +
          " score=" + routing::FormatScore(score, routing::ScoreDigits(score, routing.thresholds)) +
          " \u2192 " + tier->name;
      ctx.route_decision = observe::RouteDecision::kRouter;
    } else {
      tier = &cfg.DefaultTier();
      ctx.route_reason = "default tier=" + tier->name;
      ctx.route_decision = observe::RouteDecision::kDefault;
    }
    std::string why;
    if (const config::Tier* spill = SpillTarget(*tier, &why)) {
      ctx.route_reason += "; spilled to " + spill->name + " (" + tier->name + " " + why + ")";
      ctx.route_decision = observe::RouteDecision::kSpilled;
      spilled_from = tier;
      tier = spill;
    }
  } else if ((tier = cfg.FindTier(m))) {
    ctx.route_reason = "pinned tier=" + tier->name;
    ctx.route_decision = observe::RouteDecision::kPinned;
  } else if (const config::Deployment* d = cfg.FindDeployment(m)) {
    ctx.plan.push_back(d);
    ctx.route_reason = "pinned deployment=" + d->name;
    ctx.route_decision = observe::RouteDecision::kPinned;
    ctx.route_tier = d->tier;
    return true;
  } else {
    for (const auto& t : cfg.tiers)
      for (const auto& dep : t.deployments)
        if (dep.catalog == m || dep.model == m) ctx.plan.push_back(&dep);
    if (ctx.plan.empty()) return false;
    ctx.route_reason = "pinned model=" + m;
    ctx.route_decision = observe::RouteDecision::kPinned;
    ctx.route_tier = ctx.plan.front()->tier;
    return true;
  }
  ctx.route_tier = tier->name;

  // The chosen tier first, then the fallback tiers in the configured direction. A spilled
  // request has the spill target first, then the tier it left (saturated or slow is better than
  // failing), then that tier's fallbacks: the unspilled plan with the spill target in front.
  AppendTier(ctx, *tier);
  const config::Tier* base = tier;
  if (spilled_from) {
    AppendTier(ctx, *spilled_from);
    base = spilled_from;
  }
  const size_t chosen = static_cast<size_t>(base - cfg.tiers.data());
  auto fallback = [&](size_t i) {
    if (&cfg.tiers[i] != tier) AppendTier(ctx, cfg.tiers[i]);
  };
  const std::string& dir = cfg.fallback;
  if (dir == "up" || dir == "both")
    for (size_t i = chosen + 1; i < cfg.tiers.size(); ++i) fallback(i);
  if (dir == "down" || dir == "both")
    for (size_t i = chosen; i-- > 0;) fallback(i);
  return true;
}

}  // namespace triage::pipeline
