#include "pipeline/gateway.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <random>

#include "catalog/catalog.h"
#include "common/secrets.h"
#include "dialect/anthropic.h"
#include "dialect/openai.h"
#include "dialect/translate.h"
#include "observe/log.h"
#include "pipeline/attempt_util.h"
#include "routing/router.h"

namespace triage::pipeline {

namespace net = boost::asio;
using nlohmann::json;

// "req_", the milliseconds since the epoch (12 hex digits, most significant first), 12 random
// hex digits (48 bits). The ledger's primary key is this id: time-ordered ids land at the right
// edge of its index, where a group commit's rows share a page or two, while random ones each
// dirtied a leaf of their own, which every commit then wrote to the WAL and every checkpoint
// back to the database (docs/ledger.md).
std::string NewRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  const auto ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
  std::string id(4 + 24, '0');
  id.replace(0, 4, "req_");
  for (int j = 0; j < 12; ++j) id[4 + j] = kHex[(ms >> (4 * (11 - j))) & 15];
  uint64_t v = rng();
  for (int j = 0; j < 12; ++j, v >>= 4) id[16 + j] = kHex[v & 15];
  return id;
}

Result<std::unique_ptr<Gateway>> Gateway::Create(std::shared_ptr<const config::Config> config,
                                                 std::unique_ptr<store::Ledger> ledger,
                                                 Preloaded preloaded) {
  std::unique_ptr<Gateway> g(new Gateway());
  const catalog::ModelInfo* ref = catalog::Find(config->reference_model);
  if (!ref || !ref->price)
    return Error::Make(ErrorKind::kInternal, "bad_config",
                       "reference_model '" + config->reference_model + "' has no known price");
  // reference_model's price as this config pays it: the price override of the first deployment
  // of that model that has one (e.g. with its prompt-cache prices), else the catalog's.
  const config::Deployment* priced = config->ReferencePriceDeployment();
  g->reference_price_ = priced ? *priced->price : *ref->price;
  std::vector<std::string> tier_names;
  json data = json::array();
  auto add_model = [&](const std::string& id, const std::string& owner) {
    data.push_back({{"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", owner}});
  };
  add_model("auto", "triage");
  std::vector<std::string> seen;
  for (const auto& tier : config->tiers) {
    tier_names.push_back(tier.name);
    add_model(tier.name, "triage-tier");
    for (const auto& d : tier.deployments) {
      auto tls = preloaded.tls.find(d.name);
      auto p = upstream::MakeProvider(d, tls == preloaded.tls.end() ? nullptr : tls->second);
      if (!p) return p.error();
      g->providers_[d.name] = std::move(*p);
      add_model(d.name, "triage-deployment:" + tier.name);
    }
  }
  for (const auto& tier : config->tiers)
    for (const auto& d : tier.deployments)
      if (std::find(seen.begin(), seen.end(), d.catalog) == seen.end()) {
        seen.push_back(d.catalog);
        add_model(d.catalog, "catalog");
      }
  g->models_json_ = json{{"object", "list"}, {"data", data}}.dump();
  for (const auto& e : data) {
    if (!g->model_names_.empty()) g->model_names_ += ", ";
    g->model_names_ += e["id"].get<std::string>();
  }
  g->stats_ = std::make_unique<observe::Stats>(tier_names);
  const auto& b = config->breaker;
  upstream::BreakerPolicy breaker{
      b.consecutive_failures, b.error_rate, b.min_requests, b.window, b.open_for,
      b.half_open_probes};
  for (const auto& tier : config->tiers)
    for (const auto& d : tier.deployments) {
      auto h = std::make_unique<upstream::DeploymentHealth>(d.name, d.weight, breaker);
      h->on_transition = [](const std::string& name, upstream::BreakerState from,
                            upstream::BreakerState to) {
        json f = json::object();
        f["deployment"] = name;
        f["from"] = upstream::BreakerStateName(from);
        f["to"] = upstream::BreakerStateName(to);
        observe::Log(
            to == upstream::BreakerState::kOpen ? observe::Level::kWarn : observe::Level::kInfo,
            "circuit breaker", std::move(f));
      };
      g->health_[d.name] = std::move(h);
    }
  const auto& hc = config->health_checks;
  if (hc.interval.count() > 0) {
    std::vector<upstream::HealthChecker::Target> targets;
    for (const auto& tier : config->tiers)
      for (const auto& d : tier.deployments) {
        if (!d.HealthChecked()) continue;
        auto& h = *g->health_.at(d.name);
        h.EnableChecks(upstream::CheckPolicy{hc.unhealthy_after, hc.healthy_after});
        h.on_check_transition = [target = d.HealthCheckTarget()](
                                    const std::string& name, upstream::CheckState from,
                                    upstream::CheckState to, int status, const std::string& error) {
          json f = json::object();
          f["deployment"] = name;
          f["from"] = upstream::CheckStateName(from);
          f["to"] = upstream::CheckStateName(to);
          f["path"] = target;
          f["last_status"] = status == 0 ? json(nullptr) : json(status);
          if (!error.empty()) f["error"] = error;
          observe::Log(
              to == upstream::CheckState::kFailing ? observe::Level::kWarn : observe::Level::kInfo,
              "health check", std::move(f));
        };
        targets.push_back(upstream::HealthChecker::Target{g->providers_.at(d.name).get(), &h});
      }
    if (!targets.empty())
      g->checker_ = std::make_unique<upstream::HealthChecker>(std::move(targets), hc,
                                                              config->limits.max_response_bytes);
  }
  const auto& r = config->retry;
  g->retry_policy_ =
      upstream::RetryPolicy{r.max_attempts, r.backoff_base, r.backoff_max,  r.max_server_wait,
                            r.budget_ratio, r.budget_min,   r.cooldown_max, r.cooldown_min_share};
  g->retry_budget_ = std::make_unique<upstream::RetryBudget>(g->retry_policy_);
  if (preloaded.routing) {
    g->SetRouting(std::move(preloaded.routing));
  } else {
    auto routing = LoadRouting(*config);
    if (!routing) return routing.error();
    g->SetRouting(*routing);
  }
  g->ledger_ = std::move(ledger);
  g->config_ = std::move(config);
  for (const config::Tier& t : g->config_->tiers)
    if (t.hedge.enabled && t.hedge.p95)
      g->ttft_.emplace(t.name, std::make_unique<upstream::TtftWindow>());
  return g;
}

Gateway::~Gateway() = default;

void Gateway::StartHealthChecks(const std::vector<net::any_io_executor>& executors) {
  if (!checker_) return;
  const auto& hc = config_->health_checks;
  json f = json::object();
  f["deployments"] = checker_->size();
  f["interval_ms"] = hc.interval.count();
  f["timeout_ms"] = hc.timeout.count();
  observe::Log(observe::Level::kInfo, "health checks started", std::move(f));
  checker_->Start(executors);
}

void Gateway::StopHealthChecks() {
  if (checker_) checker_->Stop();
}

namespace {

bool HasModality(const config::Deployment& d, const char* modality) {
  const catalog::ModelInfo* m = catalog::Find(d.catalog);
  return m &&
         std::find(m->modalities.begin(), m->modalities.end(), modality) != m->modalities.end();
}

// Image and audio parts reach only deployments whose catalog entry has that modality.
bool HasModalities(const dialect::ChatRequest& req, const config::Deployment& d) {
  return (!req.has_image || HasModality(d, "image")) && (!req.has_audio || HasModality(d, "audio"));
}

// Whether the catalog model's context window (when known) holds `tokens`.
bool FitsContext(int64_t tokens, const config::Deployment& d) {
  const catalog::ModelInfo* m = catalog::Find(d.catalog);
  return !m || !m->context_tokens || *m->context_tokens >= tokens;  // unknown: let it try
}

}  // namespace

std::optional<Error> Gateway::Untranslatable(const dialect::ChatRequest& req,
                                             const config::Deployment& d) const {
  const upstream::Provider& p = *providers_.at(d.name);
  auto e = dialect::CheckTranslatable(req, p.wire());
  if (!e) e = dialect::CheckStopLimit(req, p.max_stop_sequences());
  return e;
}

Status Gateway::DropUntranslatable(RequestContext& ctx) const {
  ctx.unchecked.clear();
  // When the first candidate can take the request (its dialect, modalities and context window),
  // no refusal can come from the others: the dialect check of those that speak the other
  // dialect, which translates the request to look (~10% of a plain request's instructions
  // towards Anthropic), waits until the attempt loop reaches them, which it seldom does.
  std::optional<Error> front;  // checked once, here: towards the other dialect it costs
  if (!ctx.plan.empty()) front = Untranslatable(ctx.req, *ctx.plan.front());
  const bool defer = !ctx.plan.empty() && !front && HasModalities(ctx.req, *ctx.plan.front()) &&
                     FitsContext(EstimateTokens(ctx.req.prompt_chars), *ctx.plan.front());
  std::optional<Error> first;
  std::vector<const config::Deployment*> keep;
  for (size_t i = 0; i < ctx.plan.size(); ++i) {
    const config::Deployment* d = ctx.plan[i];
    if (defer && i > 0 && providers_.at(d->name)->wire() != ctx.req.dialect) {
      keep.push_back(d);
      ctx.unchecked.push_back(d);
      continue;
    }
    if (auto e = i == 0 ? front : Untranslatable(ctx.req, *d)) {
      if (!first) first = WithDeployment(*e, *d);
    } else {
      keep.push_back(d);
    }
  }
  if (keep.empty() && first) return *first;
  ctx.plan = std::move(keep);

  std::vector<const char*> needed;
  if (ctx.req.has_image) needed.push_back("image");
  if (ctx.req.has_audio) needed.push_back("audio");
  if (needed.empty()) return Ok{};
  std::vector<const config::Deployment*> capable;
  for (const config::Deployment* d : ctx.plan)
    if (HasModalities(ctx.req, *d)) capable.push_back(d);
  if (!capable.empty()) {
    ctx.plan = std::move(capable);
    return Ok{};
  }
  std::string what, names;
  for (const char* m : needed) what += (what.empty() ? "" : " and ") + std::string(m);
  for (const auto& t : config_->tiers)
    for (const auto& d : t.deployments)
      if (HasModalities(ctx.req, d))
        names += (names.empty() ? "" : ", ") + d.name + " (" + d.catalog + ")";
  Error e = Error::Make(
      ErrorKind::kInvalidRequest, "unsupported_modality",
      "messages contain " + what + " content, which no deployment for model '" + ctx.req.model +
          "' accepts; capable: " + (names.empty() ? std::string("none configured") : names));
  e.param = "messages";
  return e;
}

Status Gateway::KeepCapable(RequestContext& ctx) const {
  Status s = DropUntranslatable(ctx);
  if (s.ok()) s = DropSmallContexts(ctx);
  return s;
}

void Gateway::NoteCapabilityDetour(RequestContext& ctx) const {
  if (ctx.plan.empty() || ctx.route_tier.empty()) return;
  const std::string decided(ctx.route_tier);
  if (std::any_of(ctx.plan.begin(), ctx.plan.end(), [&](auto* d) { return d->tier == decided; }))
    return;
  const config::Tier* tier = config_->FindTier(decided);
  if (!tier) return;
  // Why the decided tier's deployments were all left out, in KeepCapable's order of checks.
  const int64_t tokens = EstimateTokens(ctx.req.prompt_chars);
  bool modal = false, fits = false;
  for (const config::Deployment& d : tier->deployments) {
    modal = modal || HasModalities(ctx.req, d);
    fits = fits || FitsContext(tokens, d);
  }
  std::string why;
  if (!modal) {
    why = std::string("cannot take ") +
          (ctx.req.has_image && ctx.req.has_audio ? "image and audio"
           : ctx.req.has_image                    ? "image"
                                                  : "audio") +
          " input";
  } else if (!fits) {
    why = "context window too small for about " + std::to_string(tokens) + " tokens";
  } else {
    why = "cannot take this request's parameters";
  }
  ctx.route_reason += "; " + decided + " " + why + " \u2192 " + ctx.plan.front()->tier;
}

Status Gateway::DropSmallContexts(RequestContext& ctx) const {
  const int64_t tokens = EstimateTokens(ctx.req.prompt_chars);
  auto fits = [tokens](const config::Deployment& d) { return FitsContext(tokens, d); };
  if (std::all_of(ctx.plan.begin(), ctx.plan.end(), [&](auto* d) { return fits(*d); })) return Ok{};
  std::vector<const config::Deployment*> keep;
  for (const config::Deployment* d : ctx.plan)
    if (fits(*d)) keep.push_back(d);
  if (!keep.empty()) {
    ctx.plan = std::move(keep);
    return Ok{};
  }
  std::string names;
  for (const auto& t : config_->tiers)
    for (const auto& d : t.deployments)
      if (fits(d)) names += (names.empty() ? "" : ", ") + d.name + " (" + d.catalog + ")";
  Error e = Error::Make(ErrorKind::kInvalidRequest, "context_length_exceeded",
                        "the prompt is about " + std::to_string(tokens) +
                            " tokens (characters / 4), more than the context window of every "
                            "deployment for model '" +
                            ClientNameForDisplay(ctx.req.model) + "'; large enough: " +
                            (names.empty() ? std::string("none configured") : names));
  e.param = "messages";  // as OpenAI says it
  return e;
}

Result<std::shared_ptr<const Gateway::Routing>> Gateway::LoadRouting(const config::Config& config) {
  auto r = std::make_shared<Routing>();
  r->spec = config.router;
  r->thresholds = config.thresholds;
  r->check_tool_calls = config.cascade_tool_calls == "check";
  r->cascade_keepalive = config.cascade_keepalive;
  if (config.router.empty()) return std::shared_ptr<const Routing>(r);
  const std::string& spec = config.router;
  // A malformed spec ("cascade:" without a file) is said as such, before any file is opened.
  auto parsed = routing::ParseRouterSpec(spec);
  if (!parsed) {
    Error e = parsed.error();
    e.message = "routing.router: " + e.message;
    return e;
  }
  r->kind = parsed->kind;
  if (r->kind == "cascade") {
    auto scorer = routing::LoadAnswerScorer(parsed->arg);
    if (!scorer) {
      Error e = scorer.error();
      e.message = "routing.router: " + e.message;
      return e;
    }
    std::shared_ptr<const routing::AnswerScorer> s = *scorer;
    r->judge = [s](const RequestContext& ctx, std::string_view answer) {
      // Same orientation as the request scorers: high = the strong model is needed, so the
      // thresholds `triage calibrate --router cascade:FILE` prints apply directly.
      return 1.0 - s->ScoreAnswer(RouteInputOf(ctx.req), answer);
    };
    r->judge_threshold = config.thresholds.empty() ? 0.5 : config.thresholds.front();
    return std::shared_ptr<const Routing>(r);
  }
  auto scorer = routing::MakeScorer(spec);
  if (!scorer) {
    Error e = scorer.error();
    e.message = "routing.router: " + e.message;
    return e;
  }
  r->scorer = *scorer;
  return std::shared_ptr<const Routing>(r);
}

void Gateway::SetAnswerJudge(AnswerJudge judge, double threshold) {
  auto r = std::make_shared<Routing>(*routing());
  r->judge = std::move(judge);
  r->judge_threshold = threshold;
  r->kind = "cascade";
  SetRouting(std::move(r));
}

std::shared_ptr<const Gateway::Routing> Gateway::routing() const {
  std::lock_guard lock(routing_mu_);
  return routing_;
}

void Gateway::SetRouting(std::shared_ptr<const Routing> r) {
  std::lock_guard lock(routing_mu_);
  routing_.swap(r);
  // The old snapshot (in r) is released after the lock, outside the requests' way.
}

Status Gateway::ReloadRouting(const config::Config& fresh) {
  const auto& tiers = config_->tiers;
  bool same = fresh.tiers.size() == tiers.size();
  for (size_t i = 0; same && i < tiers.size(); ++i) same = fresh.tiers[i].name == tiers[i].name;
  if (!same)
    return Error::Make(ErrorKind::kInvalidRequest, "reload_tiers_changed",
                       "the tiers differ from the running ones; restart to apply them");
  auto r = LoadRouting(fresh);
  if (!r) return r.error();
  SetRouting(*r);
  return Ok{};
}

std::string Gateway::ModelsJson() const { return models_json_; }

std::string Gateway::HealthPrometheus() const {
  std::string open, in_flight, ewma, check_failing, checks, cooldown;
  const auto now = Clock::now();
  for (const auto& tier : config_->tiers)
    for (const auto& d : tier.deployments) {
      const auto& h = *health_.at(d.name);
      const std::string inner = "tier=\"" + observe::PromLabel(tier.name) + "\",deployment=\"" +
                                observe::PromLabel(d.name) + "\"";
      const std::string labels = "{" + inner + "} ";
      const auto state = h.state(now);
      open += "triage_deployment_circuit_open" + labels +
              (state == upstream::BreakerState::kOpen ? "1" : "0") + "\n";
      in_flight += "triage_deployment_in_flight" + labels + std::to_string(h.in_flight()) + "\n";
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.6f", h.ewma_ms() / 1000.0);
      ewma += "triage_deployment_latency_ewma_seconds" + labels + buf + "\n";
      std::snprintf(buf, sizeof buf, "%.3f", h.cooldown_left(now).count() / 1000.0);
      cooldown += "triage_deployment_cooldown_seconds" + labels + buf + "\n";
      check_failing += "triage_deployment_health_check_failing" + labels +
                       (h.check_state() == upstream::CheckState::kFailing ? "1" : "0") + "\n";
      checks += "triage_deployment_health_checks_total{" + inner + ",result=\"pass\"} " +
                std::to_string(h.checks_passed()) + "\n";
      checks += "triage_deployment_health_checks_total{" + inner + ",result=\"fail\"} " +
                std::to_string(h.checks_failed()) + "\n";
    }
  return "# HELP triage_ledger_rows_written_late_total Rows whose commit failed (counted in "
         "triage_ledger_write_failures_total) but that were kept and committed later.\n"
         "# TYPE triage_ledger_rows_written_late_total counter\n"
         "triage_ledger_rows_written_late_total " +
         std::to_string(ledger_->written_late()) +
         "\n"
         "# HELP triage_ledger_checkpoints_total Background WAL checkpoints of a file ledger "
         "(PASSIVE, off the commit path).\n"
         "# TYPE triage_ledger_checkpoints_total counter\n"
         "triage_ledger_checkpoints_total " +
         std::to_string(ledger_->checkpoints()) +
         "\n"
         "# HELP triage_ledger_wal_restarts_total WAL restarts of a file ledger (RESTART "
         "checkpoints: the writer waits for each, ~1.5 ms).\n"
         "# TYPE triage_ledger_wal_restarts_total counter\n"
         "triage_ledger_wal_restarts_total " +
         std::to_string(ledger_->wal_restarts()) +
         "\n"
         "# HELP triage_deployment_circuit_open 1 while the deployment's circuit breaker is open.\n"
         "# TYPE triage_deployment_circuit_open gauge\n" +
         open +
         "# HELP triage_deployment_in_flight Upstream attempts in flight per deployment.\n"
         "# TYPE triage_deployment_in_flight gauge\n" +
         in_flight +
         "# HELP triage_deployment_latency_ewma_seconds Time to first byte, EWMA.\n"
         "# TYPE triage_deployment_latency_ewma_seconds gauge\n" +
         ewma +
         "# HELP triage_deployment_health_check_failing 1 while active health checks keep the "
         "deployment out of service.\n"
         "# TYPE triage_deployment_health_check_failing gauge\n" +
         check_failing +
         "# HELP triage_deployment_health_checks_total Active health checks by result.\n"
         "# TYPE triage_deployment_health_checks_total counter\n" +
         checks +
         "# HELP triage_deployment_cooldown_seconds Time left before the deployment is asked "
         "again, after its upstream asked callers to wait (429/503/529 with a stated wait).\n"
         "# TYPE triage_deployment_cooldown_seconds gauge\n" +
         cooldown;
}

json Gateway::HealthJson() const {
  json list = json::array();
  const auto now = Clock::now();
  for (const auto& tier : config_->tiers)
    for (const auto& d : tier.deployments) {
      json j = health_.at(d.name)->Snapshot(now);
      j["tier"] = tier.name;
      if (j["health_check"]["state"] != "off") j["health_check"]["path"] = d.HealthCheckTarget();
      list.push_back(std::move(j));
    }
  return list;
}

Headers Gateway::ResponseHeaders(const RequestContext& ctx, bool with_cost) const {
  Headers h;
  h.emplace_back("x-request-id", ctx.id);
  // The Anthropic SDKs read the id from `request-id` (error.requestID, message._request_id).
  if (ctx.dialect == dialect::Dialect::kAnthropic) h.emplace_back("request-id", ctx.id);
  h.emplace_back("x-triage-tier", ctx.deployment ? ctx.deployment->tier : "none");
  h.emplace_back("x-triage-deployment", ctx.deployment ? ctx.deployment->name : "none");
  if (!ctx.route_reason.empty()) h.emplace_back("x-triage-route", ctx.route_reason);
  if (!ctx.hedge.empty()) h.emplace_back("x-triage-hedge", std::string(ctx.hedge));
  if (ctx.deployment) {
    // Parameters the answering upstream's dialect cannot carry, or its deployment's `request:`
    // section removes or clamps, were dropped: say which. The attempt's provider listed them
    // when it translated and shaped the request (ctx.dropped; empty on a plain pass-through).
    if (ctx.parsed) {
      std::string list;
      for (const auto& d : ctx.dropped) list += (list.empty() ? "" : ", ") + d;
      if (!list.empty()) h.emplace_back("x-triage-dropped-params", list);
    }
  }
  if (with_cost) {
    h.emplace_back("x-triage-cost-usd", catalog::FormatUsd(ctx.cost_micros));
    h.emplace_back("x-triage-reference-cost-usd", catalog::FormatUsd(ctx.reference_cost_micros));
    h.emplace_back("x-triage-usage-estimated", UsageEstimatedHeader(ctx));
  }
  return h;
}

namespace {

// Completes when the ledger has committed the row; the callback arrives on the writer thread
// and is posted back to the request's executor.
net::awaitable<Status> AppendAndWait(store::Ledger& ledger, store::LedgerRow row) {
  auto ex = co_await net::this_coro::executor;
  Status st = co_await net::async_initiate<decltype(net::use_awaitable), void(Status)>(
      [&ledger, ex](auto handler, store::LedgerRow r) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        ledger.Append(std::move(r), [h, ex](Status s) {
          net::post(ex, [h, s = std::move(s)]() mutable { (*h)(std::move(s)); });
        });
      },
      net::use_awaitable, std::move(row));
  co_return st;
}

void LogLedgerFailure(const std::string& id, const Error& e) {
  json f = json::object();
  f["id"] = id;
  f["error"] = e.message;
  observe::Log(observe::Level::kError, "ledger write failed", std::move(f));
}

// The ledger row of a finished request. A plain function: g++ 12 mishandles conditional
// expressions of class type inside coroutines.
store::LedgerRow BuildRow(const RequestContext& ctx) {
  store::LedgerRow row;
  row.id = ctx.id;
  row.ts_ms = ctx.ts_ms;
  row.dialect = std::string(dialect::DialectName(ctx.dialect));
  row.requested_model = ClientNameForDisplay(ctx.req.model);  // a pasted key is not stored
  row.tier = ctx.deployment ? ctx.deployment->tier : "";
  row.deployment = ctx.deployment ? ctx.deployment->name : "";
  row.status = ctx.status;
  row.error_kind = ctx.error ? std::string(KindName(ctx.error->kind)) : "";
  if (ctx.error && ctx.error->code == "client_closed") row.error_kind = "client_closed";
  if (ctx.error && ctx.error->code == "shutting_down") row.error_kind = "shutdown";
  // The answer's usage, a cascade's cheap call, and what failed attempts' upstreams billed.
  row.input_tokens =
      ctx.usage.input_tokens + ctx.carried_usage.input_tokens + ctx.failed_usage.input_tokens;
  row.output_tokens =
      ctx.usage.output_tokens + ctx.carried_usage.output_tokens + ctx.failed_usage.output_tokens;
  row.cached_input_tokens = ctx.usage.cached_input_tokens + ctx.carried_usage.cached_input_tokens +
                            ctx.failed_usage.cached_input_tokens;
  row.cost_micros = ctx.cost_micros;
  row.reference_cost_micros = ctx.reference_cost_micros;
  row.price_known = ctx.price_known;
  row.stream = ctx.req.stream;
  row.attempts = ctx.attempts + ctx.carried_attempts;
  row.latency_ms = ctx.ElapsedMs();
  row.ttft_ms = ctx.ttft_ms;
  row.route = ctx.route_reason;
  row.route_score = ctx.route_score;
  row.usage_estimated = ctx.usage_estimated || ctx.failed_usage_estimated;
  row.failed_input_tokens = ctx.failed_usage.input_tokens;
  row.failed_output_tokens = ctx.failed_usage.output_tokens;
  row.failed_cost_micros = ctx.failed_cost_micros;
  row.web_search_requests = ctx.usage.web_search_requests + ctx.carried_usage.web_search_requests +
                            ctx.failed_usage.web_search_requests;

  return row;
}

// One line per request at debug level; failures always (warn for 5xx).
void LogRequest(const RequestContext& ctx, const store::LedgerRow& row) {
  if (!observe::LogEnabled(observe::Level::kDebug) && !ctx.error) return;
  json f = json::object();
  f["id"] = row.id;
  f["model"] = row.requested_model;
  f["tier"] = row.tier;
  f["deployment"] = row.deployment;
  f["route"] = row.route;
  f["status"] = row.status;
  f["error"] = row.error_kind;
  if (ctx.error) f["error_message"] = ctx.error->message;
  f["attempts"] = row.attempts;
  if (!ctx.hedge.empty()) f["hedge"] = ctx.hedge;
  f["latency_ms"] = row.latency_ms;
  f["cost_usd"] = catalog::FormatUsd(row.cost_micros);
  observe::Log(ctx.error && ctx.status >= 500 ? observe::Level::kWarn : observe::Level::kDebug,
               "request", std::move(f));
}

// The Retry-After of a refusal, in whole seconds: the upstream's wait rounded up, between 1 s
// and a day; 1 s when it gave none.
std::string RetryAfterSeconds(int64_t wait_ms) {
  const int64_t seconds = (wait_ms + 999) / 1000;
  return std::to_string(std::clamp<int64_t>(seconds, 1, 86400));
}

}  // namespace

net::awaitable<void> Gateway::Account(RequestContext& ctx) {
  if (ctx.accounted) co_return;
  ctx.accounted = true;
  // A hedge still running is cancelled, and its bill awaited: the row carries both attempts.
  if (ctx.race) co_await ctx.race->Settle();
  const catalog::Usage u = PricedUsage(ctx.usage);
  if (ctx.deployment) {
    auto price = ctx.deployment->EffectivePrice();
    ctx.price_known = price.has_value();
    ctx.cost_micros = price ? catalog::CostMicros(*price, u) : 0;
  }
  // The counterfactual prices the answer the client got, not the cascade's extra call. An
  // answer from the reference model itself cost what all-frontier costs: saved 0 exactly, even
  // when its deployment's price differs from reference_price_.
  if (ctx.deployment && ctx.price_known && ctx.deployment->catalog == config_->reference_model)
    ctx.reference_cost_micros = ctx.cost_micros;
  else
    ctx.reference_cost_micros = catalog::CostMicros(reference_price_, u);
  if (ctx.defer_ledger) co_return;  // a held cascade step: the caller accounts the request
  // Failed attempts' usage (reported or estimated) was billed by their upstreams: in the cost too.
  ctx.cost_micros += ctx.carried_cost_micros + ctx.failed_cost_micros;
  ctx.price_known = ctx.price_known && ctx.failed_price_known;

  store::LedgerRow row = BuildRow(ctx);
  observe::RequestRecord rec;
  rec.tier = row.tier;
  rec.status = ctx.status;
  rec.decision = ctx.route_decision;
  rec.route_tier = ctx.route_tier;
  rec.stream = ctx.req.stream;
  rec.error = ctx.error.has_value();
  rec.cost_micros = ctx.cost_micros;
  rec.reference_cost_micros = ctx.reference_cost_micros;
  rec.price_known = ctx.price_known;
  rec.input_tokens = row.input_tokens;
  rec.output_tokens = row.output_tokens;
  rec.attempts = row.attempts;  // a cascade's cheap calls included
  rec.latency_seconds = std::chrono::duration<double>(Clock::now() - ctx.start).count();
  rec.route_score = ctx.route_score;
  stats_->Record(rec);
  LogRequest(ctx, row);
  Status s = co_await AppendAndWait(*ledger_, std::move(row));
  if (!s.ok()) {
    stats_->AddLedgerFailure();
    LogLedgerFailure(ctx.id, s.error());
  }
}

net::awaitable<void> Gateway::EndCancelled(RequestContext& ctx, ClientWriter& out) {
  if (ctx.cancel->shutdown() && !ctx.client_gone && !ctx.committed) {
    co_await Refuse(ctx, ShutdownError(), out);
    co_return;
  }
  ctx.client_gone = true;
  ctx.status = ctx.committed || ctx.stream_begun ? 200 : 499;
  ctx.error = Error::Make(ErrorKind::kUpstream, "client_closed", "client closed the connection");
  co_await Account(ctx);
}

net::awaitable<void> Gateway::Refuse(RequestContext& ctx, Error error, ClientWriter& out) {
  if (ctx.keep_refusal && !ctx.cancel->fired()) {
    ctx.kept_refusal = std::move(error);  // the cascade answers with its held answer instead
    // A refusal ends the request's attempts: a hedge still running is cancelled and billed, as
    // Account does for one answered.
    if (ctx.race) co_await ctx.race->Settle();
    co_return;
  }
  // A stream the cascade's keep-alive began has sent its 200: the error ends it as an event.
  ctx.status = ctx.stream_begun ? 200 : ErrorStatus(ctx.dialect, error);
  ctx.error = error;
  co_await Account(ctx);
  Headers h = ResponseHeaders(ctx, true);
  h.emplace_back("content-type", "application/json");
  // "Come back later": when, is the upstream's own wait if it said (a 429's Retry-After, rate-
  // limit resets), so that SDKs do not come back at once only to be refused again; else 1 s.
  if (error.kind == ErrorKind::kRateLimit || error.kind == ErrorKind::kUnavailable ||
      (ctx.status == 529 && ctx.retry_after_ms > 0))
    h.emplace_back("retry-after", RetryAfterSeconds(ctx.retry_after_ms));
  // RFC 9110 15.5.16: a 415 for a content coding says which codings would have been accepted.
  if (error.kind == ErrorKind::kUnsupportedMediaType) h.emplace_back("accept-encoding", "identity");
  std::string body = ErrorBody(ctx.dialect, error, ctx.id);
  co_await out.Respond(ctx.status, h, std::move(body));
}

net::awaitable<void> Gateway::RefuseUnread(dialect::Dialect d, Error error, ClientWriter& out) {
  RequestContext ctx;
  ctx.id = NewRequestId();
  ctx.ts_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  ctx.dialect = d;
  co_await Refuse(ctx, std::move(error), out);
}

net::awaitable<void> Gateway::ChatCompletions(std::string_view body, ClientWriter& out,
                                              std::shared_ptr<upstream::CancelHook> cancel) {
  co_await Chat(dialect::Dialect::kOpenAI, body, out, std::move(cancel));
}

net::awaitable<void> Gateway::Messages(std::string_view body, ClientWriter& out,
                                       std::shared_ptr<upstream::CancelHook> cancel) {
  co_await Chat(dialect::Dialect::kAnthropic, body, out, std::move(cancel));
}

std::pair<int, std::string> Gateway::CountTokens(std::string_view body) const {
  auto parsed = dialect::ParseAnthropicMessages(body, config_->limits.max_json_depth, false);
  if (!parsed) {
    return {ErrorStatus(dialect::Dialect::kAnthropic, parsed.error()),
            ErrorBody(dialect::Dialect::kAnthropic, parsed.error())};
  }
  json j = json::object();
  j["input_tokens"] = dialect::EstimateTokens(*parsed);
  return {200, j.dump()};
}

net::awaitable<void> Gateway::Chat(dialect::Dialect d, std::string_view body, ClientWriter& out,
                                   std::shared_ptr<upstream::CancelHook> cancel) {
  RequestContext ctx;
  ctx.dialect = d;
  ctx.id = NewRequestId();
  ctx.ts_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  ctx.cancel = std::move(cancel);
  retry_budget_->OnRequest();
  stats_->AddInFlight(1);
  struct Done {
    observe::Stats& s;
    ~Done() { s.AddInFlight(-1); }
  } done{*stats_};

  auto parsed = ParseRequest(d, body, config_->limits.max_json_depth);
  if (!parsed) {
    co_await Refuse(ctx, parsed.error(), out);
    co_return;
  }
  ctx.req = std::move(*parsed);
  ctx.parsed = true;
  // One routing snapshot per request (a SIGHUP reload applies to the requests after it).
  const std::shared_ptr<const Routing> routing = this->routing();
  if (routing->judge && (ctx.req.model == "auto" || ctx.req.model.empty()) &&
      config_->tiers.size() > 1) {
    // The cascade builds its own plans (the cheap tier, then the escalation) and checks each:
    // the default tier's plan says nothing about them (with `fallback: none` it would refuse a
    // request the escalation tier can take).
    co_await Cascade(ctx, out, routing);
    co_return;
  }
  if (!Route(ctx, *routing)) {
    Error e = Error::Make(ErrorKind::kNotFound, "model_not_found",
                          "model '" + ClientNameForDisplay(ctx.req.model) +
                              "' not found; available: " + model_names_);
    co_await Refuse(ctx, std::move(e), out);
    co_return;
  }
  Status translatable = KeepCapable(ctx);
  if (!translatable.ok()) {
    Error e = translatable.error();
    co_await Refuse(ctx, std::move(e), out);
    co_return;
  }
  NoteCapabilityDetour(ctx);
  co_await Attempt(ctx, out);
}

net::awaitable<void> Gateway::Attempt(RequestContext& ctx, ClientWriter& out) {
  if (ctx.req.stream)
    co_await AttemptStream(ctx, out);
  else
    co_await AttemptUnary(ctx, out);
}

}  // namespace triage::pipeline
