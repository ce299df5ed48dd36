// The attempt loop for streaming requests. Nothing reaches the client until an upstream
// has produced real content, so a failure before that point falls back invisibly to the next
// deployment of the plan. After the first byte, a failure ends the stream with a well-formed
// error event in the client's dialect (never a truncated stream that looks complete), and the
// partial usage is accounted. The ledger row is committed before the stream's last bytes.
#include <nlohmann/json.hpp>
#include <optional>

#include "catalog/catalog.h"
#include "dialect/answer.h"
#include "dialect/json_util.h"
#include "dialect/sse.h"
#include "dialect/stream_translate.h"
#include "observe/log.h"
#include "pipeline/attempt_util.h"
#include "pipeline/gateway.h"
#include "pipeline/respond.h"

namespace triage::pipeline {

namespace net = boost::asio;
using nlohmann::json;

namespace {
constexpr size_t kMaxErrorBody = 64 * 1024;

// One attempt's view of the upstream stream.
struct StreamState {
  StreamState(size_t max_event_bytes, std::unique_ptr<dialect::StreamTranslator> t)
      : parser(max_event_bytes), translator(std::move(t)) {}
  upstream::Head head;
  bool is_sse = false;
  std::string error_body;
  dialect::SseParser parser;
  std::unique_ptr<dialect::StreamTranslator> translator;
  std::vector<dialect::SseEvent> events;
  std::string held;  // frames waiting for the first content
  bool bad_chunk = false;
  std::string bad_message;
  std::string bad_type;    // the upstream error event's type, when it sent one
  bool accepted = false;   // an event of the answer was read (before any error event)
  bool refused = false;    // the first event was an error event: refused, not answered
  bool too_large = false;  // the writer refused the answer for its size (a held stream)
  int64_t text_chars = 0;  // of the generated text: the output estimate without usage
};

// Why a streaming attempt failed. A plain function: g++ 12 mishandles conditional
// expressions of class type inside coroutines.
Error AttemptError(const config::Deployment& d, const StreamState& s, const Status& st) {
  const bool http_ok = s.head.status >= 200 && s.head.status < 300;
  if (!http_ok && s.head.status != 0) return UpstreamStatusError(d, s.head.status, s.error_body);
  if (s.too_large)
    return Error::Make(ErrorKind::kUpstream, "upstream_response_too_large",
                       "deployment " + d.name + ": " + s.bad_message);
  if (s.bad_chunk) {
    Error e = Error::Make(ErrorKind::kUpstream, "upstream_bad_response",
                          "deployment " + d.name + ": " + s.bad_message);
    // Anthropic sends overload as an error event after a 200 too: the client sees it as the
    // 529 overloaded_error the API gives (Anthropic dialect; OpenAI's has no such type).
    if (s.bad_type == "overloaded_error") e.upstream_status = 529;
    return e;
  }
  if (!st.ok()) return WithDeployment(st.error(), d);
  if (!s.is_sse) {
    // The upstream's own header value: masked like its error bodies (a proxy may put anything
    // there, the key it was sent included), then cut.
    std::string type = Redact(s.head.content_type);
    if (type.size() > 100) type = type.substr(0, 100) + "...";
    return Error::Make(ErrorKind::kUpstream, "upstream_bad_response",
                       "deployment " + d.name +
                           ": upstream answered a stream request with content-type '" + type + "'");
  }
  return Error::Make(ErrorKind::kUpstream, "upstream_truncated",
                     "deployment " + d.name + ": upstream stream ended before it was complete");
}

// The frames that close a successful stream: usage and the `triage` cost object (in the
// client's dialect), the cost as an SSE comment, then the terminal event.
std::string Tail(const RequestContext& ctx, const config::Deployment& d, StreamState& s) {
  const std::string cost = catalog::FormatUsd(ctx.cost_micros);
  const std::string ref = catalog::FormatUsd(ctx.reference_cost_micros);
  json t = json::object();
  t["request_id"] = ctx.id;
  t["tier"] = d.tier;
  t["deployment"] = d.name;
  t["cost_usd"] = cost;
  t["reference_cost_usd"] = ref;
  // The ledger row's flag: some of the request's tokens (the answer's, which the usage written
  // beside this object says, or a failed attempt's, in the cost) are triage's estimate.
  t["usage_estimated"] = ctx.usage_estimated || ctx.failed_usage_estimated;
  return s.translator->Finish(t, ctx.req.include_usage,
                              ": triage cost_usd=" + cost + " reference_cost_usd=" + ref + "\n\n",
                              &ctx.usage);
}

void UseUsage(RequestContext& ctx, const StreamState& s) {
  if (s.translator->usage_reported()) {
    ctx.usage = s.translator->usage();
    ctx.usage_reported = true;
  }
  // Nothing (or only half) reported: estimate so the ledger never under-counts silently, and
  // say so in the row (usage_estimated). A stream cut before its end (upstream failure, client
  // gone, shutdown) has at best a running count: Anthropic's message_start says
  // `output_tokens: 1` and the real count only comes in message_delta. Bill at least the text
  // that was generated.
  const BilledUsage b =
      CompleteUsage(ctx.usage, s.translator->complete(), ctx.req.prompt_chars, s.text_chars);
  ctx.usage = b.usage;
  ctx.usage_estimated = ctx.usage_estimated || b.estimated;
}

// What a stream attempt that failed unseen (before its first content) after its upstream
// began to answer is billed: the usage reported so far (an Anthropic message_start, a usage
// chunk), the rest estimated like a cut stream's (UseUsage). A 2xx that was no event stream
// (a JSON answer to a stream request) is read like a non-streamed body.
BilledUsage FailedStreamUsage(const RequestContext& ctx, dialect::Dialect wire,
                              const StreamState& s) {
  if (!s.is_sse) {
    // A body nested too deep is not read (respond.h, ConvertUnary): estimated whole.
    const dialect::AnswerInfo info = dialect::AnswerTooDeep(s.error_body)
                                         ? dialect::AnswerInfo{}
                                         : dialect::InspectAnswer(wire, s.error_body);
    if (info.usage) return {*info.usage, false};
    return CompleteUsage({}, false, ctx.req.prompt_chars, ReceivedTextChars(s.error_body));
  }
  const dialect::TokenUsage reported =
      s.translator->usage_reported() ? s.translator->usage() : dialect::TokenUsage{};
  return CompleteUsage(reported, s.translator->complete(), ctx.req.prompt_chars, s.text_chars);
}
}  // namespace

net::awaitable<void> Gateway::AttemptStream(RequestContext& ctx, ClientWriter& out) {
  using Outcome = upstream::DeploymentHealth::Outcome;
  std::optional<Error> last;
  AttemptCursor cur;
  const size_t max_event =
      static_cast<size_t>(std::min<int64_t>(config_->limits.max_response_bytes, int64_t{8} << 20));
  // One attempt on `d`; with a hedge, one of two racing (RaceAttempts). The first token of a
  // stream is its first content, the point where the client's stream begins.
  const AttemptFn run = [&](const config::Deployment* d, AttemptSlot slot, Race& race, int me,
                            upstream::CancelHook* hook) -> net::awaitable<Step> {
    const upstream::Provider& provider = *providers_.at(d->name);
    StreamState s(max_event, dialect::MakeStreamTranslator(provider.wire(), ctx.dialect, d->model));
    std::vector<std::string> dropped;
    upstream::Sink sink;
    sink.on_head = [&](const upstream::Head& h) -> net::awaitable<bool> {
      if (race.Lost(me)) co_return false;
      s.head = h;
      s.is_sse = h.content_type.find("text/event-stream") != std::string::npos;
      co_return true;
    };
    sink.on_data = [&](std::string_view bytes) -> net::awaitable<bool> {
      if (race.Lost(me)) co_return false;  // the other attempt answers
      if (s.head.status < 200 || s.head.status >= 300 || !s.is_sse) {
        if (s.error_body.size() + bytes.size() > kMaxErrorBody) co_return false;
        s.error_body.append(bytes);
        co_return true;
      }
      s.events.clear();
      if (!s.parser.Feed(bytes, s.events)) {
        s.bad_chunk = true;
        s.bad_message = "upstream SSE event too large";
        co_return false;
      }
      // Every event of this read is translated first and their frames go out in one write:
      // they arrived together, so batching costs no latency and saves a write per event.
      std::optional<std::string> failure;
      bool begin = false;
      for (auto& ev : s.events) {
        dialect::StreamTranslator::Step step = s.translator->Feed(ev);
        if (step.error) {
          failure = Redact(*step.error);
          s.bad_type = step.error_type;
          s.refused = !s.accepted && step.upstream_error;
          break;
        }
        s.accepted = true;
        s.text_chars += step.text_chars;
        s.held += step.frames;
        if (!ctx.committed && step.content) {
          slot.first_byte = Clock::now();  // streams: the EWMA tracks time to first content
          if (!ClaimFirstToken(ctx, race, me, *d, slot)) co_return false;
          ctx.dropped = dropped;
          ctx.committed = true;
          ctx.ttft_ms = ctx.ElapsedMs();
          begin = true;
        }
      }
      if (begin) {
        Headers h = ResponseHeaders(ctx, false);
        h.emplace_back("content-type", "text/event-stream");
        h.emplace_back("cache-control", "no-cache");
        if (provider.simulated()) h.emplace_back("x-triage-simulated", "true");
        if (!co_await out.BeginStream(h, CostTrailerNames())) {
          ctx.client_gone = true;
          co_return false;
        }
      }
      // Before the first content nothing is written (a failure may still fall back unseen).
      if (ctx.committed && !s.held.empty()) {
        if (!co_await out.Write(s.held)) {
          if (out.RefusedForSize()) {  // the cascade's holder is full: the answer is too large
            s.bad_chunk = true;
            s.too_large = true;
            s.bad_message = "stream grew beyond limits.max_response_bytes (" +
                            std::to_string(config_->limits.max_response_bytes) +
                            " bytes) while held";
            co_return false;
          }
          ctx.client_gone = true;
          co_return false;
        }
        s.held.clear();
      }
      if (failure) {
        s.bad_chunk = true;
        s.bad_message = *failure;
        co_return false;
      }
      // The terminal event came ([DONE], message_stop): the answer does not wait for the end
      // of the body, which a server (or a proxy) may hold open, or follow with more bytes.
      if (s.translator->ended()) sink.answer_complete = true;
      co_return true;
    };

    Status st = co_await providers_.at(d->name)->Call(ctx.req, sink, hook, &dropped);
    hook->Clear();
    if (race.Lost(me) || ((ctx.cancel->fired() || ctx.client_gone) && !race.Main(me))) {
      // Hedged and cancelled before its first content (the other attempt answers, or the
      // request ended while both ran): neutral for its deployment, billed as a failed attempt:
      // what it reported and received if its upstream had begun to answer, else the prompt's
      // estimate (it had the prompt).
      EndAttempt(ctx, cur, slot, Outcome::kNeutral, std::nullopt);
      if (AnswerStarted(s.head) && !s.refused) {
        const BilledUsage b = FailedStreamUsage(ctx, provider.wire(), s);
        AddFailedAttemptUsage(ctx, *d, b.usage, b.estimated);
      } else if (s.head.status == 0) {
        AddCancelledAttemptUsage(ctx, *d);
      }
      race.CallEnded(me);
      co_return Step::kContinue;
    }
    race.CallEnded(me);
    ctx.deployment = d;
    ctx.dropped = std::move(dropped);
    if (ctx.cancel->fired() || ctx.client_gone) {
      EndAttempt(ctx, cur, slot, Outcome::kNeutral, std::nullopt);
      UseUsage(ctx, s);
      if (ctx.cancel->shutdown() && !ctx.client_gone && ctx.committed) {
        // Shutdown cut a stream that had begun: end it with an error event, like a failure.
        ctx.status = 200;
        ctx.error = ShutdownError();
        co_await Account(ctx);
        std::string frame = s.translator->ErrorFrame(*ctx.error);
        if (co_await out.Write(frame)) co_await out.EndStream(CostTrailers(ctx));
        co_return Step::kReturn;
      }
      co_return Step::kBreak;
    }

    const bool http_ok = s.head.status >= 200 && s.head.status < 300;
    // Bytes after the terminal event (a partial event in the same read) are not the answer's.
    const bool clean = st.ok() && http_ok && s.is_sse && !s.bad_chunk && s.translator->complete() &&
                       (s.translator->ended() || !s.parser.HasPartial());
    if (clean) {
      EndAttempt(ctx, cur, slot, Outcome::kSuccess, std::nullopt);
      if (!ctx.committed) {  // an answer with no content at all: still a valid stream
        slot.first_byte = Clock::now();
        ClaimFirstToken(ctx, race, me, *d, slot);  // not lost (above): it answers
        ctx.committed = true;
        ctx.ttft_ms = ctx.ElapsedMs();
        Headers h = ResponseHeaders(ctx, false);
        h.emplace_back("content-type", "text/event-stream");
        h.emplace_back("cache-control", "no-cache");
        if (!co_await out.BeginStream(h, CostTrailerNames()) || !co_await out.Write(s.held)) {
          ctx.client_gone = true;
          co_return Step::kBreak;
        }
      }
      UseUsage(ctx, s);
      ctx.status = 200;
      co_await Account(ctx);  // committed before the stream's last bytes
      std::string tail = Tail(ctx, *d, s);
      if (co_await out.Write(tail)) co_await out.EndStream(CostTrailers(ctx));
      co_return Step::kReturn;
    }

    // The attempt failed. Work out why.
    Error e = AttemptError(*d, s, st);
    LogAttemptFailure(ctx, *d, e);
    const bool deployment_fault = !http_ok && DeploymentFault(s.head.status);
    // Too long for this model: not its failure, and a model with a larger window may take it.
    const bool overflow = !http_ok && ContextOverflow(s.head.status, s.error_body);
    const bool client_fault = !http_ok && s.head.status != 0 && !RetryableStatus(s.head.status) &&
                              !deployment_fault && !overflow;
    EndAttempt(ctx, cur, slot, client_fault || overflow ? Outcome::kSuccess : Outcome::kFailure,
               ServerWait(s.head), s.head.status);
    if (deployment_fault) cur.excluded[slot.index] = 1;
    if (overflow) ExcludeSameModel(ctx, cur, slot.index);
    // An attempt that failed unseen after its upstream began to answer was billed by its
    // provider: what it reported (an Anthropic message_start, a usage chunk), the rest
    // estimated, goes into the row. One refused before that (non-2xx, connect failure, timeout
    // before the head, an error event as the stream's first event) adds nothing.
    if (!ctx.committed && AnswerStarted(s.head) && !s.refused) {
      const BilledUsage b = FailedStreamUsage(ctx, provider.wire(), s);
      AddFailedAttemptUsage(ctx, *d, b.usage, b.estimated);
    }
    if (ctx.committed && out.Rewind()) {
      // Held by the cascade, it never reached the client: a failed attempt like one that failed
      // before its first content (billed as failed), and the plan moves on.
      const BilledUsage b = FailedStreamUsage(ctx, provider.wire(), s);
      AddFailedAttemptUsage(ctx, *d, b.usage, b.estimated);
      ctx.committed = false;
      ctx.ttft_ms = -1;
      slot.first_byte.reset();
      last = std::move(e);
      co_return Step::kContinue;
    }
    if (ctx.committed) {
      // Content already reached the client: no other deployment may be tried. End the stream
      // with an error event the SDKs raise, and account the partial usage.
      UseUsage(ctx, s);
      ctx.status = 200;
      ctx.error = e;
      co_await Account(ctx);
      std::string frame = s.translator->ErrorFrame(e);
      if (co_await out.Write(frame)) co_await out.EndStream(CostTrailers(ctx));
      co_return Step::kReturn;
    }
    if (client_fault) {
      co_await Refuse(ctx, std::move(e), out);
      co_return Step::kReturn;
    }
    last = std::move(e);
    co_return Step::kContinue;
  };
  for (;;) {
    const config::Deployment* d = co_await NextAttempt(ctx, cur);
    if (!d) break;
    const Step step = co_await RaceAttempts(ctx, cur, d, run);
    if (step == Step::kReturn) co_return;
    if (step == Step::kBreak) break;
  }
  if (ctx.cancel->fired() || ctx.client_gone) {
    co_await EndCancelled(ctx, out);
    co_return;
  }
  Error e = ExhaustedError(ctx, cur, std::move(last));
  co_await Refuse(ctx, std::move(e), out);
}

}  // namespace triage::pipeline
