#pragma once
// RequestContext: everything one request carries through the named phases
// (parse -> route -> attempt loop -> respond -> account). Owned by the handling coroutine;
// never shared across threads.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "config/config.h"
#include "dialect/openai.h"
#include "dialect/types.h"
#include "observe/stats.h"
#include "upstream/http_client.h"

namespace triage::pipeline {

struct Race;
using Clock = std::chrono::steady_clock;

struct RequestContext {
  std::string id;
  Clock::time_point start = Clock::now();
  int64_t ts_ms = 0;
  dialect::Dialect dialect = dialect::Dialect::kOpenAI;
  dialect::ChatRequest req;
  bool parsed = false;
  std::string requested_model;

  // route
  std::vector<const config::Deployment*> plan;
  // Deployments of the plan whose dialect check waits for the attempt loop to reach them
  // (Gateway::DropUntranslatable): a failing one is then skipped, as if never planned.
  std::vector<const config::Deployment*> unchecked;
  std::string route_reason;  // x-triage-route
  double route_score = -1;   // the router (or cascade) score behind route_reason; -1 = none
  observe::RouteDecision route_decision = observe::RouteDecision::kNone;
  std::string_view route_tier;  // tier the decision chose (a name owned by the config)

  // attempt loop
  const config::Deployment* deployment = nullptr;  // answered, or last tried
  int attempts = 0;
  dialect::TokenUsage usage;
  bool usage_reported = false;  // the upstream reported usage for this attempt
  // Some of the row's tokens are triage's estimate (ceil(chars / 4)): ledger usage_estimated.
  bool usage_estimated = false;
  int64_t ttft_ms = -1;
  bool committed = false;  // first byte of a stream went to the client
  // Parameters the deployment's dialect could not carry, and those its `request:` section
  // removed or clamped, from the one translation its provider made for the attempt
  // (x-triage-dropped-params); empty when passed through unshaped.
  std::vector<std::string> dropped;
  bool client_gone = false;
  // A hedge raced this request's answer (tiers[].hedge): "won" (the hedge answers) or "lost"
  // (the first attempt answers, the hedge was cancelled), for x-triage-hedge; "" without one.
  std::string_view hedge;
  // The race of a hedged turn while both attempts may run; Account settles it (the loser's bill
  // goes into the row). Null otherwise.
  Race* race = nullptr;
  // How long the upstream whose refusal ends the request asked to be left alone (Retry-After,
  // rate-limit resets; 0: it did not say). Set with `last`, used for the client's Retry-After.
  int64_t retry_after_ms = 0;

  // outcome
  int status = 0;
  std::optional<Error> error;
  int64_t cost_micros = 0;
  int64_t reference_cost_micros = 0;
  bool price_known = true;
  bool accounted = false;

  // Cascade: the cheap tier's answer is held (not sent, not written to the ledger) while it is
  // scored. An escalated request carries the cheap call's cost and tokens into its one row.
  bool defer_ledger = false;
  int64_t carried_cost_micros = 0;
  dialect::TokenUsage carried_usage;
  int carried_attempts = 0;
  // An escalation with the cheap answer still held: Refuse keeps its error here instead of
  // answering (nothing has reached the client), so that the cascade can release that answer.
  bool keep_refusal = false;
  std::optional<Error> kept_refusal;
  // The cascade's keep-alive began the client's stream (status 200, headers) while the cheap
  // answer was held: what follows goes into that stream, a refusal as an error event (its row's
  // status is 200, as for a stream that failed after its first byte).
  bool stream_begun = false;

  // Attempts that failed, and fell back or ended the request, after their upstream had
  // accepted the call and begun to answer (a 2xx head; not an HTML page): an Anthropic stream's
  // message_start before an error event, a stream that broke or stalled before its first
  // content, a 200 body cut, stalled, over limits.max_response_bytes or refused as malformed.
  // Their providers billed them: the usage each reported, what it did not report estimated
  // (CompleteUsage: the prompt, the generated text received), priced at its own deployment.
  // Attempts refused before that (a non-2xx status, a connect failure, a timeout before the
  // head) add nothing. Added into the row's tokens and cost (not into the counterfactual, which
  // prices the answer).
  dialect::TokenUsage failed_usage;
  int64_t failed_cost_micros = 0;
  bool failed_price_known = true;
  bool failed_usage_estimated = false;  // some of failed_usage is estimated: usage_estimated

  std::shared_ptr<upstream::CancelHook> cancel = std::make_shared<upstream::CancelHook>();

  int64_t ElapsedMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  }
};

}  // namespace triage::pipeline
