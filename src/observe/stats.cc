#include "observe/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "catalog/catalog.h"

namespace triage::observe {

std::string PromLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string_view RouteDecisionName(RouteDecision d) {
  switch (d) {
    case RouteDecision::kRouter:
      return "router";
    case RouteDecision::kDefault:
      return "default";
    case RouteDecision::kSpilled:
      return "spilled";
    case RouteDecision::kPinned:
      return "pinned";
    case RouteDecision::kCascadeReleased:
      return "cascade_released";
    case RouteDecision::kCascadeEscalated:
      return "cascade_escalated";
    case RouteDecision::kCascadeCheapFailed:
      return "cascade_cheap_failed";
    default:
      return "none";
  }
}

Stats::Stats(std::vector<std::string> tiers) {
  for (auto& t : tiers) {
    tiers_.push_back(std::make_unique<TierStats>());
    tiers_.back()->name = t;
  }
  none_.name = "none";
}

std::string_view HedgeResultName(HedgeResult r) {
  switch (r) {
    case HedgeResult::kWon:
      return "won";
    case HedgeResult::kLost:
      return "lost";
    case HedgeResult::kFailed:
      return "failed";
    case HedgeResult::kCancelled:
      return "cancelled";
    case HedgeResult::kSkipped:
      return "skipped";
    case HedgeResult::kCount:
      break;
  }
  return "unknown";
}

Stats::TierStats* Stats::Find(std::string_view tier) {
  for (auto& t : tiers_)
    if (t->name == tier) return t.get();
  return &none_;
}

void Stats::Record(const RequestRecord& r) {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  TierStats* t = Find(r.tier);
  t->requests.fetch_add(1, kRelaxed);
  if (r.decision != RouteDecision::kNone && r.decision < RouteDecision::kCount)
    Find(r.route_tier)->routed[static_cast<size_t>(r.decision)].fetch_add(1, kRelaxed);
  if (r.error) t->errors.fetch_add(1, kRelaxed);
  t->cost.fetch_add(r.cost_micros, kRelaxed);
  t->reference.fetch_add(r.reference_cost_micros, kRelaxed);
  if (!r.price_known) {
    t->unpriced.fetch_add(1, kRelaxed);
    t->unpriced_cost.fetch_add(r.cost_micros, kRelaxed);
    t->unpriced_reference.fetch_add(r.reference_cost_micros, kRelaxed);
  }
  t->in_tokens.fetch_add(r.input_tokens, kRelaxed);
  t->out_tokens.fetch_add(r.output_tokens, kRelaxed);
  int cls = r.status / 100;
  by_class_[(cls >= 1 && cls <= 5) ? cls : 0].fetch_add(1, kRelaxed);
  attempts_.fetch_add(r.attempts, kRelaxed);
  if (r.stream) streams_.fetch_add(1, kRelaxed);
  size_t b = 0;
  while (b < kBuckets.size() && r.latency_seconds > kBuckets[b]) ++b;
  hist_[b].fetch_add(1, kRelaxed);
  latency_sum_us_.fetch_add(static_cast<int64_t>(r.latency_seconds * 1e6), kRelaxed);
  const bool by_router =
      r.decision == RouteDecision::kRouter || r.decision == RouteDecision::kSpilled;
  const bool by_cascade = r.decision == RouteDecision::kCascadeReleased ||
                          r.decision == RouteDecision::kCascadeEscalated;
  if (r.route_score >= 0 && (by_router || by_cascade)) {
    const double x = std::min(r.route_score, 1.0);
    // Bucket i holds scores in (0.05 i, 0.05 (i + 1)]; 0 goes to the first.
    size_t i = x <= 0 ? 0 : static_cast<size_t>(std::ceil(x * kScoreBuckets - 1e-9)) - 1;
    i = std::min(i, kScoreBuckets - 1);
    const int k = by_router ? 0 : 1;
    score_hist_[k][i].fetch_add(1, kRelaxed);
    score_sum_millionths_[k].fetch_add(static_cast<int64_t>(std::llround(x * 1e6)), kRelaxed);
  }
}

int64_t Stats::total_requests() const {
  int64_t n = none_.requests.load();
  for (auto& t : tiers_) n += t->requests.load();
  return n;
}

std::string Stats::Prometheus() const {
  std::string out;
  auto line = [&](const std::string& s) {
    out += s;
    out += '\n';
  };
  // Exact decimal digits of the integer micros (a double loses the last ones above 2^53).
  auto usd = [](int64_t micros) { return catalog::FormatUsd(micros); };
  std::vector<const TierStats*> all;
  for (auto& t : tiers_) all.push_back(t.get());
  all.push_back(&none_);
  line(
      "# HELP triage_requests_total Requests finished (answered or not), by the tier that "
      "answered or was last tried (none: no tier).");
  line("# TYPE triage_requests_total counter");
  for (auto* t : all)
    line("triage_requests_total{tier=\"" + PromLabel(t->name) + "\"} " +
         std::to_string(t->requests.load()));
  line("# HELP triage_request_errors_total Requests that ended in an error, by tier.");
  line("# TYPE triage_request_errors_total counter");
  for (auto* t : all)
    line("triage_request_errors_total{tier=\"" + PromLabel(t->name) + "\"} " +
         std::to_string(t->errors.load()));
  line("# HELP triage_cost_usd_total Spend from real usage at catalog prices.");
  line("# TYPE triage_cost_usd_total counter");
  for (auto* t : all)
    line("triage_cost_usd_total{tier=\"" + PromLabel(t->name) + "\"} " + usd(t->cost.load()));
  line("# HELP triage_reference_cost_usd_total The same usage priced at the reference model.");
  line("# TYPE triage_reference_cost_usd_total counter");
  for (auto* t : all)
    line("triage_reference_cost_usd_total{tier=\"" + PromLabel(t->name) + "\"} " +
         usd(t->reference.load()));
  line(
      "# HELP triage_unpriced_reference_cost_usd_total Of triage_reference_cost_usd_total, the "
      "part of requests whose own price is unknown (they add 0 to triage_cost_usd_total).");
  line("# TYPE triage_unpriced_reference_cost_usd_total counter");
  for (auto* t : all)
    line("triage_unpriced_reference_cost_usd_total{tier=\"" + PromLabel(t->name) + "\"} " +
         usd(t->unpriced_reference.load()));
  line(
      "# HELP triage_route_decisions_total Requests by how their tier was chosen and the tier "
      "chosen (before any fallback).");
  line("# TYPE triage_route_decisions_total counter");
  for (size_t d = 1; d < static_cast<size_t>(RouteDecision::kCount); ++d)
    for (const auto& t : tiers_)  // every tier and decision, so series exist from the start
      line("triage_route_decisions_total{decision=\"" +
           std::string(RouteDecisionName(static_cast<RouteDecision>(d))) + "\",tier=\"" +
           PromLabel(t->name) + "\"} " + std::to_string(t->routed[d].load()));
  line(
      "# HELP triage_hedges_total Hedged requests (tiers[].hedge) by the tier hedged and how the "
      "hedge ended: won, lost, failed, cancelled, or skipped (the delay passed, none started).");
  line("# TYPE triage_hedges_total counter");
  for (size_t h = 0; h < static_cast<size_t>(HedgeResult::kCount); ++h)
    for (const auto& t : tiers_)
      line("triage_hedges_total{tier=\"" + PromLabel(t->name) + "\",result=\"" +
           std::string(HedgeResultName(static_cast<HedgeResult>(h))) + "\"} " +
           std::to_string(t->hedges[h].load()));
  line("# HELP triage_tokens_total Tokens by direction and tier.");
  line("# TYPE triage_tokens_total counter");
  for (auto* t : all) {
    line("triage_tokens_total{tier=\"" + PromLabel(t->name) + "\",direction=\"input\"} " +
         std::to_string(t->in_tokens.load()));
    line("triage_tokens_total{tier=\"" + PromLabel(t->name) + "\",direction=\"output\"} " +
         std::to_string(t->out_tokens.load()));
  }
  line("# HELP triage_responses_total Responses by HTTP status class.");
  line("# TYPE triage_responses_total counter");
  const char* classes[] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (int i = 0; i < 6; ++i)
    line(std::string("triage_responses_total{code=\"") + classes[i] + "\"} " +
         std::to_string(by_class_[i].load()));
  line("# HELP triage_upstream_attempts_total Upstream attempts made.");
  line("# TYPE triage_upstream_attempts_total counter");
  line("triage_upstream_attempts_total " + std::to_string(attempts_.load()));
  line(
      "# HELP triage_ledger_write_failures_total Requests whose ledger row could not be "
      "written (answered, counted here, but missing from the ledger).");
  line("# TYPE triage_ledger_write_failures_total counter");
  line("triage_ledger_write_failures_total " + std::to_string(ledger_failures_.load()));
  line(
      "# HELP triage_config_reloads_total SIGHUP reloads of the config file, by result (failed: "
      "the running routing stayed).");
  line("# TYPE triage_config_reloads_total counter");
  line("triage_config_reloads_total{result=\"ok\"} " + std::to_string(reloads_ok_.load()));
  line("triage_config_reloads_total{result=\"failed\"} " + std::to_string(reloads_failed_.load()));
  line(
      "# HELP triage_config_last_reload_successful 0 while the last SIGHUP reload failed, 1 "
      "otherwise (also before any reload).");
  line("# TYPE triage_config_last_reload_successful gauge");
  line(std::string("triage_config_last_reload_successful ") + (last_reload_ok_.load() ? "1" : "0"));
  line("# HELP triage_in_flight_requests Requests being handled now.");
  line("# TYPE triage_in_flight_requests gauge");
  line("triage_in_flight_requests " + std::to_string(in_flight_.load()));
  line(
      "# HELP triage_request_duration_seconds Request start to the moment it is accounted "
      "(its ledger row handed to the writer; writing to the client not included).");
  line("# TYPE triage_request_duration_seconds histogram");
  int64_t cum = 0;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    cum += hist_[i].load();
    char le[32];
    std::snprintf(le, sizeof le, "%g", kBuckets[i]);
    line(std::string("triage_request_duration_seconds_bucket{le=\"") + le + "\"} " +
         std::to_string(cum));
  }
  cum += hist_[kBuckets.size()].load();
  line("triage_request_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(cum));
  char sum[64];
  std::snprintf(sum, sizeof sum, "%.6f", latency_sum_us_.load() / 1e6);
  line(std::string("triage_request_duration_seconds_sum ") + sum);
  line("triage_request_duration_seconds_count " + std::to_string(cum));
  line(
      "# HELP triage_route_score Scores behind routing decisions: the router's before the call, "
      "the live cascade's on the cheap answer (higher = a stronger tier is needed).");
  line("# TYPE triage_route_score histogram");
  for (int k = 0; k < 2; ++k) {
    const std::string kind = k == 0 ? "router" : "cascade";
    int64_t n = 0;
    for (size_t i = 0; i < kScoreBuckets; ++i) {
      n += score_hist_[k][i].load();
      char le[16];
      std::snprintf(le, sizeof le, "%.2f", static_cast<double>(i + 1) / kScoreBuckets);
      line("triage_route_score_bucket{kind=\"" + kind + "\",le=\"" + le + "\"} " +
           std::to_string(n));
    }
    line("triage_route_score_bucket{kind=\"" + kind + "\",le=\"+Inf\"} " + std::to_string(n));
    char sum[64];
    std::snprintf(sum, sizeof sum, "%.6f", score_sum_millionths_[k].load() / 1e6);
    line("triage_route_score_sum{kind=\"" + kind + "\"} " + sum);
    line("triage_route_score_count{kind=\"" + kind + "\"} " + std::to_string(n));
  }
  return out;
}

std::string Stats::Summary() const {
  // cost and ref: requests whose price is known only. An unpriced request's cost is unknown
  // (counted 0) while its reference cost is not: with it, the saving claimed what nobody paid.
  int64_t n = 0, cost = 0, ref = 0, errors = 0, unpriced = 0;
  auto money = [&](const TierStats& t) {
    // The unpriced parts first: Record adds them after the totals they are part of.
    const int64_t unpriced_cost = t.unpriced_cost.load();
    const int64_t unpriced_ref = t.unpriced_reference.load();
    unpriced += t.unpriced.load();
    cost += t.cost.load() - unpriced_cost;
    ref += t.reference.load() - unpriced_ref;
  };
  std::string per;
  for (auto& t : tiers_) {
    int64_t r = t->requests.load();
    n += r;
    errors += t->errors.load();
    money(*t);
    if (!per.empty()) per += ", ";
    per += t->name + " " + std::to_string(r);
  }
  // Refused before a tier was chosen (bad request, unknown model, ...): every one an error.
  const int64_t no_tier = none_.requests.load();
  n += no_tier;
  errors += none_.errors.load();
  money(none_);
  if (no_tier) per += ", no tier " + std::to_string(no_tier);
  std::string out = "requests " + std::to_string(n) + " (" + per + ")";
  if (errors) out += " | errors " + std::to_string(errors);
  char buf[256];
  double saved = ref > 0 ? 100.0 * (1.0 - static_cast<double>(cost) / ref) : 0.0;
  std::snprintf(buf, sizeof buf, " | spend $%s | all-frontier $%s | saved %.1f%%",
                catalog::FormatUsd(cost).c_str(), catalog::FormatUsd(ref).c_str(), saved);
  out += buf;
  if (unpriced) out += " | " + std::to_string(unpriced) + " unpriced";
  return out;
}

}  // namespace triage::observe
