// The attempt loop for non-streaming requests: walk the plan, first good answer wins.
#include <nlohmann/json.hpp>

#include "dialect/openai.h"
#include "observe/log.h"
#include "pipeline/attempt_util.h"
#include "pipeline/gateway.h"
#include "pipeline/respond.h"

namespace triage::pipeline {

namespace net = boost::asio;

net::awaitable<void> Gateway::AttemptUnary(RequestContext& ctx, ClientWriter& out) {
  using Outcome = upstream::DeploymentHealth::Outcome;
  std::optional<Error> last;
  AttemptCursor cur;
  // Upstream answers larger than this are refused (protects memory).
  const size_t max_bytes = static_cast<size_t>(config_->limits.max_response_bytes);
  // One attempt on `d`; with a hedge, one of two racing (RaceAttempts). The first token of a
  // non-streamed answer is its 2xx response head.
  const AttemptFn run = [&](const config::Deployment* d, AttemptSlot slot, Race& race, int me,
                            upstream::CancelHook* hook) -> net::awaitable<Step> {
    upstream::Head head;
    std::string body;
    bool too_big = false;
    std::vector<std::string> dropped;
    upstream::Sink sink;
    sink.on_head = [&](const upstream::Head& h) -> net::awaitable<bool> {
      if (race.Lost(me)) co_return false;
      head = h;
      slot.first_byte = Clock::now();
      if (h.status >= 200 && h.status < 300 && !ClaimFirstToken(ctx, race, me, *d, slot))
        co_return false;
      co_return true;
    };
    sink.on_data = [&](std::string_view bytes) -> net::awaitable<bool> {
      if (race.Lost(me)) co_return false;
      if (body.size() + bytes.size() > max_bytes) {
        // Kept up to the limit: the text received is what a failed attempt's output is
        // estimated from.
        body.append(bytes.substr(0, max_bytes - body.size()));
        too_big = true;
        co_return false;
      }
      body.append(bytes);
      co_return true;
    };
    Status st = co_await providers_.at(d->name)->Call(ctx.req, sink, hook, &dropped);
    hook->Clear();
    if (race.Lost(me) || (ctx.cancel->fired() && !race.Main(me))) {
      // Hedged and cancelled before its first token (the other attempt answers, or the request
      // ended while both ran): neutral for its deployment; its upstream had the prompt, billed
      // as a failed attempt (estimated).
      EndAttempt(ctx, cur, slot, Outcome::kNeutral, std::nullopt);
      if (head.status == 0 || AnswerStarted(head)) AddCancelledAttemptUsage(ctx, *d);
      race.CallEnded(me);
      co_return Step::kContinue;
    }
    race.CallEnded(me);
    ctx.deployment = d;
    ctx.dropped = std::move(dropped);
    if (ctx.cancel->fired()) {
      EndAttempt(ctx, cur, slot, Outcome::kNeutral, std::nullopt);
      // The upstream had the prompt: estimated like a stream the client left (no answer, no
      // usage), so the row does not say the call cost nothing.
      ctx.usage.input_tokens = EstimateTokens(ctx.req.prompt_chars);
      ctx.usage_estimated = true;
      co_return Step::kBreak;
    }
    // A 2xx whose body was cut, stalled or too big: the upstream was answering, so its provider
    // billed the call, but the usage sits at the body's end and never came. Estimated: the
    // prompt, and the generated text received (a lower bound).
    if ((too_big || !st.ok()) && AnswerStarted(head)) {
      const BilledUsage b = CompleteUsage({}, false, ctx.req.prompt_chars, ReceivedTextChars(body));
      AddFailedAttemptUsage(ctx, *d, b.usage, b.estimated);
    }
    if (too_big) {
      EndAttempt(ctx, cur, slot, Outcome::kFailure, std::nullopt);
      last = Error::Make(ErrorKind::kUpstream, "upstream_response_too_large",
                         "deployment " + d->name + ": upstream response larger than " +
                             std::to_string(max_bytes) + " bytes");
      co_return Step::kContinue;
    }
    if (!st.ok()) {
      EndAttempt(ctx, cur, slot, Outcome::kFailure, std::nullopt);
      last = WithDeployment(st.error(), *d);
      LogAttemptFailure(ctx, *d, *last);
      co_return Step::kContinue;
    }
    if (head.status < 200 || head.status >= 300) {
      Error e = UpstreamStatusError(*d, head.status, body);
      LogAttemptFailure(ctx, *d, e);
      if (DeploymentFault(head.status)) {  // this deployment's key or model: try the next one
        EndAttempt(ctx, cur, slot, Outcome::kFailure, std::nullopt);
        cur.excluded[slot.index] = 1;
        last = std::move(e);
        co_return Step::kContinue;
      }
      if (ContextOverflow(head.status, body)) {  // too long for this model: a larger may take it
        EndAttempt(ctx, cur, slot, Outcome::kSuccess, std::nullopt);
        ExcludeSameModel(ctx, cur, slot.index);
        last = std::move(e);
        co_return Step::kContinue;
      }
      if (!RetryableStatus(head.status)) {  // the request itself was refused: no point retrying
        EndAttempt(ctx, cur, slot, Outcome::kSuccess, std::nullopt);
        co_await Refuse(ctx, std::move(e), out);
        co_return Step::kReturn;
      }
      EndAttempt(ctx, cur, slot, Outcome::kFailure, ServerWait(head), head.status);
      last = std::move(e);
      co_return Step::kContinue;
    }
    std::optional<dialect::TokenUsage> usage_seen;
    int64_t refused_chars = 0;
    auto answer = ConvertUnary(providers_.at(d->name)->wire(), ctx.dialect, std::move(body),
                               &usage_seen, &refused_chars);
    if (!answer) {
      // Refused as malformed, but the upstream answered, so it billed the call: what it said it
      // billed goes into the row, estimated (the prompt, the text in the body) when it did not.
      // (An all-zero `usage: {}` says nothing: estimated like none.)
      if (usage_seen && *usage_seen != dialect::TokenUsage{}) {
        AddFailedAttemptUsage(ctx, *d, *usage_seen);
      } else if (AnswerStarted(head)) {
        const BilledUsage b = CompleteUsage({}, true, ctx.req.prompt_chars, refused_chars);
        AddFailedAttemptUsage(ctx, *d, b.usage, b.estimated);
      }
      EndAttempt(ctx, cur, slot, Outcome::kFailure, std::nullopt);
      last = WithDeployment(answer.error(), *d);
      LogAttemptFailure(ctx, *d, *last);
      co_return Step::kContinue;
    }
    EndAttempt(ctx, cur, slot, Outcome::kSuccess, std::nullopt);
    if (answer->usage_reported) {
      // A count the upstream reported as 0 (or as nothing believable: kMaxReportedTokens) is
      // estimated like a stream's (UseUsage), so the row never says a call cost nothing.
      const BilledUsage b =
          CompleteUsage(answer->usage, true, ctx.req.prompt_chars, answer->text_chars);
      ctx.usage = b.usage;
      ctx.usage_reported = true;
      ctx.usage_estimated = ctx.usage_estimated || b.estimated;
    } else {
      // No usage reported: estimate so the ledger never under-counts silently.
      ctx.usage.input_tokens = EstimateTokens(ctx.req.prompt_chars);
      ctx.usage.output_tokens = EstimateTokens(answer->text_chars);
      ctx.usage_estimated = true;
    }
    // The body says the tokens the row bills: an estimate where the upstream reported none
    // (or none believable), marked by x-triage-usage-estimated.
    if (!answer->usage_reported || ctx.usage != answer->usage)
      answer->body = WithBilledUsage(ctx.dialect, std::move(answer->body), ctx.usage);
    ctx.status = 200;
    ctx.ttft_ms = ctx.ElapsedMs();
    co_await Account(ctx);  // committed before the first byte leaves: survives kill -9
    Headers h = ResponseHeaders(ctx, true);
    h.emplace_back("content-type", "application/json");
    if (providers_.at(d->name)->simulated()) h.emplace_back("x-triage-simulated", "true");
    co_await out.Respond(200, h, std::move(answer->body));
    co_return Step::kReturn;
  };
  for (;;) {
    const config::Deployment* d = co_await NextAttempt(ctx, cur);
    if (!d) break;
    const Step step = co_await RaceAttempts(ctx, cur, d, run);
    if (step == Step::kReturn) co_return;
    if (step == Step::kBreak) break;
  }
  if (ctx.cancel->fired()) {
    co_await EndCancelled(ctx, out);
    co_return;
  }
  Error e = ExhaustedError(ctx, cur, std::move(last));
  co_await Refuse(ctx, std::move(e), out);
}

}  // namespace triage::pipeline
