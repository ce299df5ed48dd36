#pragma once
// The Gateway: immutable config, one provider per deployment, the ledger and live stats,
// and the chat pipeline's named phases. Built once at start; shared by every session thread.
// Thread-safe: members are immutable or internally synchronised (Ledger, Stats).
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/config.h"
#include "observe/stats.h"
#include "pipeline/cascade.h"
#include "pipeline/client_writer.h"
#include "pipeline/context.h"
#include "pipeline/race.h"
#include "store/ledger.h"
#include "upstream/health.h"
#include "upstream/health_checker.h"
#include "upstream/provider.h"
#include "upstream/retry.h"
#include "upstream/ttft_window.h"

namespace triage::routing {
class Scorer;
}

namespace triage::pipeline {

class Gateway {
 public:
  struct Routing;
  // What was loaded from the config's files before the gateway was made (`serve` loads them to
  // check them before the ledger opens): each file is read once.
  struct Preloaded {
    std::shared_ptr<const Routing> routing;  // LoadRouting's; null: loaded by Create
    // The TLS contexts of https deployments by deployment name (MakeTlsContext of their
    // ca_file and tls_verify); a deployment not here gets its own.
    std::unordered_map<std::string, std::shared_ptr<boost::asio::ssl::context>> tls;
  };
  // Builds providers for every deployment and the router. Errors name the deployment.
  static Result<std::unique_ptr<Gateway>> Create(std::shared_ptr<const config::Config> config,
                                                 std::unique_ptr<store::Ledger> ledger,
                                                 Preloaded preloaded = {});
  ~Gateway();

  // POST /v1/chat/completions: the whole pipeline for one request, ending with exactly one
  // ledger row. `cancel` fires when the client disconnects.
  boost::asio::awaitable<void> ChatCompletions(std::string_view body, ClientWriter& out,
                                               std::shared_ptr<upstream::CancelHook> cancel);
  // POST /v1/messages (Anthropic Messages): the same pipeline, Anthropic dialect in and out.
  boost::asio::awaitable<void> Messages(std::string_view body, ClientWriter& out,
                                        std::shared_ptr<upstream::CancelHook> cancel);
  // POST /v1/messages/count_tokens: status and body ({"input_tokens": N} or an error).
  std::pair<int, std::string> CountTokens(std::string_view body) const;
  // A chat request refused before the pipeline could read it (413, 431, 408, a malformed head or
  // body, 415 for a content coding): still accounted.
  boost::asio::awaitable<void> RefuseUnread(dialect::Dialect dialect, Error error,
                                            ClientWriter& out);

  // GET /v1/models body (OpenAI list format).
  std::string ModelsJson() const;
  // GET /readyz detail: every deployment's circuit state, load, latency EWMA and health check.
  nlohmann::json HealthJson() const;
  // The same as Prometheus series: triage_deployment_circuit_open, _in_flight, _latency_ewma,
  // _health_check_failing, _health_checks_total.
  std::string HealthPrometheus() const;

  // Active health checks (health_checks.interval_ms > 0; every HTTP deployment not exempted):
  // starts one loop per checked deployment on `executors`, round robin. Call once, when serving
  // starts. REQUIRES: the executors' io_contexts are destroyed before this gateway.
  void StartHealthChecks(const std::vector<boost::asio::any_io_executor>& executors);
  // Stops them promptly (their waits and checks in flight are cancelled). Thread-safe,
  // idempotent. REQUIRES: the io_contexts given to StartHealthChecks still exist.
  void StopHealthChecks();
  // A deployment's health (breaker, load, checks). REQUIRES: the deployment exists. For tests
  // and operators' tools; the pipeline reaches it through the plan.
  upstream::DeploymentHealth& health(const std::string& deployment) {
    return *health_.at(deployment);
  }

  // The cascade's judge: given the cheap tier's answer, the probability that the strong model is
  // still needed (1 - the answer scorer's score). The answer is released below the threshold.
  // Set from routing.router "cascade:FILE" at Create; tests may set their own before serving.
  using AnswerJudge = std::function<double(const RequestContext&, std::string_view answer)>;
  void SetAnswerJudge(AnswerJudge judge, double threshold);

  // routing.router, routing.thresholds, routing.cascade_tool_calls and
  // routing.cascade_keepalive_ms as one immutable
  // snapshot. Each request reads it once, so a reload never mixes an old router with new
  // thresholds.
  struct Routing {
    std::string spec;                               // routing.router ("" = none)
    std::string kind;                               // "learned", "length", ... for x-triage-route
    std::shared_ptr<const routing::Scorer> scorer;  // request scorer; null for cascade or none
    AnswerJudge judge;                              // the live cascade's judge; empty otherwise
    // The judge's first threshold (release below it); routing.thresholds[1..] pick the tier an
    // escalation goes to.
    double judge_threshold = 0.5;
    // routing.cascade_tool_calls "check": the cascade checks a cheap answer's tool calls
    // (CheckToolCall) instead of judging a call alone as an empty answer.
    bool check_tool_calls = true;
    // routing.cascade_keepalive_ms: a streamed cheap answer held this long without a byte to
    // the client begins the client's stream and sends `: keep-alive` comments; 0 = never.
    std::chrono::milliseconds cascade_keepalive{15000};
    std::vector<double> thresholds;
  };
  // The current snapshot. Thread-safe: requests on every io thread read it while a reload
  // replaces it.
  std::shared_ptr<const Routing> routing() const;
  // SIGHUP: applies `fresh`'s routing.router, routing.thresholds, routing.cascade_tool_calls and
  // routing.cascade_keepalive_ms
  // (model file re-read) to requests that start from now on. Refused, keeping the current
  // routing, when the router does not load or the tiers differ from the running ones (other
  // sections need a restart).
  Status ReloadRouting(const config::Config& fresh);

  // The live cascade's decision on a held cheap answer.
  struct Verdict {
    bool escalate = false;
    // The tier the answer goes to: 0 releases it; 1 or more escalates there. The judge's score
    // picks it with the thresholds, as ChooseTier does for the other routers (three tiers: a
    // score at or above the second threshold goes to the third); an invalid tool call alone
    // escalates to tier 1.
    size_t tier = 0;
    bool judged = false;  // some choice's text was scored by the judge
    double score = -1;    // the highest judge score (when judged)
    // What the decision rests on, for x-triage-route ("cascade BASIS -> TIER"): "score=S < T",
    // "tool call checked", "score=S >= T; tool calls checked", "tool call invalid (WHY)"...
    std::string basis;
  };
  // Judges the choices of the cheap answer (`cheap` holds the request) with `routing`'s judge,
  // and checks their tool calls when routing.check_tool_calls. A plain function, for tests.
  static Verdict Decide(const Routing& routing, const RequestContext& cheap,
                        const std::vector<AnswerChoice>& choices);

  const config::Config& config() const { return *config_; }
  observe::Stats& stats() { return *stats_; }
  store::Ledger& ledger() { return *ledger_; }

  // routing.router: a request scorer (learned, length, rules, random) or, for "cascade:FILE",
  // the answer judge of the live cascade; with routing.thresholds. Reads the model file.
  static Result<std::shared_ptr<const Routing>> LoadRouting(const config::Config& config);

 private:
  Gateway() = default;

  // One admitted attempt: its plan index, when it was admitted, and when its first byte came
  // (set by the sinks; the EWMA's latency).
  struct AttemptSlot {
    size_t index = 0;
    Clock::time_point start;
    std::optional<Clock::time_point> first_byte;
  };
  // Where the attempt loop stands in the plan (one per request).
  struct AttemptCursor {
    size_t next = 0;         // plan index to consider next
    std::vector<int> tries;  // per plan index
    std::vector<std::optional<std::chrono::milliseconds>> server_wait;  // per plan index
    // Per plan index: not asked again within the request. Set when it answered 401/403/404 (its
    // key or model is wrong) or said the prompt overflows its context window (then also on
    // every deployment serving the same model from the same server).
    std::vector<char> excluded;
    AttemptSlot slot;     // the attempt NextAttempt (or AdmitHedge) admitted last
    bool hedged = false;  // a hedge started for this request (at most one does)
    int retries = 0;
    int breaker_skips = 0;
    int check_skips = 0;  // skipped: failing its active health checks
    int full_skips = 0;
    int server_wait_skips = 0;
    int cooldown_skips = 0;                      // skipped: its upstream asked every caller to wait
    std::chrono::milliseconds cooldown_left{0};  // the shortest of those waits
    int cooldown_status = 0;                     // and the status that asked for it
    bool budget_denied = false;
  };
  // How one attempt (or a race of two) ended for the loop: kContinue tries the next deployment,
  // kReturn means the request was answered or refused, kBreak that it was cancelled. kNone: no
  // hedge ran.
  enum class Step { kNone, kContinue, kReturn, kBreak };
  // One attempt of a loop on deployment `d` admitted as `slot`: attempt `me` of `race`, called
  // with `hook` (the request's own when it runs alone).
  using AttemptFn =
      std::function<boost::asio::awaitable<Step>(const config::Deployment* d, AttemptSlot slot,
                                                 Race& race, int me, upstream::CancelHook* hook)>;
  // Runs `run` on `d` (just admitted by NextAttempt) and, when its tier hedges and this request
  // has not hedged yet, a hedge on another deployment once the first has no first token after
  // the tier's delay. Returns when both have ended.
  boost::asio::awaitable<Step> RaceAttempts(RequestContext& ctx, AttemptCursor& cur,
                                            const config::Deployment* d, const AttemptFn& run);
  // Admits the hedge of the attempt at plan index `first`: the next deployment of the plan, in
  // plan order, not yet tried by this request, that admits it now (breaker, health checks,
  // caps; never queued, never waited for), within retry.max_attempts and the retry budget
  // (a hedge takes a retry token). nullptr: none, and no hedge starts.
  const config::Deployment* AdmitHedge(RequestContext& ctx, AttemptCursor& cur, size_t first);
  // The hedge delay of `tier`: hedge.after_ms, or its time-to-first-token p95 (at least
  // hedge.min_after_ms) once it has hedge.min_samples first tokens.
  std::chrono::milliseconds HedgeDelay(const config::Tier& tier) const;
  // Attempt `me` of `race` (on `d`, admitted as `slot`, slot.first_byte set) produced its first
  // token: true when it answers (Race::Claim; the other is cancelled), and then it is the
  // request's deployment, its time to first token goes to the p95 window, and x-triage-hedge
  // says who won. False: the other attempt answers, this one must stop.
  bool ClaimFirstToken(RequestContext& ctx, Race& race, int me, const config::Deployment& d,
                       const AttemptSlot& slot);
  // An attempt on `d` produced its first token at slot.first_byte: its tier's p95 window.
  void NoteFirstToken(const config::Deployment& d, const AttemptSlot& slot);

  boost::asio::awaitable<void> Chat(dialect::Dialect d, std::string_view body, ClientWriter& out,
                                    std::shared_ptr<upstream::CancelHook> cancel);

  // The attempt loop for the request's mode (unary or stream).
  boost::asio::awaitable<void> Attempt(RequestContext& ctx, ClientWriter& out);
  // Cascade: the cheapest tier answers first, held; its answer is scored; above the threshold
  // it is released, below it the request escalates to the next tier (live).
  boost::asio::awaitable<void> Cascade(RequestContext& ctx, ClientWriter& out,
                                       std::shared_ptr<const Routing> routing);

  // Phases. Route returns false when the model names nothing (the caller refuses).
  bool Route(RequestContext& ctx, const Routing& routing);
  // Removes from the plan the deployments whose dialect cannot express this request (OpenAI
  // n > 1 or audio towards Anthropic) or whose catalog model lacks a modality it uses (image,
  // audio); a clear 400 naming the capable deployments when none is left.
  // When the plan's first deployment can take the request, the dialect check of the others that
  // speak the other dialect is left to NextAttempt (ctx.unchecked): the same deployments are
  // tried, and no refusal depends on them.
  Status DropUntranslatable(RequestContext& ctx) const;
  // Why deployment `d` cannot take `req` in its dialect (CheckTranslatable, CheckStopLimit).
  std::optional<Error> Untranslatable(const dialect::ChatRequest& req,
                                      const config::Deployment& d) const;
  // Removes the deployments whose catalog model's context window (when known) is smaller than
  // the prompt's estimated tokens (characters / 4); a 400 context_length_exceeded naming the
  // deployments with a large enough window when none is left.
  Status DropSmallContexts(RequestContext& ctx) const;
  // Both of the above: the plan keeps only the deployments that can take the request.
  Status KeepCapable(RequestContext& ctx) const;
  // After KeepCapable on a routed plan: when none of the decided tier's deployments could take
  // the request, says so in the route text ("; open cannot take image input \u2192 mid").
  void NoteCapabilityDetour(RequestContext& ctx) const;
  // Appends a tier's deployments to the plan, balanced (power of two choices).
  void AppendTier(RequestContext& ctx, const config::Tier& tier) const;
  // The tier `auto` goes to after spill-over: when the watched tier is saturated.
  const config::Tier* SpillTarget(const config::Tier& chosen, std::string* why) const;
  // Picks, waits for (backoff, Retry-After, queue) and admits the next attempt's deployment;
  // nullptr when the plan, the attempts or the retry budget are exhausted.
  boost::asio::awaitable<const config::Deployment*> NextAttempt(RequestContext& ctx,
                                                                AttemptCursor& cur);
  // Records how the current attempt ended (health, EWMA, breaker, retry bookkeeping).
  // A stated `server_wait` (a 429 / 503 / 529, `upstream_status`) also starts the deployment's
  // cool-down for every request, at most retry.cooldown_max_ms.
  void EndAttempt(RequestContext& ctx, AttemptCursor& cur, const AttemptSlot& slot,
                  upstream::DeploymentHealth::Outcome outcome,
                  std::optional<std::chrono::milliseconds> server_wait, int upstream_status = 0);
  // The current attempt's deployment said the prompt overflows its model's context window:
  // excludes it, and every deployment of the plan serving the same model from the same server
  // (provider, base_url, model), for the rest of the request.
  void ExcludeSameModel(RequestContext& ctx, AttemptCursor& cur, size_t index);
  // The error for a request whose attempts all failed (or never started). One refused only
  // because its deployments were cooling down gets the shortest time left as its retry-after.
  Error ExhaustedError(RequestContext& ctx, const AttemptCursor& cur,
                       std::optional<Error> last) const;
  boost::asio::awaitable<void> AttemptUnary(RequestContext& ctx, ClientWriter& out);
  boost::asio::awaitable<void> AttemptStream(RequestContext& ctx, ClientWriter& out);
  // The one way to refuse: error body in the client's dialect, status, accounting.
  boost::asio::awaitable<void> Refuse(RequestContext& ctx, Error error, ClientWriter& out);
  // The end of a cancelled request: a 503 in the client's dialect when the shutdown grace period
  // ran out and nothing was sent yet, else accounted as client_closed (499, or 200 for a stream
  // that had begun). The one place both cancellations are told apart.
  boost::asio::awaitable<void> EndCancelled(RequestContext& ctx, ClientWriter& out);
  // Prices the usage, writes the ledger row (waiting for its commit) and records stats.
  // Runs exactly once per request.
  boost::asio::awaitable<void> Account(RequestContext& ctx);
  Headers ResponseHeaders(const RequestContext& ctx, bool with_cost) const;

  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<store::Ledger> ledger_;
  std::unique_ptr<observe::Stats> stats_;
  std::unordered_map<std::string, std::unique_ptr<upstream::Provider>> providers_;
  void SetRouting(std::shared_ptr<const Routing> r);
  // Not std::atomic<std::shared_ptr>: libstdc++ 12's load() releases its internal spin lock
  // with a relaxed store, so its read of the pointer is not ordered before a concurrent store's
  // write (a data race ThreadSanitizer reported between a SIGHUP reload and requests; on a
  // weakly-ordered CPU a reader could pair the new pointer with the old reference count). That
  // load took a lock too, so this mutex costs a request about the same.
  mutable std::mutex routing_mu_;
  std::shared_ptr<const Routing> routing_{std::make_shared<const Routing>()};  // routing_mu_
  std::unordered_map<std::string, std::unique_ptr<upstream::DeploymentHealth>> health_;
  std::unique_ptr<upstream::HealthChecker> checker_;  // null when health checks are off
  upstream::RetryPolicy retry_policy_;
  std::unique_ptr<upstream::RetryBudget> retry_budget_;
  // Time-to-first-token windows of the tiers whose hedge uses `after: p95`, by tier name.
  std::unordered_map<std::string, std::unique_ptr<upstream::TtftWindow>> ttft_;
  catalog::Price reference_price_;
  std::string models_json_;
  std::string model_names_;  // "auto, open, gemma-local, ..." for model_not_found messages
};

// "req_" + 24 random hex characters. Thread-safe.
std::string NewRequestId();

}  // namespace triage::pipeline
