// The live cascade (FrugalGPT / AutoMix style): the cheapest tier answers first; the answer is
// held, scored, and either released or the request escalates to the next tier.
#include "pipeline/cascade.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "dialect/sse.h"
#include "observe/log.h"
#include "pipeline/attempt_util.h"
#include "pipeline/gateway.h"
#include "routing/router.h"

namespace triage::pipeline {

namespace net = boost::asio;
using nlohmann::json;

net::awaitable<bool> HoldingWriter::Respond(int s, const Headers& h, std::string b) {
  status = s;
  headers = h;
  body = std::move(b);
  co_return true;
}

net::awaitable<bool> HoldingWriter::BeginStream(const Headers& h,
                                                const std::vector<std::string>& trailers) {
  status = 200;
  streamed = true;
  headers = h;
  declared_trailers = trailers;
  co_return true;
}

net::awaitable<bool> HoldingWriter::Write(std::string_view data) {
  if (body.size() + data.size() > max_bytes) {
    too_big = true;
    co_return false;
  }
  body.append(data);
  co_return true;
}

net::awaitable<bool> HoldingWriter::EndStream(const Headers&) {
  ended = true;
  co_return true;
}

net::awaitable<bool> HoldingWriter::Release(ClientWriter& out, const Headers& h,
                                            const Headers& trailers) {
  bool ok = false;
  if (!streamed) {
    ok = co_await out.Respond(status, h, std::move(body));
  } else {
    ok = co_await out.BeginStream(h, declared_trailers);
    if (ok) ok = co_await out.Write(body);
    if (ok) ok = co_await out.EndStream(trailers);
  }
  co_return ok;
}

std::vector<std::string> AnswerTexts(dialect::Dialect client, bool stream,
                                     const std::string& body) {
  std::vector<std::string> texts(1);
  // OpenAI choices by their index (stream deltas of several choices arrive interleaved);
  // an index beyond the 128 `n` allows is read as choice 0's.
  auto choice = [&](const json& c, size_t position) -> std::string& {
    size_t i = position;
    if (c.contains("index") && c["index"].is_number_unsigned()) i = c["index"].get<size_t>();
    if (i >= 128) i = 0;
    if (texts.size() <= i) texts.resize(i + 1);
    return texts[i];
  };
  auto add_openai = [&](const json& j) {
    if (!j.is_object() || !j.contains("choices") || !j["choices"].is_array()) return;
    size_t position = 0;
    for (const auto& c : j["choices"]) {
      const json* m = c.contains("message") ? &c["message"]
                      : c.contains("delta") ? &c["delta"]
                                            : nullptr;
      if (m && m->contains("content") && (*m)["content"].is_string())
        choice(c, position) += (*m)["content"].get<std::string>();
      ++position;
    }
  };
  auto add_anthropic = [&](const json& j) {
    if (!j.is_object()) return;
    if (j.contains("content") && j["content"].is_array())
      for (const auto& b : j["content"])
        if (b.is_object() && b.value("type", "") == "text") texts[0] += b.value("text", "");
    if (j.value("type", "") == "content_block_delta" && j.contains("delta") &&
        j["delta"].value("type", "") == "text_delta")
      texts[0] += j["delta"].value("text", "");
  };
  auto add = [&](const json& j) {
    if (client == dialect::Dialect::kOpenAI)
      add_openai(j);
    else
      add_anthropic(j);
  };
  if (!stream) {
    add(json::parse(body, nullptr, false));
    return texts;
  }
  dialect::SseParser parser(body.size() + 1);
  std::vector<dialect::SseEvent> events;
  parser.Feed(body, events);
  for (const auto& ev : events)
    if (!ev.data.empty() && ev.data != "[DONE]") add(json::parse(ev.data, nullptr, false));
  return texts;
}

std::string AnswerText(dialect::Dialect client, bool stream, const std::string& body) {
  std::string text;
  for (const auto& t : AnswerTexts(client, stream, body)) text += t;
  return text;
}

namespace {
Headers WithRoute(Headers h, const std::string& route, const RequestContext& ctx, bool cost) {
  Headers out;
  for (auto& kv : h) {
    if (kv.first == "x-triage-route") continue;
    if (cost && kv.first == "x-triage-cost-usd") continue;
    if (cost && kv.first == "x-triage-reference-cost-usd") continue;
    out.push_back(std::move(kv));
  }
  out.emplace_back("x-triage-route", route);
  if (cost) {
    out.emplace_back("x-triage-cost-usd", catalog::FormatUsd(ctx.cost_micros));
    out.emplace_back("x-triage-reference-cost-usd", catalog::FormatUsd(ctx.reference_cost_micros));
  }
  return out;
}

// The cheap answer is released after a failed escalation: the row's usage and cost are the
// cheap call's own, plus what the failed calls' upstreams reported (ctx.failed_usage, kept);
// its attempts count both. A plain function:
// no aggregate temporaries inside coroutines (g++ 12).
void CarryEscalationAttemptsOnly(RequestContext& ctx) {
  ctx.carried_cost_micros = 0;
  ctx.carried_usage = {};
  ctx.carried_attempts = ctx.attempts;
  ctx.attempts = 0;
}

void LogEscalationFailure(const RequestContext& ctx, const Error& e) {
  json f = json::object();
  f["id"] = ctx.id;
  f["error"] = e.message;
  observe::Log(observe::Level::kWarn, "cascade escalation failed; the cheap answer is released",
               std::move(f));
}

// "score=S < T" / "S >= T" with as many decimals as make the comparison read true.
std::string Compared(double score, const char* op, double threshold) {
  const int d = routing::ScoreDigits(score, {threshold});
  return routing::FormatScore(score, d) + op + routing::FormatScore(threshold, d);
}
}  // namespace

net::awaitable<void> Gateway::Cascade(RequestContext& ctx, ClientWriter& out,
                                      std::shared_ptr<const Routing> routing) {
  const double judge_threshold = routing->judge_threshold;
  const auto& tiers = config_->tiers;
  // Until the answer is scored no decision is made; a request cut short keeps this reason.
  ctx.route_reason = "cascade \u2192 " + tiers[0].name + " (not scored)";
  ctx.route_decision = observe::RouteDecision::kNone;
  ctx.route_tier = {};
  // Step 1: the cheapest tier answers, held.
  RequestContext cheap;
  cheap.id = ctx.id;
  cheap.start = ctx.start;
  cheap.ts_ms = ctx.ts_ms;
  cheap.dialect = ctx.dialect;
  // The request moves to the cheap attempt and back once its answer is scored (nothing
  // changes a parsed request), rather than being copied: a long conversation's tree and texts.
  cheap.req = std::move(ctx.req);
  cheap.parsed = true;
  cheap.cancel = ctx.cancel;
  cheap.defer_ledger = true;
  AppendTier(cheap, tiers[0]);
  // Only deployments that can take the request (its dialect, modalities, context window); with
  // none in the cheap tier the cascade escalates at once, as when the cheap call fails.
  Status cheap_capable = KeepCapable(cheap);
  HoldingWriter held;
  // A held stream is bounded like an answer that is not streamed.
  held.max_bytes = static_cast<size_t>(config_->limits.max_response_bytes);
  if (cheap_capable.ok()) co_await Attempt(cheap, held);
  // Refused by the holder (the stream outgrew max_bytes): the cheap call failed, the client
  // is still there.
  if (held.too_big) cheap.client_gone = false;

  const bool answered = held.status == 200 && !cheap.error && (!held.streamed || held.ended);
  // Each choice (OpenAI `n` > 1) is judged on its own; the least convincing one decides, as
  // the client gets them all.
  double score = -1;
  if (answered)
    for (const std::string& text : AnswerTexts(ctx.dialect, held.streamed, held.body))
      score = std::max(score, routing->judge(cheap, text));
  ctx.req = std::move(cheap.req);
  // The cheap step's failed attempts (fallbacks within its tier) were billed whatever happens.
  CarryFailedAttemptUsage(ctx, cheap);
  // The cheap call's usage reaches the row (as the answer's, or carried): so does its flag.
  ctx.usage_estimated = cheap.usage_estimated;
  if (held.too_big) {
    Error e = Error::Make(ErrorKind::kUpstream, "upstream_response_too_large",
                          "the cheap tier's stream grew beyond limits.max_response_bytes (" +
                              std::to_string(held.max_bytes) + " bytes) while held");
    LogAttemptFailure(cheap, *cheap.deployment, e);
  }
  if (cheap.client_gone || ctx.cancel->fired()) {
    ctx.deployment = cheap.deployment;
    ctx.dropped = cheap.dropped;
    ctx.attempts = cheap.attempts;
    ctx.usage = cheap.usage;
    ctx.client_gone = cheap.client_gone;
    co_await EndCancelled(ctx, out);
    co_return;
  }
  if (!answered || score >= judge_threshold) {
    // Step 2: escalate to the next tier, live, carrying the cheap call's cost and tokens.
    ctx.carried_cost_micros = cheap.cost_micros;
    ctx.carried_usage = cheap.usage;
    ctx.carried_attempts = cheap.attempts;
    ctx.plan.clear();
    AppendTier(ctx, tiers[1]);
    const std::string& dir = config_->fallback;
    if (dir == "up" || dir == "both")
      for (size_t i = 2; i < tiers.size(); ++i) AppendTier(ctx, tiers[i]);
    // (No conditional expression of class type here: g++ 12 mishandles them in coroutines.)
    ctx.route_tier = tiers[1].name;
    if (answered) {
      ctx.route_score = score;
      ctx.route_decision = observe::RouteDecision::kCascadeEscalated;
      ctx.route_reason =
          "cascade score=" + Compared(score, " >= ", judge_threshold) + " \u2192 " + tiers[1].name;
    } else {
      ctx.route_decision = observe::RouteDecision::kCascadeCheapFailed;
      ctx.route_reason = "cascade " + tiers[0].name +
                         (cheap_capable.ok() ? " failed" : " cannot take the request") +
                         " \u2192 " + tiers[1].name;
    }
    Status capable = KeepCapable(ctx);
    if (capable.ok()) {
      // While the cheap answer is held, an escalation that fails before its first byte hands
      // its error back (ctx.kept_refusal) rather than answering with it.
      ctx.keep_refusal = answered;
      co_await Attempt(ctx, out);
      ctx.keep_refusal = false;
      if (!ctx.kept_refusal) co_return;
    } else if (answered) {
      ctx.kept_refusal = capable.error();
    } else {
      // No tier can take it: refused, no tier chosen (not a cascade decision in /metrics).
      ctx.route_decision = observe::RouteDecision::kNone;
      Error e = capable.error();
      co_await Refuse(ctx, std::move(e), out);
      co_return;
    }
    // The escalation gave no answer, but the cheap one is complete and paid for: release it
    // rather than an error. The decision stays "escalated"; the row says what the client got.
    LogEscalationFailure(ctx, *ctx.kept_refusal);
    ctx.route_reason += "; released " + tiers[0].name + " (" + tiers[1].name +
                        (capable.ok() ? " failed)" : " cannot take the request)");
    ctx.kept_refusal.reset();
    CarryEscalationAttemptsOnly(ctx);
  } else {
    ctx.route_score = score;
    ctx.route_decision = observe::RouteDecision::kCascadeReleased;
    ctx.route_tier = tiers[0].name;
    ctx.route_reason =
        "cascade score=" + Compared(score, " < ", judge_threshold) + " \u2192 " + tiers[0].name;
  }
  // Release the cheap answer: its row is committed first, then the held bytes go out.
  ctx.deployment = cheap.deployment;
  ctx.dropped = cheap.dropped;
  ctx.attempts += cheap.attempts;
  ctx.usage = cheap.usage;
  ctx.usage_reported = cheap.usage_reported;
  ctx.ttft_ms = ctx.ElapsedMs();  // the client's first byte leaves now
  ctx.committed = held.streamed;
  ctx.status = 200;
  co_await Account(ctx);
  Headers h = WithRoute(held.headers, ctx.route_reason, ctx, !held.streamed);
  Headers trailers;
  trailers.emplace_back("x-triage-cost-usd", catalog::FormatUsd(ctx.cost_micros));
  trailers.emplace_back("x-triage-reference-cost-usd",
                        catalog::FormatUsd(ctx.reference_cost_micros));
  co_await held.Release(out, h, trailers);
}

}  // namespace triage::pipeline
