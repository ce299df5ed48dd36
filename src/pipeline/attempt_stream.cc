// The attempt loop for streaming requests. Nothing reaches the client until an upstream
// has produced real content, so a failure before that falls back invisibly to the next
// deployment of the plan. After the first byte, a failure ends the stream with a well-formed
// error event (never a truncated stream that looks complete), and the partial usage is
// accounted. The ledger row is committed before the stream's last bytes are written.
#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "dialect/openai.h"
#include "dialect/sse.h"
#include "observe/log.h"
#include "pipeline/attempt_util.h"
#include "pipeline/gateway.h"

namespace triage::pipeline {

namespace net = boost::asio;
using nlohmann::json;

namespace {
constexpr size_t kMaxErrorBody = 64 * 1024;
const std::vector<std::string> kTrailers = {"x-triage-cost-usd", "x-triage-reference-cost-usd"};

// One attempt's view of the upstream stream.
struct StreamState {
  explicit StreamState(size_t max_event_bytes) : parser(max_event_bytes) {}
  upstream::Head head;
  bool is_sse = false;
  std::string error_body;
  dialect::SseParser parser;
  std::vector<dialect::SseEvent> events;
  std::string held;        // frames waiting for the first content
  std::string usage_data;  // the upstream's usage chunk, held until the end
  bool saw_done = false;
  bool saw_finish = false;
  bool bad_chunk = false;
  std::string bad_message;
  int64_t content_chars = 0;
};

// The usage chunk for a client that asked for it: the upstream's own chunk (or one built from
// the accounted usage) plus a `triage` object with the request's tier and cost.
std::string UsageFrame(const RequestContext& ctx, const config::Deployment& d,
                       const std::string& upstream_usage_data) {
  json u = json::parse(upstream_usage_data, nullptr, false);
  if (u.is_discarded() || !u.is_object()) {
    u = json::object();
    u["object"] = "chat.completion.chunk";
    u["choices"] = json::array();
    u["usage"]["prompt_tokens"] = ctx.usage.input_tokens;
    u["usage"]["completion_tokens"] = ctx.usage.output_tokens;
    u["usage"]["total_tokens"] = ctx.usage.input_tokens + ctx.usage.output_tokens;
  }
  json t = json::object();
  t["request_id"] = ctx.id;
  t["tier"] = d.tier;
  t["deployment"] = d.name;
  t["cost_usd"] = catalog::FormatUsd(ctx.cost_micros);
  t["reference_cost_usd"] = catalog::FormatUsd(ctx.reference_cost_micros);
  u["triage"] = std::move(t);
  return dialect::SseFrame(u.dump());
}

// Why a streaming attempt failed. A plain function: g++ 12 mishandles conditional
// expressions of class type inside coroutines.
Error AttemptError(const config::Deployment& d, const StreamState& s, const Status& st) {
  const bool http_ok = s.head.status >= 200 && s.head.status < 300;
  if (!http_ok && s.head.status != 0) return UpstreamStatusError(d, s.head.status, s.error_body);
  if (s.bad_chunk)
    return Error::Make(ErrorKind::kUpstream, "upstream_bad_response",
                       "deployment " + d.name + ": " + s.bad_message);
  if (!st.ok()) return WithDeployment(st.error(), d);
  if (!s.is_sse)
    return Error::Make(ErrorKind::kUpstream, "upstream_bad_response",
                       "deployment " + d.name +
                           ": upstream answered a stream request with content-type '" +
                           s.head.content_type + "'");
  return Error::Make(ErrorKind::kUpstream, "upstream_truncated",
                     "deployment " + d.name + ": upstream stream ended before it was complete");
}

Headers CostTrailers(const RequestContext& ctx) {
  Headers h;
  h.emplace_back(kTrailers[0], catalog::FormatUsd(ctx.cost_micros));
  h.emplace_back(kTrailers[1], catalog::FormatUsd(ctx.reference_cost_micros));
  return h;
}
}  // namespace

net::awaitable<void> Gateway::AttemptStream(RequestContext& ctx, ClientWriter& out) {
  using Outcome = upstream::DeploymentHealth::Outcome;
  std::optional<Error> last;
  AttemptCursor cur;
  for (;;) {
    const config::Deployment* d = co_await NextAttempt(ctx, cur);
    if (!d) break;
    StreamState s(static_cast<size_t>(
        std::min<int64_t>(config_->limits.max_response_bytes, int64_t{8} << 20)));
    upstream::Sink sink;
    sink.on_head = [&](const upstream::Head& h) -> net::awaitable<bool> {
      s.head = h;
      s.is_sse = h.content_type.find("text/event-stream") != std::string::npos;
      co_return true;
    };
    sink.on_data = [&](std::string_view bytes) -> net::awaitable<bool> {
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
      for (auto& ev : s.events) {
        if (ev.data == "[DONE]") {
          s.saw_done = true;
          continue;
        }
        if (ev.data.empty()) continue;
        dialect::ChunkInfo info = dialect::InspectOpenAIChunk(ev.data);
        if (info.is_error) {
          s.bad_chunk = true;
          if (info.error_message.empty())
            s.bad_message = "upstream sent a malformed chunk";
          else
            s.bad_message = Redact(info.error_message);
          co_return false;
        }
        if (info.usage) {
          ctx.usage = *info.usage;
          ctx.usage_reported = true;
          auto j = json::parse(ev.data, nullptr, false);
          bool has_choices = j.is_object() && j.contains("choices") && j["choices"].is_array() &&
                             !j["choices"].empty();
          if (!has_choices) {  // the pure usage chunk: held, emitted last (or dropped)
            s.usage_data = std::move(ev.data);
            continue;
          }
        }
        if (info.finish_reason) s.saw_finish = true;
        s.content_chars += static_cast<int64_t>(ev.data.size());
        std::string frame = dialect::SseFrame(ev.data);
        if (!ctx.committed) {
          s.held += frame;
          if (!info.has_content && !info.finish_reason) continue;
          ctx.committed = true;
          ctx.ttft_ms = ctx.ElapsedMs();
          cur.first_byte = Clock::now();  // streams: the EWMA tracks time to first content
          Headers h = ResponseHeaders(ctx, false);
          h.emplace_back("content-type", "text/event-stream");
          h.emplace_back("cache-control", "no-cache");
          if (providers_.at(d->name)->simulated()) h.emplace_back("x-triage-simulated", "true");
          if (!co_await out.BeginStream(h, kTrailers) || !co_await out.Write(s.held)) {
            ctx.client_gone = true;
            co_return false;
          }
          s.held.clear();
        } else if (!co_await out.Write(frame)) {
          ctx.client_gone = true;
          co_return false;
        }
      }
      co_return true;
    };

    Status st = co_await providers_.at(d->name)->Call(ctx.req, sink, ctx.cancel.get());
    ctx.cancel->Clear();
    if (ctx.cancel->fired() || ctx.client_gone) {
      EndAttempt(ctx, cur, Outcome::kNeutral, std::nullopt);
      break;
    }

    const bool http_ok = s.head.status >= 200 && s.head.status < 300;
    const bool clean = st.ok() && http_ok && s.is_sse && !s.bad_chunk &&
                       (s.saw_done || s.saw_finish) && !s.parser.HasPartial();
    if (clean) {
      EndAttempt(ctx, cur, Outcome::kSuccess, std::nullopt);
      if (!ctx.committed) {  // an answer with no content at all: still a valid stream
        ctx.committed = true;
        ctx.ttft_ms = ctx.ElapsedMs();
        Headers h = ResponseHeaders(ctx, false);
        h.emplace_back("content-type", "text/event-stream");
        h.emplace_back("cache-control", "no-cache");
        if (!co_await out.BeginStream(h, kTrailers) || !co_await out.Write(s.held)) {
          ctx.client_gone = true;
          break;
        }
      }
      if (!ctx.usage_reported) {
        ctx.usage.input_tokens = EstimateTokens(ctx.req.prompt_chars);
        ctx.usage.output_tokens = EstimateTokens(s.content_chars / 3);
      }
      ctx.status = 200;
      co_await Account(ctx);
      const std::string cost = catalog::FormatUsd(ctx.cost_micros);
      const std::string ref = catalog::FormatUsd(ctx.reference_cost_micros);
      std::string tail;
      if (ctx.req.include_usage) tail += UsageFrame(ctx, *d, s.usage_data);
      tail += ": triage cost_usd=" + cost + " reference_cost_usd=" + ref + "\n\n";
      tail += dialect::SseFrame("[DONE]");
      if (co_await out.Write(tail)) co_await out.EndStream(CostTrailers(ctx));
      co_return;
    }

    // The attempt failed. Work out why.
    Error e = AttemptError(*d, s, st);
    LogAttemptFailure(ctx, *d, e);
    const bool client_fault = !http_ok && s.head.status != 0 && !RetryableStatus(s.head.status);
    EndAttempt(ctx, cur, client_fault ? Outcome::kSuccess : Outcome::kFailure, ServerWait(s.head));
    if (ctx.committed) {
      // Content already reached the client: no other deployment may be tried. End the stream
      // with an error event the SDKs raise, and account the partial usage.
      if (!ctx.usage_reported) {
        ctx.usage.input_tokens = EstimateTokens(ctx.req.prompt_chars);
        ctx.usage.output_tokens = EstimateTokens(s.content_chars / 3);
      }
      ctx.status = 200;
      ctx.error = e;
      co_await Account(ctx);
      if (co_await out.Write(dialect::SseFrame(dialect::OpenAIErrorBody(e))))
        co_await out.EndStream(CostTrailers(ctx));
      co_return;
    }
    if (client_fault) {
      co_await Refuse(ctx, std::move(e), out);
      co_return;
    }
    last = std::move(e);
    ctx.usage = {};
    ctx.usage_reported = false;
  }
  if (ctx.cancel->fired() || ctx.client_gone) {
    ctx.client_gone = true;
    if (!ctx.committed)
      ctx.status = 499;
    else
      ctx.status = 200;
    ctx.error = Error::Make(ErrorKind::kUpstream, "client_closed", "client closed the connection");
    co_await Account(ctx);
    co_return;
  }
  Error e = ExhaustedError(cur, std::move(last));
  co_await Refuse(ctx, std::move(e), out);
}

}  // namespace triage::pipeline
