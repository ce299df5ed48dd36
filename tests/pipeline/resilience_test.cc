// Fallback across tiers, circuit breakers, retry budget and spill-over, in-process with sim
// deployments.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "dialect/openai.h"
#include "pipeline/attempt_util.h"
#include "pipeline/cascade.h"
#include "pipeline/gateway.h"
#include "recording_writer.h"
#include "routing/router.h"

namespace triage::pipeline {
namespace {

namespace net = boost::asio;
using nlohmann::json;

using Writer = RecordingWriter;

std::unique_ptr<Gateway> Make(const std::string& yaml) {
  auto cfg = config::LoadString(yaml);
  EXPECT_TRUE(cfg.ok()) << cfg.error().message;
  if (!cfg.ok()) return nullptr;
  auto ledger = store::OpenLedger("sqlite::memory:");
  auto g = Gateway::Create(*cfg, std::move(*ledger));
  EXPECT_TRUE(g.ok()) << g.error().message;
  return g.ok() ? std::move(*g) : nullptr;
}

std::string Body(const std::string& model, bool stream = false) {
  json r = {{"model", model}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  if (stream) r["stream"] = true;
  return r.dump();
}

// Runs the given requests concurrently on one io_context.
std::vector<Writer> RunAll(Gateway& g, const std::vector<std::string>& bodies) {
  std::vector<Writer> out(bodies.size());
  net::io_context io;
  for (size_t i = 0; i < bodies.size(); ++i)
    net::co_spawn(io,
                  g.ChatCompletions(bodies[i], out[i], std::make_shared<upstream::CancelHook>()),
                  [](std::exception_ptr e) {
                    if (e) std::rethrow_exception(e);
                  });
  io.run();
  // Every request's row is committed once io.run() returns, but the ledger's writer may still be
  // inside the post that woke `io`, signalling its condition variable: `io` must outlive that
  // (ThreadSanitizer saw pthread_cond_destroy race with pthread_cond_signal here). Flush returns
  // once the writer has finished with every row it was given.
  g.ledger().Flush();
  return out;
}

Writer Call(Gateway& g, const std::string& body) { return std::move(RunAll(g, {body})[0]); }

const char* kTwoTiers = R"(
tiers:
  - name: open
    deployments:
      - {name: local, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 1, error_rate: 1.0}}
  - name: mid
    deployments:
      - {name: sonnet, provider: sim, catalog: claude-sonnet-4.6, sim: {latency_ms: 1, output_tokens: 5}}
storage: {ledger: "sqlite::memory:"}
breaker: {consecutive_failures: 3, open_ms: 60000}
)";

TEST(Fallback, AutoFallsUpToNextTierWhenOpenTierFails) {
  auto g = Make(kTwoTiers);
  Writer w = Call(*g, Body("auto"));
  ASSERT_EQ(w.status, 200) << w.body;
  EXPECT_EQ(w.Header("x-triage-tier"), "mid");
  g->ledger().Flush();
  auto rows = g->ledger().ReadAll();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].attempts, 2);
  EXPECT_EQ((*rows)[0].tier, "mid");
}

TEST(Fallback, StreamFallsUpInvisiblyBeforeFirstByte) {
  auto g = Make(kTwoTiers);
  Writer w = Call(*g, Body("auto", true));
  ASSERT_EQ(w.status, 200);
  EXPECT_EQ(w.Header("x-triage-tier"), "mid");
  EXPECT_NE(w.body.find("[DONE]"), std::string::npos);
  EXPECT_EQ(w.body.find("error"), std::string::npos);
}

TEST(Fallback, NoneKeepsTheTier) {
  std::string yaml = std::string(kTwoTiers) + "routing: {fallback: none}\n";
  auto g = Make(yaml);
  Writer w = Call(*g, Body("auto"));
  EXPECT_EQ(w.status, 502) << w.body;
}

TEST(Fallback, PinnedDeploymentNeverLeavesIt) {
  auto g = Make(kTwoTiers);
  Writer w = Call(*g, Body("local"));
  EXPECT_EQ(w.status, 502);
  EXPECT_EQ(w.Header("x-triage-deployment"), "local");
}

TEST(Breaker, OpensAndFailsFastWith503) {
  std::string yaml = std::string(kTwoTiers) + "retry: {max_attempts: 1}\n";
  auto g = Make(yaml);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Call(*g, Body("local")).status, 502);
  Writer w = Call(*g, Body("local"));
  EXPECT_EQ(w.status, 503) << w.body;
  EXPECT_EQ(json::parse(w.body)["error"]["code"], "circuit_open");
  // auto skips the open circuit and goes straight to the next tier: one attempt.
  Writer a = Call(*g, Body("auto"));
  EXPECT_EQ(a.status, 200);
  g->ledger().Flush();
  auto rows = g->ledger().ReadAll();
  EXPECT_EQ(rows->back().attempts, 1);
  EXPECT_EQ(g->HealthJson()[0]["circuit"], "open");
}

TEST(Retry, SingleDeploymentIsRetriedUpToMaxAttempts) {
  auto g = Make(R"(
tiers:
  - name: open
    deployments:
      - {name: flaky, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 1, error_rate: 1.0}}
storage: {ledger: "sqlite::memory:"}
retry: {max_attempts: 3, backoff_base_ms: 1, backoff_max_ms: 2}
)");
  Writer w = Call(*g, Body("auto"));
  EXPECT_EQ(w.status, 502);
  g->ledger().Flush();
  EXPECT_EQ(g->ledger().ReadAll()->at(0).attempts, 3);
}

TEST(Retry, BudgetCapsRetries) {
  auto g = Make(R"(
tiers:
  - name: open
    deployments:
      - {name: flaky, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 1, error_rate: 1.0}}
storage: {ledger: "sqlite::memory:"}
retry: {max_attempts: 3, backoff_base_ms: 1, backoff_max_ms: 2, budget_ratio: 0, budget_min: 2}
breaker: {consecutive_failures: 1000}
)");
  int attempts = 0;
  for (int i = 0; i < 5; ++i) {
    Writer w = Call(*g, Body("auto"));
    EXPECT_EQ(w.status, 502);
  }
  g->ledger().Flush();
  // A named Result: a range-for over *ReadAll() read rows freed with the temporary (C++20).
  auto rows = g->ledger().ReadAll();
  ASSERT_TRUE(rows.ok());
  for (const auto& r : *rows) attempts += r.attempts;
  EXPECT_EQ(attempts, 5 + 2);  // one attempt each, plus the two retries the budget allowed
}

// Regression: the retry token was taken before a deployment was found to take the retry, so a
// request whose only deployment had just opened its circuit spent a token on no attempt, and the
// next request's legitimate retry was denied.
TEST(Retry, ATokenIsSpentOnlyOnARetryThatIsMade) {
  auto g = Make(R"(
tiers:
  - name: open
    deployments:
      - {name: a, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 1, error_rate: 1.0}}
      - {name: c, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 1, error_rate: 1.0}}
storage: {ledger: "sqlite::memory:"}
retry: {max_attempts: 3, backoff_base_ms: 1, backoff_max_ms: 2, budget_ratio: 0, budget_min: 2}
breaker: {consecutive_failures: 2, open_ms: 60000}
)");
  // a: fails, is retried (a token), fails again and opens its circuit; the third attempt finds
  // no deployment to take it and must not cost a token.
  EXPECT_EQ(Call(*g, Body("a")).status, 502);
  // c: fails, and the one token left pays for its retry.
  EXPECT_EQ(Call(*g, Body("c")).status, 502);
  g->ledger().Flush();
  auto rows = g->ledger().ReadAll();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(rows->at(0).attempts, 2);
  EXPECT_EQ(rows->at(1).attempts, 2);
}

TEST(Spillover, SaturatedOpenTierSpillsAutoToNextTier) {
  auto g = Make(R"(
tiers:
  - name: open
    deployments:
      - {name: local, provider: sim, catalog: gemma-4-31b, max_concurrency: 1, sim: {latency_ms: 300}}
  - name: mid
    deployments:
      - {name: sonnet, provider: sim, catalog: claude-sonnet-4.6, sim: {latency_ms: 1}}
storage: {ledger: "sqlite::memory:"}
spillover: {from: open, to: mid, queue_depth: 0, max_price_out: 20}
)");
  auto out = RunAll(*g, {Body("auto"), Body("auto")});
  std::vector<std::string> tiers = {out[0].Header("x-triage-tier"), out[1].Header("x-triage-tier")};
  std::sort(tiers.begin(), tiers.end());
  EXPECT_EQ(tiers, (std::vector<std::string>{"mid", "open"}));
  bool spilled = false;
  for (auto& w : out)
    spilled |= w.Header("x-triage-route").find("spilled to mid") != std::string::npos;
  EXPECT_TRUE(spilled);
  // Recovered: the next request goes back to the open tier.
  EXPECT_EQ(Call(*g, Body("auto")).Header("x-triage-tier"), "open");
}

// Spilled to `to`, which fails: the request falls back to the tier it left, as documented
// ("they go to `to` first, and fall back to `from` if that fails"). Before, the plan held only
// `to` and the tiers above it, so a slow but working open tier was never tried: 502.
TEST(Spillover, ASpilledRequestFallsBackToTheTierItLeft) {
  auto g = Make(R"(
tiers:
  - name: open
    deployments:
      - {name: local, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 200}}
  - name: mid
    deployments:
      - {name: sonnet, provider: sim, catalog: claude-sonnet-4.6, sim: {latency_ms: 1, error_rate: 1.0}}
storage: {ledger: "sqlite::memory:"}
spillover: {from: open, to: mid, ttft_target_ms: 50}
retry: {max_attempts: 3, backoff_base_ms: 1, backoff_max_ms: 2}
)");
  Writer first = Call(*g, Body("auto"));  // no latency known yet: open
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.Header("x-triage-deployment"), "local");
  Writer spilled = Call(*g, Body("auto"));  // open's first-byte EWMA ~200 ms > 50 ms: spills
  EXPECT_NE(spilled.Header("x-triage-route").find("spilled to mid"), std::string::npos)
      << spilled.Header("x-triage-route");
  ASSERT_EQ(spilled.status, 200) << spilled.body;
  EXPECT_EQ(spilled.Header("x-triage-deployment"), "local");
  g->ledger().Flush();
  EXPECT_EQ(g->ledger().ReadAll()->at(1).attempts, 2);  // mid failed once, then open answered
}

// The spilled plan holds the same tiers as the unspilled one (routing.fallback still applies
// from the tier the request left), only reordered: to, from, from's fallbacks.
TEST(Spillover, TheSpilledPlanKeepsTheFallbacksOfTheTierItLeft) {
  auto g = Make(R"(
tiers:
  - name: open
    deployments:
      - {name: local, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 200}}
  - name: mid
    deployments:
      - {name: sonnet, provider: sim, catalog: claude-sonnet-4.6, sim: {latency_ms: 1, error_rate: 1.0}}
  - name: frontier
    deployments:
      - {name: opus, provider: sim, catalog: claude-opus-4.7, sim: {latency_ms: 1, error_rate: 1.0}}
storage: {ledger: "sqlite::memory:"}
spillover: {from: open, to: mid, ttft_target_ms: 50}
retry: {max_attempts: 3, backoff_base_ms: 1, backoff_max_ms: 2}
breaker: {consecutive_failures: 1000}
)");
  ASSERT_EQ(Call(*g, Body("auto")).status, 200);
  Writer spilled = Call(*g, Body("auto"));
  ASSERT_EQ(spilled.status, 200) << spilled.body;
  EXPECT_EQ(spilled.Header("x-triage-deployment"), "local");  // open before frontier
  g->ledger().Flush();
  EXPECT_EQ(g->ledger().ReadAll()->at(1).attempts, 2);
}

TEST(Spillover, CostCeilingBlocksExpensiveTier) {
  auto g = Make(R"(
tiers:
  - name: open
    deployments:
      - {name: local, provider: sim, catalog: gemma-4-31b, max_concurrency: 1, max_queue: 4, queue_timeout_ms: 2000, sim: {latency_ms: 100}}
  - name: frontier
    deployments:
      - {name: opus, provider: sim, catalog: claude-opus-4.7, sim: {latency_ms: 1}}
storage: {ledger: "sqlite::memory:"}
spillover: {from: open, to: frontier, queue_depth: 0, max_price_out: 20}
)");
  // opus costs $25/Mtok out, above the $20 ceiling: both wait for the open tier's one slot.
  auto out = RunAll(*g, {Body("auto"), Body("auto")});
  EXPECT_EQ(out[0].Header("x-triage-tier"), "open");
  EXPECT_EQ(out[1].Header("x-triage-tier"), "open");
}

TEST(Capacity, FullDeploymentWithoutQueueMovesOn) {
  auto g = Make(R"(
tiers:
  - name: open
    deployments:
      - {name: a, provider: sim, catalog: gemma-4-31b, max_concurrency: 1, sim: {latency_ms: 200}}
      - {name: b, provider: sim, catalog: gemma-4-31b, max_concurrency: 1, sim: {latency_ms: 200}}
storage: {ledger: "sqlite::memory:"}
routing: {fallback: none}
)");
  auto out = RunAll(*g, {Body("open"), Body("open"), Body("open")});
  int ok = 0, overloaded = 0;
  for (auto& w : out) {
    if (w.status == 200) ++ok;
    if (w.status == 503 && json::parse(w.body)["error"]["code"] == "overloaded") ++overloaded;
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(overloaded, 1);
}

// Regression: a request waiting in a deployment's queue whose client went away left the queue,
// but then went on to the next deployment of the plan and called it, for nobody.
TEST(Capacity, QueuedRequestWhoseClientLeavesCallsNoOtherDeployment) {
  auto g = Make(R"(
tiers:
  - name: open
    deployments:
      - {name: busy, provider: sim, catalog: gemma-4-31b, max_concurrency: 1, max_queue: 1, queue_timeout_ms: 5000, sim: {latency_ms: 300}}
  - name: mid
    deployments:
      - {name: spare, provider: sim, catalog: claude-sonnet-4.6, sim: {latency_ms: 1}}
storage: {ledger: "sqlite::memory:"}
routing: {fallback: up}
)");
  net::io_context io;
  Writer first, queued;
  const std::string body = Body("open");  // outlives the coroutines, which keep a view of it
  auto gone = std::make_shared<upstream::CancelHook>();
  auto rethrow = [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  };
  net::co_spawn(io, g->ChatCompletions(body, first, std::make_shared<upstream::CancelHook>()),
                rethrow);
  net::co_spawn(io, g->ChatCompletions(body, queued, gone), rethrow);
  net::steady_timer leave(io, std::chrono::milliseconds(50));
  leave.async_wait([&](boost::system::error_code) { gone->Fire(); });
  io.run();
  EXPECT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.Header("x-triage-deployment"), "busy");
  g->ledger().Flush();
  auto rows = g->ledger().ReadAll();
  ASSERT_EQ(rows->size(), 2u);
  int gone_rows = 0;
  for (const auto& r : *rows) {
    if (r.status == 499) {
      ++gone_rows;
      EXPECT_EQ(r.attempts, 0) << r.deployment;
      EXPECT_NE(r.deployment, "spare");
    }
  }
  EXPECT_EQ(gone_rows, 1);
  EXPECT_EQ(g->health("busy").in_flight(), 0);
  EXPECT_EQ(g->health("busy").queued(), 0);
  EXPECT_EQ(g->health("spare").in_flight(), 0);
}

}  // namespace
}  // namespace triage::pipeline

namespace triage::pipeline {
namespace {

const char* kCascade = R"(
tiers:
  - name: open
    deployments:
      - {name: cheap, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 1, ttft_ms: 1, output_tokens: 5, tokens_per_second: 100000}}
  - name: frontier
    deployments:
      - {name: strong, provider: sim, catalog: claude-opus-4.7, sim: {latency_ms: 1, ttft_ms: 1, output_tokens: 5, tokens_per_second: 100000}}
storage: {ledger: "sqlite::memory:"}
)";

TEST(Cascade, GoodCheapAnswerIsReleased) {
  auto g = Make(kCascade);
  std::string seen;
  g->SetAnswerJudge(
      [&](const RequestContext&, std::string_view a) {
        seen = std::string(a);
        return 0.1;
      },
      0.5);
  for (bool stream : {false, true}) {
    Writer w = Call(*g, Body("auto", stream));
    ASSERT_EQ(w.status, 200) << w.body;
    EXPECT_EQ(w.Header("x-triage-tier"), "open");
    EXPECT_EQ(w.Header("x-triage-route"), "cascade score=0.10 < 0.50 \u2192 open");
    EXPECT_NE(seen.find("[simulated gemma-4-31b]"), std::string::npos) << seen;
    if (stream) {
      EXPECT_NE(w.body.find("[DONE]"), std::string::npos);
    }
  }
  g->ledger().Flush();
  auto rows = *g->ledger().ReadAll();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].tier, "open");
  EXPECT_EQ(rows[0].attempts, 1);
}

// The cheap tier is tried only through deployments that can take the request: a prompt
// beyond its model's context window (gemma-4-e2b: 131,072 tokens) or an image it cannot read
// goes straight to the next tier, without a cheap call, and is judged by nobody.
TEST(Cascade, RequestTheCheapTierCannotTakeEscalatesAtOnce) {
  auto g = Make(R"(
tiers:
  - name: open
    deployments:
      - {name: edge, provider: sim, catalog: gemma-4-e2b, sim: {latency_ms: 1, ttft_ms: 1}}
      - {name: text-only, provider: sim, catalog: qwen-3.6-35b-a3b, sim: {latency_ms: 1, ttft_ms: 1}}
  - name: frontier
    deployments:
      - {name: strong, provider: sim, catalog: claude-opus-4.7, sim: {latency_ms: 1, ttft_ms: 1}}
storage: {ledger: "sqlite::memory:"}
)");
  int judged = 0;
  g->SetAnswerJudge(
      [&](const RequestContext&, std::string_view) {
        ++judged;
        return 0.1;
      },
      0.5);
  // ~150,000 tokens: beyond gemma-4-e2b's window; qwen's window is unknown, so it is tried.
  json long_prompt = {{"model", "auto"},
                      {"messages", {{{"role", "user"}, {"content", std::string(600'000, 'a')}}}}};
  Writer w = Call(*g, long_prompt.dump());
  ASSERT_EQ(w.status, 200) << w.body;
  EXPECT_EQ(w.Header("x-triage-deployment"), "text-only");
  EXPECT_EQ(judged, 1);
  // An image: neither open model reads images (qwen is text only; gemma-4-e2b reads them but
  // not this long prompt), so the frontier tier answers without a cheap call.
  json image = {{"model", "auto"},
                {"messages",
                 {{{"role", "user"},
                   {"content",
                    {{{"type", "text"}, {"text", std::string(600'000, 'a')}},
                     {{"type", "image_url"},
                      {"image_url", {{"url", "data:image/png;base64,iVBORw0KGgo="}}}}}}}}}};
  Writer img = Call(*g, image.dump());
  ASSERT_EQ(img.status, 200) << img.body;
  EXPECT_EQ(img.Header("x-triage-tier"), "frontier");
  EXPECT_EQ(img.Header("x-triage-route"), "cascade open cannot take the request \u2192 frontier");
  EXPECT_EQ(judged, 1);
  g->ledger().Flush();
  auto rows = *g->ledger().ReadAll();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].attempts, 1);  // the frontier call only
}

TEST(Cascade, WeakCheapAnswerEscalatesAndCarriesItsCost) {
  auto g = Make(kCascade);
  g->SetAnswerJudge([](const RequestContext&, std::string_view) { return 0.9; }, 0.5);
  for (bool stream : {false, true}) {
    Writer w = Call(*g, Body("auto", stream));
    ASSERT_EQ(w.status, 200) << w.body;
    EXPECT_EQ(w.Header("x-triage-tier"), "frontier");
    EXPECT_EQ(w.Header("x-triage-route"), "cascade score=0.90 >= 0.50 \u2192 frontier");
    EXPECT_EQ(w.body.find("[simulated gemma-4-31b]"), std::string::npos)
        << "the held cheap answer never reaches the client";
  }
  g->ledger().Flush();
  auto rows = *g->ledger().ReadAll();
  ASSERT_EQ(rows.size(), 2u);  // one row per request, not per call
  for (const auto& r : rows) {
    EXPECT_EQ(r.tier, "frontier");
    EXPECT_EQ(r.attempts, 2);
    // Cost = the cheap call + the frontier call; the counterfactual prices only the answer.
    const int64_t half_in = r.input_tokens / 2, half_out = r.output_tokens / 2;
    const int64_t cheap = ((half_in + half_out) * 200000 + 500000) / 1000000;
    const int64_t strong = (half_in * 5000000 + half_out * 25000000 + 500000) / 1000000;
    EXPECT_EQ(r.cost_micros, cheap + strong);
    EXPECT_EQ(r.reference_cost_micros, strong);
  }
}

TEST(Cascade, PinnedModelsSkipTheCascade) {
  auto g = Make(kCascade);
  int calls = 0;
  g->SetAnswerJudge(
      [&](const RequestContext&, std::string_view) {
        ++calls;
        return 0.0;
      },
      0.5);
  EXPECT_EQ(Call(*g, Body("open")).Header("x-triage-tier"), "open");
  EXPECT_EQ(calls, 0);
}

// The escalation tier fails (every attempt) while the cheap answer is held: that complete,
// paid-for answer is released instead of an error (until 2026-12-03 the client got the
// escalation's 502 and paid for an answer it never saw).
TEST(Cascade, EscalationThatFailsReleasesTheHeldCheapAnswer) {
  auto g = Make(R"(
tiers:
  - name: open
    deployments:
      - {name: cheap, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 1, ttft_ms: 1, output_tokens: 5, tokens_per_second: 100000}}
  - name: frontier
    deployments:
      - {name: strong, provider: sim, catalog: claude-opus-4.7, sim: {latency_ms: 1, error_rate: 1.0}}
storage: {ledger: "sqlite::memory:"}
retry: {max_attempts: 1}
)");
  g->SetAnswerJudge([](const RequestContext&, std::string_view) { return 0.9; }, 0.5);
  for (bool stream : {false, true}) {
    Writer w = Call(*g, Body("auto", stream));
    ASSERT_EQ(w.status, 200) << w.body;
    EXPECT_EQ(w.Header("x-triage-tier"), "open");
    EXPECT_EQ(w.Header("x-triage-deployment"), "cheap");
    EXPECT_EQ(w.Header("x-triage-route"),
              "cascade score=0.90 >= 0.50 \u2192 frontier; released open (frontier failed)");
    EXPECT_NE(w.body.find("[simulated gemma-4-31b]"), std::string::npos) << w.body;
    if (stream) {
      EXPECT_TRUE(w.ended);
      EXPECT_NE(w.body.find("[DONE]"), std::string::npos);
      EXPECT_EQ(w.body.find("\"error\""), std::string::npos) << w.body;
    }
  }
  g->ledger().Flush();
  auto rows = *g->ledger().ReadAll();
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& r : rows) {
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.error_kind, "");
    EXPECT_EQ(r.tier, "open");
    EXPECT_EQ(r.attempts, 2);  // the cheap call and the failed escalation
    // The cheap call's cost only (the failed call has no usage); the counterfactual prices it.
    EXPECT_EQ(r.cost_micros, ((r.input_tokens + r.output_tokens) * 200000 + 500000) / 1000000);
    EXPECT_EQ(r.reference_cost_micros,
              (r.input_tokens * 5000000 + r.output_tokens * 25000000 + 500000) / 1000000);
  }
  // Counted as an escalation decision, answered by the cheap tier.
  const std::string m = g->stats().Prometheus();
  EXPECT_NE(
      m.find("triage_route_decisions_total{decision=\"cascade_escalated\",tier=\"frontier\"} 2"),
      std::string::npos);
  EXPECT_NE(m.find("triage_requests_total{tier=\"open\"} 2"), std::string::npos);
}

// The escalation cannot take the request at all (an image, a text-only next tier): the held
// cheap answer, from a model that reads images, is released (it was a 400 naming the cheap
// deployment as capable).
TEST(Cascade, EscalationThatCannotTakeTheRequestReleasesTheHeldCheapAnswer) {
  auto g = Make(R"(
tiers:
  - name: open
    deployments:
      - {name: cheap, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 1, ttft_ms: 1, output_tokens: 5, tokens_per_second: 100000}}
  - name: frontier
    deployments:
      - {name: text-only, provider: sim, catalog: qwen-3.6-35b-a3b, sim: {latency_ms: 1, ttft_ms: 1}}
storage: {ledger: "sqlite::memory:"}
)");
  g->SetAnswerJudge([](const RequestContext&, std::string_view) { return 0.9; }, 0.5);
  json image = {{"model", "auto"},
                {"messages",
                 {{{"role", "user"},
                   {"content",
                    {{{"type", "text"}, {"text", "what is this?"}},
                     {{"type", "image_url"},
                      {"image_url", {{"url", "data:image/png;base64,iVBORw0KGgo="}}}}}}}}}};
  Writer w = Call(*g, image.dump());
  ASSERT_EQ(w.status, 200) << w.body;
  EXPECT_EQ(w.Header("x-triage-tier"), "open");
  EXPECT_EQ(w.Header("x-triage-route"),
            "cascade score=0.90 >= 0.50 \u2192 frontier; released open (frontier cannot take the "
            "request)");
  g->ledger().Flush();
  auto rows = *g->ledger().ReadAll();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].attempts, 1);  // the cheap call; the escalation made none
  EXPECT_EQ(rows[0].status, 200);
}

// With no held answer (the cheap call failed too) the escalation's error is the answer.
TEST(Cascade, BothTiersFailingIsAnError) {
  auto g = Make(R"(
tiers:
  - name: open
    deployments:
      - {name: cheap, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 1, error_rate: 1.0}}
  - name: frontier
    deployments:
      - {name: strong, provider: sim, catalog: claude-opus-4.7, sim: {latency_ms: 1, error_rate: 1.0}}
storage: {ledger: "sqlite::memory:"}
retry: {max_attempts: 1}
)");
  g->SetAnswerJudge([](const RequestContext&, std::string_view) { return 0.9; }, 0.5);
  Writer w = Call(*g, Body("auto"));
  EXPECT_GE(w.status, 500) << w.body;
  EXPECT_EQ(w.Header("x-triage-route"), "cascade open failed \u2192 frontier");
  g->ledger().Flush();
  auto rows = *g->ledger().ReadAll();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].attempts, 2);
  EXPECT_NE(rows[0].error_kind, "");
}

// The cascade builds its own plans: `fallback: none` (or `down`) with the cheap tier as the
// default used to refuse, before the cascade ran, a request only the escalation tier can take
// (400 unsupported_modality, `x-triage-route: default tier=open`).
TEST(Cascade, RunsWhateverDefaultTierAndFallbackSay) {
  for (const char* fallback : {"none", "down"}) {
    auto g = Make(std::string(R"(
tiers:
  - name: open
    deployments:
      - {name: text-only, provider: sim, catalog: qwen-3.6-35b-a3b, sim: {latency_ms: 1, ttft_ms: 1}}
  - name: frontier
    deployments:
      - {name: strong, provider: sim, catalog: claude-opus-4.7, sim: {latency_ms: 1, ttft_ms: 1}}
storage: {ledger: "sqlite::memory:"}
routing: {fallback: )") +
                  fallback + "}\n");
    g->SetAnswerJudge([](const RequestContext&, std::string_view) { return 0.1; }, 0.5);
    json image = {{"model", "auto"},
                  {"messages",
                   {{{"role", "user"},
                     {"content",
                      {{{"type", "text"}, {"text", "what is this?"}},
                       {{"type", "image_url"},
                        {"image_url", {{"url", "data:image/png;base64,iVBORw0KGgo="}}}}}}}}}};
    Writer w = Call(*g, image.dump());
    ASSERT_EQ(w.status, 200) << fallback << ": " << w.body;
    EXPECT_EQ(w.Header("x-triage-tier"), "frontier");
    EXPECT_EQ(w.Header("x-triage-route"), "cascade open cannot take the request \u2192 frontier");
    // Text goes through the cascade as usual.
    EXPECT_EQ(Call(*g, Body("auto")).Header("x-triage-route"),
              "cascade score=0.10 < 0.50 \u2192 open");
  }
}

// A request no tier can take is refused without a cheap call and counts as no cascade decision
// (it counted as cascade_cheap_failed once the cascade ran before the default plan's check).
TEST(Cascade, RequestNoTierCanTakeIsRefusedWithoutADecision) {
  auto g = Make(kCascade);
  int judged = 0;
  g->SetAnswerJudge(
      [&](const RequestContext&, std::string_view) {
        ++judged;
        return 0.1;
      },
      0.5);
  // 1,100,000 chars, ~275,000 tokens: beyond gemma-4-31b's 262,144 and claude-opus-4.7's 200,000.
  json long_prompt = {{"model", "auto"},
                      {"messages", {{{"role", "user"}, {"content", std::string(1'100'000, 'a')}}}}};
  Writer w = Call(*g, long_prompt.dump());
  EXPECT_EQ(w.status, 400) << w.body;
  EXPECT_NE(w.body.find("context_length_exceeded"), std::string::npos) << w.body;
  EXPECT_EQ(judged, 0);
  const std::string m = g->stats().Prometheus();
  for (const char* d : {"cascade_released", "cascade_escalated", "cascade_cheap_failed"})
    for (const char* t : {"open", "frontier"})
      EXPECT_NE(m.find(std::string("triage_route_decisions_total{decision=\"") + d + "\",tier=\"" +
                       t + "\"} 0\n"),
                std::string::npos)
          << d << "/" << t;
  g->ledger().Flush();
  auto rows = *g->ledger().ReadAll();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, 400);
  EXPECT_EQ(rows[0].attempts, 0);
}

// triage_upstream_attempts_total counts the cheap call of an escalated cascade, like the
// ledger's attempts (it counted only the escalation's).
TEST(Cascade, AttemptsMetricCountsTheCheapCall) {
  auto g = Make(kCascade);
  g->SetAnswerJudge([](const RequestContext&, std::string_view) { return 0.9; }, 0.5);
  ASSERT_EQ(Call(*g, Body("auto")).status, 200);
  EXPECT_NE(g->stats().Prometheus().find("triage_upstream_attempts_total 2\n"), std::string::npos)
      << g->stats().Prometheus();
}

// A held stream is bounded by limits.max_response_bytes, like an answer that is not streamed:
// beyond it the cheap attempt fails, is retried, and the request escalates (it was held whole,
// unbounded).
TEST(Cascade, HeldStreamBeyondMaxResponseBytesEscalates) {
  auto g = Make(R"(
tiers:
  - name: open
    deployments:
      - {name: cheap, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 1, ttft_ms: 1, output_tokens: 400, tokens_per_second: 1000000}}
  - name: frontier
    deployments:
      - {name: strong, provider: sim, catalog: claude-opus-4.7, sim: {latency_ms: 1, ttft_ms: 1, output_tokens: 5, tokens_per_second: 100000}}
storage: {ledger: "sqlite::memory:"}
limits: {max_response_bytes: 20000}
)");
  int judged = 0;
  g->SetAnswerJudge(
      [&](const RequestContext&, std::string_view) {
        ++judged;
        return 0.1;
      },
      0.5);
  Writer w = Call(*g, Body("auto", true));
  ASSERT_EQ(w.status, 200) << w.body;
  EXPECT_EQ(w.Header("x-triage-tier"), "frontier");
  EXPECT_EQ(w.Header("x-triage-route"), "cascade open failed \u2192 frontier");
  EXPECT_EQ(judged, 0);
  EXPECT_EQ(w.body.find("[simulated gemma-4-31b]"), std::string::npos);
  g->ledger().Flush();
  auto rows = *g->ledger().ReadAll();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, 200);
  EXPECT_EQ(rows[0].error_kind, "");
  // Each oversized cheap attempt failed as an oversized answer that is not streamed does, and
  // the plan moved on (retried within retry.max_attempts, 3) before escalating: 3 + 1.
  EXPECT_EQ(rows[0].attempts, 4);
  EXPECT_GT(rows[0].failed_output_tokens, 0);
  // A short answer of the same tier is still held and released.
  Writer small = Call(*g, Body("auto", false));
  EXPECT_EQ(small.Header("x-triage-route"), "cascade score=0.10 < 0.50 \u2192 open");
}

// A released stream's ttft_ms is when its first byte left, after the cheap call and its
// scoring, not when the cheap call's first token reached the holder.
TEST(Cascade, ReleasedStreamTtftIsWhenTheClientGotItsFirstByte) {
  auto g = Make(R"(
tiers:
  - name: open
    deployments:
      - {name: cheap, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 1, ttft_ms: 1, output_tokens: 20, tokens_per_second: 200}}
  - name: frontier
    deployments:
      - {name: strong, provider: sim, catalog: claude-opus-4.7, sim: {latency_ms: 1, ttft_ms: 1}}
storage: {ledger: "sqlite::memory:"}
)");
  int64_t judged_at_ms = -1;
  g->SetAnswerJudge(
      [&](const RequestContext& cheap, std::string_view) {
        judged_at_ms = cheap.ElapsedMs();
        return 0.1;
      },
      0.5);
  Writer w = Call(*g, Body("auto", true));
  ASSERT_EQ(w.Header("x-triage-tier"), "open");
  g->ledger().Flush();
  auto rows = *g->ledger().ReadAll();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_GE(judged_at_ms, 50);  // 20 tokens at 200 per second
  EXPECT_GE(rows[0].ttft_ms, judged_at_ms);
}

// OpenAI `n` > 1: each choice is judged on its own and the least convincing decides (the
// choices' texts were joined, and a stream's interleaved deltas judged as one garbled answer).
TEST(Cascade, EveryChoiceIsJudgedOnItsOwnAndTheWorstDecides) {
  auto g = Make(kCascade);
  std::vector<std::string> seen;
  g->SetAnswerJudge(
      [&](const RequestContext&, std::string_view a) {
        seen.emplace_back(a);
        return seen.size() % 2 == 1 ? 0.1 : 0.9;  // one choice good, the other not
      },
      0.5);
  for (bool stream : {false, true}) {
    seen.clear();
    json r = json::parse(Body("auto", stream));
    r["n"] = 2;
    Writer w = Call(*g, r.dump());
    ASSERT_EQ(w.status, 200) << w.body;
    EXPECT_EQ(w.Header("x-triage-route"), "cascade score=0.90 >= 0.50 \u2192 frontier");
    ASSERT_EQ(seen.size(), 2u);
    for (const auto& a : seen) {
      EXPECT_EQ(a.find("[simulated gemma-4-31b]"), 0u) << a;
      EXPECT_EQ(a.find("[simulated", 1), std::string::npos) << a;
    }
    EXPECT_NE(seen[0], seen[1]);
  }
}

TEST(AnswerText, OneTextPerChoice) {
  using V = std::vector<std::string>;
  EXPECT_EQ(AnswerTexts(dialect::Dialect::kOpenAI, false,
                        R"({"choices":[{"index":0,"message":{"content":"4"}},)"
                        R"({"index":1,"message":{"content":"5"}}]})"),
            (V{"4", "5"}));
  EXPECT_EQ(AnswerTexts(dialect::Dialect::kOpenAI, true,
                        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"
                        "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"x\"}}]}\n\n"
                        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\n\n"
                        "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"y\"}}]}\n\n"
                        "data: [DONE]\n\n"),
            (V{"ab", "xy"}));
  // No text at all (a tool call): one empty answer.
  EXPECT_EQ(AnswerTexts(dialect::Dialect::kOpenAI, false,
                        R"({"choices":[{"index":0,"message":{"content":null}}]})"),
            (V{""}));
  // An absurd index does not allocate its way there.
  EXPECT_EQ(AnswerTexts(dialect::Dialect::kOpenAI, false,
                        R"({"choices":[{"index":4000000000,"message":{"content":"z"}}]})"),
            (V{"z"}));
}

TEST(AnswerText, ExtractsTextFromEveryShape) {
  EXPECT_EQ(AnswerText(dialect::Dialect::kOpenAI, false,
                       R"({"choices":[{"message":{"role":"assistant","content":"4"}}]})"),
            "4");
  EXPECT_EQ(AnswerText(dialect::Dialect::kAnthropic, false,
                       R"({"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]})"),
            "ab");
  EXPECT_EQ(AnswerText(dialect::Dialect::kOpenAI, true,
                       "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"
                       "data: {\"choices\":[{\"delta\":{\"content\":\"y\"}}]}\n\ndata: [DONE]\n\n"),
            "xy");
  EXPECT_EQ(AnswerText(dialect::Dialect::kAnthropic, true,
                       "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
                       "\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n"),
            "hi");
}

}  // namespace
}  // namespace triage::pipeline

namespace triage::pipeline {
namespace {

// `auto` requests land on the tier the configured router predicts for them.
void ExpectRouterDecides(const std::string& spec) {
  auto g = Make(std::string(R"(
tiers:
  - name: open
    deployments: [{name: o, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 0, output_tokens: 2}}]
  - name: mid
    deployments: [{name: m, provider: sim, catalog: claude-sonnet-4.6, sim: {latency_ms: 0, output_tokens: 2}}]
  - name: frontier
    deployments: [{name: f, provider: sim, catalog: claude-opus-4.7, sim: {latency_ms: 0, output_tokens: 2}}]
storage: {ledger: "sqlite::memory:"}
routing: {router: ")") +
                spec + R"(", thresholds: [0.3, 0.7]}
)");
  ASSERT_TRUE(g);
  auto scorer = routing::MakeScorer(spec);
  ASSERT_TRUE(scorer.ok()) << scorer.error().message;
  const std::vector<std::string> names = {"open", "mid", "frontier"};
  std::set<std::string> seen;
  for (const std::string& prompt : std::vector<std::string>{
           "hi", "What is 2+2?", std::string(3000, 'x'),
           "Prove that there are infinitely many primes, then derive the prime number theorem's "
           "error term and explain each step of the contour integration in detail.",
           std::string(200, 'y') + " solve for x: 3x + 7 = 22, then compute 17 * 23 - 5"}) {
    json body = {{"model", "auto"}, {"messages", {{{"role", "user"}, {"content", prompt}}}}};
    Writer w = Call(*g, body.dump());
    ASSERT_EQ(w.status, 200) << w.body;
    auto parsed = dialect::ParseOpenAIChat(body.dump(), 64);
    ASSERT_TRUE(parsed.ok());
    const double score = (*scorer)->Score(RouteInputOf(*parsed));
    const std::string want = names[routing::ChooseTier(score, {0.3, 0.7})];
    EXPECT_EQ(w.Header("x-triage-tier"), want) << prompt.substr(0, 40);
    EXPECT_EQ(w.Header("x-triage-route").find(spec.substr(0, spec.find(':')) + " score="), 0u)
        << w.Header("x-triage-route");
    seen.insert(want);
  }
}

TEST(RouterInGateway, LengthRouterDecidesAutoRequests) { ExpectRouterDecides("length"); }
TEST(RouterInGateway, RandomRouterDecidesAutoRequests) { ExpectRouterDecides("random:7"); }

TEST(RouterInGateway, BadRouterFileIsAConfigError) {
  auto cfg = config::LoadString(R"(
tiers:
  - name: open
    deployments: [{name: o, provider: sim, catalog: gemma-4-31b}]
  - name: frontier
    deployments: [{name: f, provider: sim, catalog: claude-opus-4.7}]
routing: {router: "learned:/nonexistent/model.bin", thresholds: [0.5]}
)");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto g = Gateway::Create(*cfg, std::move(*store::OpenLedger("sqlite::memory:")));
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message.find("routing.router"), std::string::npos) << g.error().message;
}

}  // namespace
}  // namespace triage::pipeline

namespace triage::pipeline {
namespace {
TEST(RouterInGateway, ShippedLearnedModelDecidesAutoRequests) {
  ExpectRouterDecides("learned:" TRIAGE_SOURCE_DIR "/models/learned-v3.model");
}
}  // namespace
}  // namespace triage::pipeline

namespace triage::pipeline {
namespace {

const char* kModal = R"(
tiers:
  - name: open
    deployments:
      - {name: qwen, provider: sim, catalog: qwen-3.6-35b-a3b, sim: {latency_ms: 0, output_tokens: 2}}
      - {name: gemma, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 0, output_tokens: 2}}
  - name: text
    deployments:
      - {name: qwen2, provider: sim, catalog: qwen-3.6-35b-a3b, sim: {latency_ms: 0, output_tokens: 2}}
storage: {ledger: "sqlite::memory:"}
routing: {fallback: none}
)";

std::string ImageBody(const std::string& model) {
  json r = {
      {"model", model},
      {"messages",
       {{{"role", "user"},
         {"content",
          {{{"type", "text"}, {"text", "what is this?"}},
           {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,AAAA"}}}}}}}}}};
  return r.dump();
}

TEST(Modality, ImagesOnlyReachDeploymentsWithTheModality) {
  auto g = Make(kModal);
  for (int i = 0; i < 6; ++i) {  // whatever order the balancer picks, never the text-only one
    Writer w = Call(*g, ImageBody("open"));
    ASSERT_EQ(w.status, 200) << w.body;
    EXPECT_EQ(w.Header("x-triage-deployment"), "gemma");
  }
  EXPECT_EQ(Call(*g, Body("open")).status, 200);  // text still goes anywhere
}

TEST(Modality, NoCapableDeploymentIsA400NamingTheCapableOnes) {
  auto g = Make(kModal);
  Writer w = Call(*g, ImageBody("text"));
  EXPECT_EQ(w.status, 400);
  json e = json::parse(w.body)["error"];
  EXPECT_EQ(e["code"], "unsupported_modality");
  EXPECT_NE(e["message"].get<std::string>().find("image"), std::string::npos);
  EXPECT_NE(e["message"].get<std::string>().find("gemma (gemma-4-31b)"), std::string::npos)
      << e["message"];
  g->ledger().Flush();
  EXPECT_EQ(g->ledger().ReadAll()->size(), 1u);
}

// Active health checks: a deployment the checks mark failing is skipped like an open circuit.
// The checker itself needs HTTP (tests/upstream, tests/integration); here its verdicts are
// recorded directly on sim deployments.
const char* kSiblings = R"(
tiers:
  - name: open
    deployments:
      - {name: a, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 1, output_tokens: 5}}
      - {name: b, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 1, output_tokens: 5}}
  - name: mid
    deployments:
      - {name: sonnet, provider: sim, catalog: claude-sonnet-4.6, sim: {latency_ms: 1, output_tokens: 5}}
storage: {ledger: "sqlite::memory:"}
)";

void MarkDown(Gateway& g, const std::string& name) {
  auto& h = g.health(name);
  h.EnableChecks(upstream::CheckPolicy{1, 1});
  h.RecordCheck(false, 503, "HTTP 503", upstream::Clock::now());
  ASSERT_EQ(h.check_state(), upstream::CheckState::kFailing);
}

TEST(HealthCheck, FailingDeploymentIsSkippedAndItsSiblingAnswers) {
  auto g = Make(kSiblings);
  MarkDown(*g, "a");
  for (int i = 0; i < 20; ++i) {
    Writer w = Call(*g, Body("auto"));
    ASSERT_EQ(w.status, 200) << w.body;
    EXPECT_EQ(w.Header("x-triage-deployment"), "b");
  }
  g->ledger().Flush();
  auto rows = g->ledger().ReadAll();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 20u);
  for (const auto& row : *rows) EXPECT_EQ(row.attempts, 1);
  // Pinned to the failing deployment: refused at once, like an open circuit.
  Writer pinned = Call(*g, Body("a"));
  EXPECT_EQ(pinned.status, 503) << pinned.body;
  auto err = json::parse(pinned.body)["error"];
  EXPECT_EQ(err["code"], "health_check_failing");
  EXPECT_EQ(err["message"],
            "every deployment this request may use is failing its health checks; retry later");
  // Observability: /readyz and /metrics.
  json ready = g->HealthJson();
  EXPECT_EQ(ready[0]["deployment"], "a");
  EXPECT_EQ(ready[0]["health_check"]["state"], "failing");
  EXPECT_EQ(ready[0]["health_check"]["last_status"], 503);
  EXPECT_EQ(ready[0]["circuit"], "closed");
  EXPECT_EQ(ready[1]["health_check"]["state"], "off");
  const std::string prom = g->HealthPrometheus();
  EXPECT_NE(prom.find("triage_deployment_health_check_failing{tier=\"open\",deployment=\"a\"} 1\n"),
            std::string::npos);
  EXPECT_NE(prom.find("triage_deployment_health_check_failing{tier=\"open\",deployment=\"b\"} 0\n"),
            std::string::npos);
  EXPECT_NE(prom.find("triage_deployment_health_checks_total{tier=\"open\",deployment=\"a\","
                      "result=\"fail\"} 1\n"),
            std::string::npos);
  // Back per the checks: served again.
  g->health("a").RecordCheck(true, 200, "", upstream::Clock::now());
  Writer back = Call(*g, Body("a"));
  EXPECT_EQ(back.status, 200) << back.body;
}

TEST(HealthCheck, WholeTierFailingFallsBackOrAnswers503) {
  auto g = Make(kSiblings);
  MarkDown(*g, "a");
  MarkDown(*g, "b");
  Writer w = Call(*g, Body("auto"));
  ASSERT_EQ(w.status, 200) << w.body;
  EXPECT_EQ(w.Header("x-triage-tier"), "mid");
  auto none = Make(std::string(kSiblings) + "routing: {fallback: none}\n");
  MarkDown(*none, "a");
  MarkDown(*none, "b");
  Writer refused = Call(*none, Body("open"));
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(json::parse(refused.body)["error"]["code"], "health_check_failing");
  EXPECT_EQ(refused.Header("retry-after"), "1");
}

// A tier whose deployments are all cooling down (their upstreams asked every caller to wait) is
// left like one failing its checks: `auto` spills at once; pinned to it, the refusal carries
// the time left; one failing its checks and one cooling down is "down" too.
TEST(CoolDown, SpilloverLeavesACoolingTierAndAPinnedRequestIsToldTheWait) {
  auto g = Make(std::string(kSiblings) +
                "spillover: {from: open, to: mid, ttft_target_ms: 600000}\n"
                "routing: {fallback: none}\n");
  const auto now = upstream::Clock::now();
  g->health("a").CoolDown(now + std::chrono::seconds(30), 429);
  Writer one = Call(*g, Body("auto"));  // b is still there: no spill
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.Header("x-triage-deployment"), "b");
  g->health("b").CoolDown(now + std::chrono::seconds(5), 503);
  Writer spilled = Call(*g, Body("auto"));
  ASSERT_EQ(spilled.status, 200) << spilled.body;
  EXPECT_EQ(spilled.Header("x-triage-tier"), "mid");
  EXPECT_NE(spilled.Header("x-triage-route").find("spilled to mid (open cooling down)"),
            std::string::npos)
      << spilled.Header("x-triage-route");
  // Pinned: refused without a call; the shortest wait left (b's 5 s), in b's status's terms.
  Writer pinned = Call(*g, Body("open"));
  EXPECT_EQ(pinned.status, 503) << pinned.body;
  EXPECT_EQ(json::parse(pinned.body)["error"]["code"], "upstream_unavailable");
  EXPECT_EQ(pinned.Header("retry-after"), "5");
  Writer a = Call(*g, Body("a"));
  EXPECT_EQ(a.status, 429) << a.body;
  EXPECT_EQ(json::parse(a.body)["error"]["code"], "upstream_rate_limited");
  const int ra = std::stoi(a.Header("retry-after"));
  EXPECT_TRUE(ra == 30 || ra == 29) << ra;
  g->ledger().Flush();
  EXPECT_EQ(g->ledger().ReadAll()->back().attempts, 0);
}

// Local-first spill-over also leaves a watched tier whose every deployment fails its health
// checks: `auto` goes to the spill target at once, and comes back when one passes again.
TEST(HealthCheck, SpilloverLeavesATierWhoseDeploymentsAllFailTheirChecks) {
  auto g = Make(std::string(kSiblings) +
                "spillover: {from: open, to: mid, ttft_target_ms: 600000}\n"
                "routing: {fallback: none}\n");
  MarkDown(*g, "a");
  Writer one = Call(*g, Body("auto"));  // b still passes: no spill
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.Header("x-triage-deployment"), "b");
  MarkDown(*g, "b");
  Writer spilled = Call(*g, Body("auto"));
  ASSERT_EQ(spilled.status, 200) << spilled.body;
  EXPECT_EQ(spilled.Header("x-triage-tier"), "mid");
  EXPECT_NE(spilled.Header("x-triage-route").find("spilled to mid (open failing health checks)"),
            std::string::npos)
      << spilled.Header("x-triage-route");
  // Pinned to the tier, no spill-over and no fallback: refused.
  EXPECT_EQ(Call(*g, Body("open")).status, 503);
  g->health("a").RecordCheck(true, 200, "", upstream::Clock::now());
  Writer back = Call(*g, Body("auto"));
  EXPECT_EQ(back.Header("x-triage-tier"), "open");
  EXPECT_EQ(back.Header("x-triage-deployment"), "a");
}

TEST(HealthCheck, OpenCircuitAndFailingCheckTogetherKeepCircuitOpen) {
  auto g = Make(std::string(kSiblings) + "routing: {fallback: none}\nbreaker: {open_ms: 60000}\n");
  MarkDown(*g, "a");
  auto& b = g->health("b");
  const auto t = upstream::Clock::now();
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(b.Admit(t), upstream::DeploymentHealth::Admission::kAdmitted);
    b.End(false, std::chrono::microseconds(100), t);
  }
  ASSERT_EQ(b.state(t), upstream::BreakerState::kOpen);
  Writer w = Call(*g, Body("open"));
  EXPECT_EQ(w.status, 503) << w.body;
  auto err = json::parse(w.body)["error"];
  EXPECT_EQ(err["code"], "circuit_open");
  EXPECT_EQ(err["message"],
            "every deployment this request may use has its circuit open or is failing its "
            "health checks; retry later");
}

}  // namespace
}  // namespace triage::pipeline
