// The usage of a failed attempt: an upstream that reported (and so bills) tokens and then failed
// before the client got anything is still in the request's one ledger row, priced at its own
// deployment, and /metrics agrees with the row. Real HTTP upstreams on loopback speaking the
// exact wire formats (tests/upstream/scripted_server.h), falling back to a sim deployment.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "../upstream/scripted_server.h"
#include "catalog/catalog.h"
#include "pipeline/attempt_util.h"
#include "pipeline/gateway.h"
#include "recording_writer.h"

namespace triage::pipeline {
namespace {

namespace net = boost::asio;
using nlohmann::json;
using upstream::ScriptedServer;
using upstream::tcp;

// A whole 200 JSON answer with `body`, the connection closed after it.
std::string Json200(const std::string& body) {
  return "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
         "content-length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::unique_ptr<Gateway> Make(const std::string& yaml) {
  auto cfg = config::LoadString(yaml);
  EXPECT_TRUE(cfg.ok()) << cfg.error().message;
  if (!cfg.ok()) return nullptr;
  auto ledger = store::OpenLedger("sqlite::memory:");
  auto g = Gateway::Create(*cfg, std::move(*ledger));
  EXPECT_TRUE(g.ok()) << g.error().message;
  return g.ok() ? std::move(*g) : nullptr;
}

RecordingWriter Call(Gateway& g, const std::string& body) {
  RecordingWriter w;
  net::io_context io;
  net::co_spawn(io, g.ChatCompletions(body, w, std::make_shared<upstream::CancelHook>()),
                [](std::exception_ptr e) {
                  if (e) std::rethrow_exception(e);
                });
  io.run();
  // `io` must outlive the ledger writer's post that woke it (see RunAll in resilience_test.cc).
  g.ledger().Flush();
  return w;
}

std::string Body(bool stream) {
  json r = {{"model", "auto"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  if (stream) r["stream"] = true;
  return r.dump();
}

// `first` is an upstream of `provider` at `port` (tier open); tier mid is a sim that answers.
std::string TwoTiers(const std::string& provider, uint16_t port, const std::string& catalog) {
  return R"(
tiers:
  - name: open
    deployments:
      - {name: flaky, provider: )" +
         provider + ", base_url: \"http://127.0.0.1:" + std::to_string(port) +
         "/v1\", catalog: " + catalog + R"(}
  - name: mid
    deployments:
      - {name: sonnet, provider: sim, catalog: claude-sonnet-4.6, sim: {latency_ms: 1, output_tokens: 5}}
storage: {ledger: "sqlite::memory:"}
retry: {max_attempts: 2}
)";
}

// A chunked (close-delimited) event stream head; the script then writes events and closes.
const char* kSseHead =
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";

int64_t Cost(const std::string& catalog, int64_t in, int64_t out) {
  const catalog::ModelInfo* m = catalog::Find(catalog);
  EXPECT_TRUE(m && m->price);
  return catalog::CostMicros(*m->price, catalog::Usage{in, out, 0, 0});
}

store::LedgerRow OnlyRow(Gateway& g) {
  g.ledger().Flush();
  auto rows = g.ledger().ReadAll();
  EXPECT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 1u);
  return rows->empty() ? store::LedgerRow{} : rows->back();
}

// The row's tokens and cost also reach /metrics (by the row's tier).
void ExpectMetricsAgree(Gateway& g, const store::LedgerRow& r) {
  const std::string m = g.stats().Prometheus();
  EXPECT_NE(m.find("triage_tokens_total{tier=\"" + r.tier + "\",direction=\"input\"} " +
                   std::to_string(r.input_tokens)),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("triage_tokens_total{tier=\"" + r.tier + "\",direction=\"output\"} " +
                   std::to_string(r.output_tokens)),
            std::string::npos);
  EXPECT_NE(
      m.find("triage_cost_usd_total{tier=\"" + r.tier + "\"} " + catalog::FormatUsd(r.cost_micros)),
      std::string::npos)
      << m;
}

// The sim answer's own usage: the same request answered by the sim alone.
store::LedgerRow SimOnly(bool stream) {
  auto g = Make(TwoTiers("openai", 1, "gemma-4-31b") + "routing: {default_tier: mid}\n");
  RecordingWriter w = Call(*g, Body(stream));
  EXPECT_EQ(w.status, 200) << w.body;
  return OnlyRow(*g);
}

// Anthropic reports input tokens in message_start, then an overloaded error event arrives
// before any content: the gateway falls back unseen; the 1234 input tokens are billed anyway.
TEST(FailedAttemptUsage, AnthropicStreamErrorAfterMessageStartIsBilled) {
  ScriptedServer up([](tcp::socket& s, int) {
    upstream::Send(s, std::string(kSseHead) +
                          "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{"
                          "\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
                          "\"model\":\"claude-opus-4.7\",\"content\":[],\"stop_reason\":null,"
                          "\"usage\":{\"input_tokens\":1234,\"output_tokens\":1}}}\n\n"
                          "event: ping\ndata: {\"type\":\"ping\"}\n\n"
                          "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                          "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n");
    return false;
  });
  const store::LedgerRow sim = SimOnly(true);
  auto g = Make(TwoTiers("anthropic", up.port(), "claude-opus-4.7"));
  RecordingWriter w = Call(*g, Body(true));
  ASSERT_EQ(w.status, 200) << w.body;
  EXPECT_EQ(w.Header("x-triage-tier"), "mid");
  EXPECT_EQ(w.body.find("Overloaded"), std::string::npos) << "the fallback is invisible";
  store::LedgerRow r = OnlyRow(*g);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(r.input_tokens, sim.input_tokens + 1234);
  EXPECT_EQ(r.output_tokens, sim.output_tokens + 1);
  EXPECT_EQ(r.cost_micros, sim.cost_micros + Cost("claude-opus-4.7", 1234, 1));
  EXPECT_EQ(r.reference_cost_micros, sim.reference_cost_micros) << "prices the answer only";
  EXPECT_EQ(r.failed_input_tokens, 1234);
  EXPECT_EQ(r.failed_output_tokens, 1);
  EXPECT_EQ(r.failed_cost_micros, Cost("claude-opus-4.7", 1234, 1));
  EXPECT_FALSE(r.usage_estimated) << "every token here was reported";
  ExpectMetricsAgree(*g, r);
}

// An OpenAI-compatible stream that sent its usage chunk and then broke before [DONE] and before
// any content: billed.
TEST(FailedAttemptUsage, OpenAIStreamBrokenAfterUsageChunkIsBilled) {
  ScriptedServer up([](tcp::socket& s, int) {
    upstream::Send(s, std::string(kSseHead) +
                          "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                          "\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":800,"
                          "\"completion_tokens\":40,\"total_tokens\":840}}\n\n");
    return false;
  });
  const store::LedgerRow sim = SimOnly(true);
  auto g = Make(TwoTiers("openai", up.port(), "gemma-4-31b"));
  RecordingWriter w = Call(*g, Body(true));
  ASSERT_EQ(w.status, 200) << w.body;
  EXPECT_EQ(w.Header("x-triage-tier"), "mid");
  store::LedgerRow r = OnlyRow(*g);
  EXPECT_EQ(r.input_tokens, sim.input_tokens + 800);
  EXPECT_EQ(r.output_tokens, sim.output_tokens + 40);
  EXPECT_EQ(r.cost_micros, sim.cost_micros + Cost("gemma-4-31b", 800, 40));
  ExpectMetricsAgree(*g, r);
}

// A non-streamed 200 whose body is refused as malformed (no `choices`) but says what it billed.
TEST(FailedAttemptUsage, UnaryMalformedAnswerWithUsageIsBilled) {
  ScriptedServer up([](tcp::socket& s, int) {
    const std::string body =
        "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\","
        "\"usage\":{\"prompt_tokens\":700,\"completion_tokens\":50,"
        "\"total_tokens\":750}}";
    upstream::Send(s, Json200(body));
    return false;
  });
  const store::LedgerRow sim = SimOnly(false);
  auto g = Make(TwoTiers("openai", up.port(), "gemma-4-31b"));
  RecordingWriter w = Call(*g, Body(false));
  ASSERT_EQ(w.status, 200) << w.body;
  EXPECT_EQ(w.Header("x-triage-tier"), "mid");
  store::LedgerRow r = OnlyRow(*g);
  EXPECT_EQ(r.input_tokens, sim.input_tokens + 700);
  EXPECT_EQ(r.output_tokens, sim.output_tokens + 50);
  const int64_t total = sim.cost_micros + Cost("gemma-4-31b", 700, 50);
  EXPECT_EQ(r.cost_micros, total);
  EXPECT_EQ(w.Header("x-triage-cost-usd"), catalog::FormatUsd(total)) << "the header says so too";
  ExpectMetricsAgree(*g, r);
}

// Every attempt fails after reporting usage: the refusal's row still carries what was billed.
TEST(FailedAttemptUsage, ExhaustedRequestRowCarriesEveryFailedAttemptsUsage) {
  ScriptedServer up([](tcp::socket& s, int) {
    upstream::Send(s, std::string(kSseHead) +
                          "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                          "\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":100,"
                          "\"completion_tokens\":0,\"total_tokens\":100}}\n\n");
    return false;
  });
  auto g = Make(TwoTiers("openai", up.port(), "gemma-4-31b") + "routing: {fallback: none}\n");
  RecordingWriter w = Call(*g, Body(true));
  EXPECT_EQ(w.status, 502) << w.body;
  store::LedgerRow r = OnlyRow(*g);
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(r.input_tokens, 200);
  EXPECT_EQ(r.output_tokens, 0);
  EXPECT_EQ(r.cost_micros, 2 * Cost("gemma-4-31b", 100, 0));
  ExpectMetricsAgree(*g, r);
}

// The live cascade: the cheap tier's call reports usage and fails unseen; the escalation's
// row carries it.
TEST(FailedAttemptUsage, CascadeCheapCallThatFailedAfterUsageIsInTheEscalatedRow) {
  ScriptedServer up([](tcp::socket& s, int) {
    upstream::Send(s, std::string(kSseHead) +
                          "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{"
                          "\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
                          "\"model\":\"claude-opus-4.7\",\"content\":[],\"stop_reason\":null,"
                          "\"usage\":{\"input_tokens\":500,\"output_tokens\":1}}}\n\n"
                          "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                          "\"api_error\",\"message\":\"boom\"}}\n\n");
    return false;
  });
  const store::LedgerRow sim = SimOnly(true);
  auto g =
      Make(TwoTiers("anthropic", up.port(), "claude-opus-4.7") + "routing: {fallback: none}\n");
  g->SetAnswerJudge([](const RequestContext&, std::string_view) { return 0.0; }, 0.5);
  RecordingWriter w = Call(*g, Body(true));
  ASSERT_EQ(w.status, 200) << w.body;
  EXPECT_EQ(w.Header("x-triage-tier"), "mid");
  store::LedgerRow r = OnlyRow(*g);
  EXPECT_EQ(r.input_tokens, sim.input_tokens + 1000);
  EXPECT_EQ(r.output_tokens, sim.output_tokens + 2);
  EXPECT_EQ(r.cost_micros, sim.cost_micros + 2 * Cost("claude-opus-4.7", 500, 1));
  ExpectMetricsAgree(*g, r);
}

// The cascade releases a held stream whose cheap tier fell back once after its upstream reported
// usage: the stream's own cost (the `: triage cost_usd=` comment, written when the cheap call
// ended) agrees with the trailer and the row, which bill the failed attempt too.
TEST(FailedAttemptUsage, ReleasedCascadeStreamBodyCostMatchesTheRow) {
  const std::string start =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{"
      "\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
      "\"model\":\"claude-opus-4.7\",\"content\":[],\"stop_reason\":null,"
      "\"usage\":{\"input_tokens\":500,\"output_tokens\":1}}}\n\n";
  ScriptedServer up([&](tcp::socket& s, int n) {
    if (n == 0) {  // reports usage, then fails before any content
      upstream::Send(s, std::string(kSseHead) + start +
                            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                            "\"api_error\",\"message\":\"boom\"}}\n\n");
      return false;
    }
    upstream::Send(
        s, std::string(kSseHead) + start +
               "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
               "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
               "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
               "\"delta\":{\"type\":\"text_delta\",\"text\":\"4\"}}\n\n"
               "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
               "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{"
               "\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{"
               "\"output_tokens\":7}}\n\n"
               "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    return false;
  });
  auto g = Make(TwoTiers("anthropic", up.port(), "claude-opus-4.7"));
  g->SetAnswerJudge([](const RequestContext&, std::string_view) { return 0.0; }, 0.5);
  json req = json::parse(Body(true));
  req["stream_options"] = {{"include_usage", true}};
  RecordingWriter w = Call(*g, req.dump());
  ASSERT_EQ(w.status, 200) << w.body;
  EXPECT_EQ(w.Header("x-triage-tier"), "open");
  store::LedgerRow r = OnlyRow(*g);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(r.failed_cost_micros, Cost("claude-opus-4.7", 500, 1));
  EXPECT_EQ(r.cost_micros, Cost("claude-opus-4.7", 500, 7) + r.failed_cost_micros);
  const std::string cost = catalog::FormatUsd(r.cost_micros);
  std::string trailer;
  for (const auto& [k, v] : w.trailers)
    if (k == "x-triage-cost-usd") trailer = v;
  EXPECT_EQ(trailer, cost);
  EXPECT_NE(w.body.find(": triage cost_usd=" + cost + " "), std::string::npos) << w.body;
  EXPECT_NE(w.body.find("\"cost_usd\":\"" + cost + "\""), std::string::npos) << w.body;
  ExpectMetricsAgree(*g, r);
}

// The client leaves while the cascade holds the cheap answer and the escalation is in flight:
// one row, 499 client_closed, carrying the cheap call's cost and tokens (the escalation's
// prompt estimated, and flagged as such).
TEST(FailedAttemptUsage, ClientLeavingWhileTheCascadeHoldsTheAnswerKeepsTheCheapCallsCost) {
  auto g = Make(R"(
tiers:
  - name: open
    deployments:
      - {name: cheap, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 1, ttft_ms: 1, output_tokens: 5, tokens_per_second: 100000}}
  - name: mid
    deployments:
      - {name: slow, provider: sim, catalog: claude-sonnet-4.6, sim: {latency_ms: 3000, ttft_ms: 3000}}
storage: {ledger: "sqlite::memory:"}
)");
  g->SetAnswerJudge([](const RequestContext&, std::string_view) { return 0.9; }, 0.5);
  for (bool stream : {false, true}) {
    RecordingWriter w;
    net::io_context io;
    const std::string body = Body(stream);
    auto gone = std::make_shared<upstream::CancelHook>();
    net::co_spawn(io, g->ChatCompletions(body, w, gone), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    net::steady_timer leave(io, std::chrono::milliseconds(150));
    leave.async_wait([&](boost::system::error_code) { gone->Fire(); });
    io.run();
  }
  g->ledger().Flush();
  auto rows = *g->ledger().ReadAll();
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& r : rows) {
    EXPECT_EQ(r.status, 499);
    EXPECT_EQ(r.error_kind, "client_closed");
    EXPECT_EQ(r.attempts, 2);
    EXPECT_EQ(r.deployment, "slow");
    EXPECT_GT(r.output_tokens, 0) << "the cheap answer's tokens are carried";
    EXPECT_GT(r.cost_micros, 0);
    EXPECT_TRUE(r.usage_estimated) << "the escalation's prompt is an estimate";
  }
}

// Attempts that failed after their upstream had begun to answer (a 2xx head) but reported no
// usage: billed by their providers, so the row carries triage's estimate of them (the prompt,
// and the text received), priced at their own deployment, flagged usage_estimated.

// A 40-character prompt: ceil(40 / 4) = 10 input tokens by the estimate.
const std::string kPrompt(40, 'p');

std::string BodyOf(bool stream) {
  json r = {{"model", "auto"}, {"messages", {{{"role", "user"}, {"content", kPrompt}}}}};
  if (stream) r["stream"] = true;
  return r.dump();
}

store::LedgerRow SimOnlyOf(bool stream) {
  auto g = Make(TwoTiers("openai", 1, "gemma-4-31b") + "routing: {default_tier: mid}\n");
  RecordingWriter w = Call(*g, BodyOf(stream));
  EXPECT_EQ(w.status, 200) << w.body;
  return OnlyRow(*g);
}

// The opening of an OpenAI answer, up to its content's first character.
const std::string kAnswerStart =
    "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\",\"choices\":[{"
    "\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"";

// The row bills the sim's answer and the failed attempt's estimate at gemma's price.
void ExpectEstimatedFailure(Gateway& g, const RecordingWriter& w, const store::LedgerRow& sim,
                            int64_t out_tokens) {
  store::LedgerRow r = OnlyRow(g);
  EXPECT_EQ(r.tier, "mid");
  EXPECT_EQ(r.failed_input_tokens, 10) << "ceil(40 prompt characters / 4)";
  EXPECT_EQ(r.failed_output_tokens, out_tokens);
  const int64_t failed = Cost("gemma-4-31b", 10, out_tokens);
  EXPECT_GT(failed, 0);
  EXPECT_EQ(r.failed_cost_micros, failed);
  EXPECT_TRUE(r.usage_estimated);
  EXPECT_EQ(r.input_tokens, sim.input_tokens + 10);
  EXPECT_EQ(r.output_tokens, sim.output_tokens + out_tokens);
  EXPECT_EQ(r.cost_micros, sim.cost_micros + failed);
  EXPECT_EQ(r.reference_cost_micros, sim.reference_cost_micros) << "prices the answer only";
  if (!w.streamed) {
    EXPECT_EQ(w.Header("x-triage-cost-usd"), catalog::FormatUsd(r.cost_micros));
  } else {
    std::string trailer;
    for (const auto& [k, v] : w.trailers)
      if (k == "x-triage-cost-usd") trailer = v;
    EXPECT_EQ(trailer, catalog::FormatUsd(r.cost_micros));
  }
  ExpectMetricsAgree(g, r);
}

// A 200 whose body is cut mid-way (the connection closes before content-length): the usage at
// its end never came. 44 characters of content received: 11 output tokens.
TEST(FailedAttemptEstimate, UnaryBodyCutMidWayBillsThePromptAndTheTextReceived) {
  ScriptedServer up([](tcp::socket& s, int) {
    upstream::Send(s,
                   "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n"
                   "\r\n" +
                       kAnswerStart + std::string(44, 'a'));
    return false;
  });
  const store::LedgerRow sim = SimOnlyOf(false);
  auto g = Make(TwoTiers("openai", up.port(), "gemma-4-31b"));
  RecordingWriter w = Call(*g, BodyOf(false));
  ASSERT_EQ(w.status, 200) << w.body;
  ExpectEstimatedFailure(*g, w, sim, 11);
}

// A 200 larger than limits.max_response_bytes: refused at the limit; the text up to it is
// billed (1000 bytes received, the content from kAnswerStart's end).
TEST(FailedAttemptEstimate, UnaryBodyOverTheLimitBillsTheTextUpToIt) {
  ScriptedServer up([](tcp::socket& s, int) {
    const std::string body = kAnswerStart + std::string(4000, 'x') + "\"}}]}";
    upstream::Send(s, Json200(body));
    return false;
  });
  const store::LedgerRow sim = SimOnlyOf(false);
  auto g =
      Make(TwoTiers("openai", up.port(), "gemma-4-31b") + "limits: {max_response_bytes: 1000}\n");
  RecordingWriter w = Call(*g, BodyOf(false));
  ASSERT_EQ(w.status, 200) << w.body;
  ExpectEstimatedFailure(*g, w, sim, EstimateTokens(1000 - int64_t(kAnswerStart.size())));
}

// A 200 whose body stalls after its head (the idle timeout fires): started, billed.
TEST(FailedAttemptEstimate, UnaryBodyStalledAfterTheHeadIsBilled) {
  ScriptedServer up([](tcp::socket& s, int) {
    upstream::Send(s,
                   "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n"
                   "\r\n" +
                       kAnswerStart + "abcd");
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    return false;
  });
  const store::LedgerRow sim = SimOnlyOf(false);
  std::string yaml = TwoTiers("openai", up.port(), "gemma-4-31b");
  const std::string at = "catalog: gemma-4-31b";
  yaml.replace(yaml.find(at), at.size(), at + ", timeouts: {idle_ms: 150}");
  auto g = Make(yaml);
  RecordingWriter w = Call(*g, BodyOf(false));
  ASSERT_EQ(w.status, 200) << w.body;
  ExpectEstimatedFailure(*g, w, sim, 1);
}

// A 200 refused as malformed (no `choices`) that carries no usage: the prompt is billed.
// The first deployment answers `body` (a 200 refused as malformed); the row bills its prompt.
void ExpectMalformedBodyBillsThePrompt(const std::string& body) {
  ScriptedServer up([&](tcp::socket& s, int) {
    upstream::Send(s, Json200(body));
    return false;
  });
  const store::LedgerRow sim = SimOnlyOf(false);
  auto g = Make(TwoTiers("openai", up.port(), "gemma-4-31b"));
  RecordingWriter w = Call(*g, BodyOf(false));
  ASSERT_EQ(w.status, 200) << w.body;
  ExpectEstimatedFailure(*g, w, sim, 0);
}

TEST(FailedAttemptEstimate, UnaryMalformedAnswerWithoutUsageBillsThePrompt) {
  ExpectMalformedBodyBillsThePrompt("{\"id\":\"c1\",\"object\":\"chat.completion\"}");
}

// A stream that broke after its first event (the role chunk), before any content and before a
// usage chunk: the prompt is billed.
TEST(FailedAttemptEstimate, StreamBrokenBeforeUsageBillsThePrompt) {
  ScriptedServer up([](tcp::socket& s, int) {
    upstream::Send(s, std::string(kSseHead) +
                          "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                          "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                          "\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
    return false;
  });
  const store::LedgerRow sim = SimOnlyOf(true);
  auto g = Make(TwoTiers("openai", up.port(), "gemma-4-31b"));
  RecordingWriter w = Call(*g, BodyOf(true));
  ASSERT_EQ(w.status, 200) << w.body;
  EXPECT_EQ(w.Header("x-triage-tier"), "mid");
  ExpectEstimatedFailure(*g, w, sim, 0);
}

// Partly reported: Anthropic's message_start said 1234 input tokens (and a running output of
// 1), then 400 characters of thinking (not content for an OpenAI client) before the stream
// broke. The reported input is kept; the output is the thinking's estimate, 100.
TEST(FailedAttemptEstimate, StreamCutAfterAPartialReportKeepsItAndEstimatesTheRest) {
  ScriptedServer up([](tcp::socket& s, int) {
    std::string events =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{"
        "\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
        "\"model\":\"claude-opus-4.7\",\"content\":[],\"stop_reason\":null,"
        "\"usage\":{\"input_tokens\":1234,\"output_tokens\":1}}}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n";
    for (int i = 0; i < 4; ++i)
      events +=
          "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
          "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"" +
          std::string(100, 't') + "\"}}\n\n";
    upstream::Send(s, std::string(kSseHead) + events);
    return false;
  });
  const store::LedgerRow sim = SimOnlyOf(true);
  auto g = Make(TwoTiers("anthropic", up.port(), "claude-opus-4.7"));
  RecordingWriter w = Call(*g, BodyOf(true));
  ASSERT_EQ(w.status, 200) << w.body;
  EXPECT_EQ(w.Header("x-triage-tier"), "mid");
  store::LedgerRow r = OnlyRow(*g);
  EXPECT_EQ(r.failed_input_tokens, 1234) << "reported: kept";
  EXPECT_EQ(r.failed_output_tokens, 100) << "ceil(400 / 4), not the running count of 1";
  EXPECT_EQ(r.failed_cost_micros, Cost("claude-opus-4.7", 1234, 100));
  EXPECT_EQ(r.cost_micros, sim.cost_micros + r.failed_cost_micros);
  EXPECT_TRUE(r.usage_estimated);
  ExpectMetricsAgree(*g, r);
}

// A JSON answer to a stream request (an upstream that ignored `stream`): refused, but answered
// and billed. Read like a non-streamed body: its `usage` when it has one, else the estimate.
TEST(FailedAttemptEstimate, JsonAnswerToAStreamRequestIsReadLikeABody) {
  for (bool with_usage : {true, false}) {
    ScriptedServer up([&](tcp::socket& s, int) {
      std::string body = kAnswerStart + std::string(44, 'a') + "\"}}]";
      if (with_usage) body += ",\"usage\":{\"prompt_tokens\":700,\"completion_tokens\":50}";
      body += "}";
      upstream::Send(s, Json200(body));
      return false;
    });
    const store::LedgerRow sim = SimOnlyOf(true);
    auto g = Make(TwoTiers("openai", up.port(), "gemma-4-31b"));
    RecordingWriter w = Call(*g, BodyOf(true));
    ASSERT_EQ(w.status, 200) << w.body;
    EXPECT_EQ(w.Header("x-triage-tier"), "mid");
    if (!with_usage) {
      ExpectEstimatedFailure(*g, w, sim, 11);
      continue;
    }
    store::LedgerRow r = OnlyRow(*g);
    EXPECT_EQ(r.failed_input_tokens, 700);
    EXPECT_EQ(r.failed_output_tokens, 50);
    EXPECT_EQ(r.cost_micros, sim.cost_micros + Cost("gemma-4-31b", 700, 50));
    EXPECT_EQ(r.usage_estimated, sim.usage_estimated) << "reported, not estimated";
  }
}

// Refused before answering (a non-2xx status), or a 200 that is an HTML page (a proxy's, not
// the API): providers do not bill those, nothing is added.
TEST(FailedAttemptEstimate, RefusedAttemptsAndHtmlPagesAddNothing) {
  for (const std::string head :
       {"HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n",
        "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\n",
        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n"}) {
    for (bool stream : {false, true}) {
      ScriptedServer up([&](tcp::socket& s, int) {
        const std::string body = head.find("html") != std::string::npos
                                     ? "<html><body>Bad gateway</body></html>"
                                     : "{\"error\":{\"message\":\"no\",\"type\":\"x\"}}";
        upstream::Send(s, head + "connection: close\r\ncontent-length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body);
        return false;
      });
      const store::LedgerRow sim = SimOnlyOf(stream);
      auto g = Make(TwoTiers("openai", up.port(), "gemma-4-31b"));
      RecordingWriter w = Call(*g, BodyOf(stream));
      ASSERT_EQ(w.status, 200) << w.body;
      store::LedgerRow r = OnlyRow(*g);
      EXPECT_EQ(r.failed_input_tokens, 0) << head;
      EXPECT_EQ(r.failed_output_tokens, 0) << head;
      EXPECT_EQ(r.failed_cost_micros, 0) << head;
      EXPECT_EQ(r.cost_micros, sim.cost_micros) << head;
      EXPECT_EQ(r.input_tokens, sim.input_tokens) << head;
    }
  }
}

// A 200 stream whose first event is an error event (Anthropic's overloaded_error before any
// message_start, an OpenAI-compatible `data: {"error":...}`): refused in-stream, not answered,
// so nothing is billed; a 204 neither.
TEST(FailedAttemptEstimate, StreamRefusedByItsFirstEventAndA204AddNothing) {
  struct Case {
    std::string provider, catalog, reply;
  };
  const std::vector<Case> cases = {
      {"anthropic", "claude-opus-4.7",
       std::string(kSseHead) +
           "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
           "\"message\":\"Overloaded\"}}\n\n"},
      {"openai", "gemma-4-31b",
       std::string(kSseHead) +
           "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n"},
      {"openai", "gemma-4-31b", "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n"},
  };
  for (const Case& c : cases) {
    ScriptedServer up([&](tcp::socket& s, int) {
      upstream::Send(s, c.reply);
      return false;
    });
    const store::LedgerRow sim = SimOnlyOf(true);
    auto g = Make(TwoTiers(c.provider, up.port(), c.catalog));
    RecordingWriter w = Call(*g, BodyOf(true));
    ASSERT_EQ(w.status, 200) << w.body;
    store::LedgerRow r = OnlyRow(*g);
    EXPECT_EQ(r.attempts, 2) << c.reply;
    EXPECT_EQ(r.failed_input_tokens, 0) << c.reply;
    EXPECT_EQ(r.failed_cost_micros, 0) << c.reply;
    EXPECT_EQ(r.cost_micros, sim.cost_micros) << c.reply;
  }
}

// A 200 refused as malformed whose `usage` is all zeros says nothing about what was billed: the
// prompt is estimated, as with no usage at all.
TEST(FailedAttemptEstimate, UnaryMalformedAnswerWithAllZeroUsageBillsThePrompt) {
  ExpectMalformedBodyBillsThePrompt(
      "{\"id\":\"c1\",\"object\":\"chat.completion\",\"usage\":{\"prompt_tokens\":0,"
      "\"completion_tokens\":0,\"total_tokens\":0}}");
}

// The cascade escalates; the escalation's one deployment answers 200 then cuts its body, and
// the held cheap stream is released: the row, the stream's own restated cost and its trailer
// all bill the cut attempt's estimate at that deployment's price.
TEST(FailedAttemptEstimate, ReleasedCascadeStreamRestatesTheEstimatedCost) {
  ScriptedServer up([](tcp::socket& s, int) {
    upstream::Send(s, std::string(kSseHead) +
                          "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                          "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                          "\"assistant\"},\"finish_reason\":null}]}\n\n");
    return false;
  });
  auto g = Make(R"(
tiers:
  - name: open
    deployments:
      - {name: cheap, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 1, output_tokens: 5}}
  - name: mid
    deployments:
      - {name: flaky, provider: openai, base_url: "http://127.0.0.1:)" +
                std::to_string(up.port()) + R"(/v1", catalog: claude-sonnet-4.6}
storage: {ledger: "sqlite::memory:"}
retry: {max_attempts: 1}
)");
  g->SetAnswerJudge([](const RequestContext&, std::string_view) { return 0.9; }, 0.5);
  json req = json::parse(BodyOf(true));
  req["stream_options"] = {{"include_usage", true}};
  RecordingWriter w = Call(*g, req.dump());
  ASSERT_EQ(w.status, 200) << w.body;
  EXPECT_EQ(w.Header("x-triage-tier"), "open");
  store::LedgerRow r = OnlyRow(*g);
  EXPECT_EQ(r.failed_input_tokens, 10);
  EXPECT_EQ(r.failed_output_tokens, 0);
  EXPECT_EQ(r.failed_cost_micros, Cost("claude-sonnet-4.6", 10, 0));
  EXPECT_TRUE(r.usage_estimated);
  EXPECT_EQ(r.cost_micros,
            Cost("gemma-4-31b", r.input_tokens - 10, r.output_tokens) + r.failed_cost_micros);
  const std::string cost = catalog::FormatUsd(r.cost_micros);
  std::string trailer;
  for (const auto& [k, v] : w.trailers)
    if (k == "x-triage-cost-usd") trailer = v;
  EXPECT_EQ(trailer, cost);
  EXPECT_NE(w.body.find(": triage cost_usd=" + cost + " "), std::string::npos) << w.body;
  EXPECT_NE(w.body.find("\"cost_usd\":\"" + cost + "\""), std::string::npos) << w.body;
  ExpectMetricsAgree(*g, r);
}

}  // namespace
}  // namespace triage::pipeline
