// The chat pipeline end to end in-process: sim deployments, an in-memory ledger, and a
// recording ClientWriter instead of a socket.
#include "pipeline/gateway.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "recording_writer.h"

namespace triage::pipeline {
namespace {

namespace net = boost::asio;
using nlohmann::json;

constexpr const char* kConfig = R"(
listen: 127.0.0.1:0
reference_model: claude-opus-4.7
tiers:
  - name: open
    deployments:
      - name: gemma-sim
        provider: sim
        catalog: gemma-4-31b
        sim: {latency_ms: 1, ttft_ms: 1, tokens_per_second: 100000, output_tokens: 10}
  - name: mid
    deployments:
      - name: broken
        provider: sim
        catalog: claude-sonnet-4.6
        sim: {latency_ms: 1, ttft_ms: 1, error_rate: 1.0}
      - name: sonnet-sim
        provider: sim
        catalog: claude-sonnet-4.6
        sim: {latency_ms: 1, ttft_ms: 1, tokens_per_second: 100000, output_tokens: 10}
  - name: frontier
    deployments:
      - name: opus-sim
        provider: sim
        catalog: claude-opus-4.7
        sim: {latency_ms: 1, ttft_ms: 1, tokens_per_second: 100000, output_tokens: 10}
storage:
  ledger: "sqlite::memory:"
)";

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cfg = config::LoadString(kConfig);
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    auto ledger = store::OpenLedger("sqlite::memory:");
    ASSERT_TRUE(ledger.ok()) << ledger.error().message;
    auto g = Gateway::Create(*cfg, std::move(*ledger));
    ASSERT_TRUE(g.ok()) << g.error().message;
    gateway_ = std::move(*g);
  }

  RecordingWriter Run(const std::string& body) {
    RecordingWriter w;
    net::io_context io;
    net::co_spawn(io, gateway_->ChatCompletions(body, w, std::make_shared<upstream::CancelHook>()),
                  [](std::exception_ptr e) {
                    if (e) std::rethrow_exception(e);
                  });
    io.run();
    // `io` must outlive the ledger writer's post that woke it (see RunAll in resilience_test.cc).
    gateway_->ledger().Flush();
    return w;
  }

  std::vector<store::LedgerRow> Rows() {
    gateway_->ledger().Flush();
    auto rows = gateway_->ledger().ReadAll();
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? *rows : std::vector<store::LedgerRow>{};
  }

  std::unique_ptr<Gateway> gateway_;
};

std::string Request(const std::string& model, bool stream, bool usage = false) {
  json r = {{"model", model}, {"messages", {{{"role", "user"}, {"content", "Hello there"}}}}};
  if (stream) r["stream"] = true;
  if (usage) r["stream_options"] = {{"include_usage", true}};
  return r.dump();
}

TEST_F(GatewayTest, AutoGoesToDefaultTierWithCostHeaders) {
  RecordingWriter w = Run(Request("auto", false));
  ASSERT_EQ(w.status, 200) << w.body;
  EXPECT_EQ(w.Header("x-triage-tier"), "open");
  EXPECT_EQ(w.Header("x-triage-deployment"), "gemma-sim");
  json body = json::parse(w.body);
  int64_t in = body["usage"]["prompt_tokens"], out = body["usage"]["completion_tokens"];
  // gemma-4-31b: $0.20 per Mtok both ways = 0.2 micro-dollars per token.
  int64_t micros = ((in + out) * 200000 + 500000) / 1000000;
  char expect[32];
  std::snprintf(expect, sizeof expect, "0.%06lld", static_cast<long long>(micros));
  EXPECT_EQ(w.Header("x-triage-cost-usd"), expect);
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, w.Header("x-request-id"));
  EXPECT_EQ(rows[0].tier, "open");
  EXPECT_EQ(rows[0].status, 200);
  EXPECT_EQ(rows[0].input_tokens, in);
  EXPECT_EQ(rows[0].output_tokens, out);
  EXPECT_EQ(rows[0].reference_cost_micros, (in * 5000000 + out * 25000000 + 500000) / 1000000);
}

TEST_F(GatewayTest, PinsByTierDeploymentAndCatalogId) {
  EXPECT_EQ(Run(Request("frontier", false)).Header("x-triage-deployment"), "opus-sim");
  EXPECT_EQ(Run(Request("opus-sim", false)).Header("x-triage-deployment"), "opus-sim");
  EXPECT_EQ(Run(Request("claude-opus-4.7", false)).Header("x-triage-deployment"), "opus-sim");
}

TEST_F(GatewayTest, FallsBackWithinTierAndCountsAttempts) {
  RecordingWriter w = Run(Request("mid", false));
  ASSERT_EQ(w.status, 200) << w.body;
  EXPECT_EQ(w.Header("x-triage-deployment"), "sonnet-sim");
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  // The balancer may try either deployment first; the broken one never answers.
  EXPECT_GE(rows[0].attempts, 1);
  EXPECT_LE(rows[0].attempts, 2);
}

TEST_F(GatewayTest, FailingPinnedDeploymentGives502AndRow) {
  RecordingWriter w = Run(Request("broken", false));
  EXPECT_EQ(w.status, 502);
  json body = json::parse(w.body);
  EXPECT_EQ(body["error"]["code"], "upstream_error");
  EXPECT_NE(body["error"]["message"].get<std::string>().find("broken"), std::string::npos);
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, 502);
  EXPECT_EQ(rows[0].error_kind, "upstream_error");
}

TEST_F(GatewayTest, UnknownModelIs404ListingModels) {
  RecordingWriter w = Run(Request("gpt-9", false));
  EXPECT_EQ(w.status, 404);
  json body = json::parse(w.body);
  EXPECT_EQ(body["error"]["code"], "model_not_found");
  EXPECT_NE(body["error"]["message"].get<std::string>().find("frontier"), std::string::npos)
      << body.dump();
  EXPECT_EQ(Rows().size(), 1u);
}

std::string LongRequest(const std::string& model, size_t chars) {
  json r = {{"model", model},
            {"messages", {{{"role", "user"}, {"content", std::string(chars, 'a')}}}}};
  return r.dump();
}

// Context windows from the catalog: gemma-4-31b 262,144 tokens, claude-sonnet-4.6 and
// claude-opus-4.7 200,000. Prompts are estimated at characters / 4.
TEST_F(GatewayTest, PromptsBeyondAContextWindowSkipThatDeployment) {
  // ~225,000 tokens: too long for the mid tier's only model, and nothing else is in its plan.
  RecordingWriter mid = Run(LongRequest("mid", 900'000));
  EXPECT_EQ(mid.status, 400);
  json body = json::parse(mid.body);
  EXPECT_EQ(body["error"]["code"], "context_length_exceeded");
  const std::string msg = body["error"]["message"];
  EXPECT_NE(msg.find("about 225000 tokens"), std::string::npos) << msg;
  EXPECT_NE(msg.find("large enough: gemma-sim (gemma-4-31b)"), std::string::npos) << msg;
  // The open tier's model holds it.
  EXPECT_EQ(Run(LongRequest("open", 900'000)).status, 200);
  // ~275,000 tokens: no deployment at all.
  RecordingWriter none = Run(LongRequest("auto", 1'100'000));
  EXPECT_EQ(none.status, 400);
  EXPECT_NE(json::parse(none.body)["error"]["message"].get<std::string>().find(
                "large enough: none configured"),
            std::string::npos);
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 3u);  // every request has its row
  EXPECT_EQ(rows[0].error_kind, "invalid_request");
  EXPECT_EQ(rows[1].status, 200);
}

TEST_F(GatewayTest, MalformedBodyIs400AndStillAccounted) {
  RecordingWriter w = Run("{not json");
  EXPECT_EQ(w.status, 400);
  EXPECT_EQ(json::parse(w.body)["error"]["type"], "invalid_request_error");
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].error_kind, "invalid_request");
}

TEST_F(GatewayTest, StreamWithoutUsageStripsUsageChunk) {
  RecordingWriter w = Run(Request("auto", true));
  ASSERT_TRUE(w.streamed);
  EXPECT_TRUE(w.ended);
  EXPECT_NE(w.body.find("data: [DONE]"), std::string::npos);
  EXPECT_EQ(w.body.find("\"usage\""), std::string::npos);
  EXPECT_NE(w.body.find(": triage cost_usd="), std::string::npos);
  ASSERT_EQ(w.trailers.size(), 3u);
  EXPECT_EQ(w.trailers[0].first, "x-triage-cost-usd");
  EXPECT_EQ(w.trailers[2].first, "x-triage-usage-estimated");
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].stream);
  EXPECT_GT(rows[0].output_tokens, 0);
  EXPECT_GE(rows[0].ttft_ms, 0);
}

TEST_F(GatewayTest, StreamWithUsageCarriesTriageObject) {
  RecordingWriter w = Run(Request("auto", true, true));
  size_t pos = w.body.find("\"triage\":");
  ASSERT_NE(pos, std::string::npos) << w.body;
  // The usage chunk is the last data event before [DONE].
  size_t start = w.body.rfind("data: ", pos);
  size_t end = w.body.find("\n", pos);
  json chunk = json::parse(w.body.substr(start + 6, end - start - 6));
  EXPECT_EQ(chunk["triage"]["tier"], "open");
  EXPECT_EQ(chunk["triage"]["request_id"], w.Header("x-request-id"));
  EXPECT_TRUE(chunk["choices"].empty());
  EXPECT_GT(chunk["usage"]["completion_tokens"].get<int>(), 0);
}

TEST_F(GatewayTest, StreamFallsBackBeforeFirstByte) {
  RecordingWriter w = Run(Request("mid", true));
  ASSERT_TRUE(w.streamed);
  EXPECT_EQ(w.Header("x-triage-deployment"), "sonnet-sim");
  EXPECT_NE(w.body.find("[DONE]"), std::string::npos);
}

TEST_F(GatewayTest, ClientGoneMidStreamIsAccountedOnce) {
  RecordingWriter w;
  w.fail_writes = true;
  net::io_context io;
  const std::string body = Request("auto", true);  // must outlive the coroutine
  net::co_spawn(io, gateway_->ChatCompletions(body, w, std::make_shared<upstream::CancelHook>()),
                [](std::exception_ptr e) {
                  if (e) std::rethrow_exception(e);
                });
  io.run();
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].error_kind, "client_closed");
}

// A ledger that cannot write (disk full, I/O error): every row fails.
class FailingLedger : public store::Ledger {
 public:
  void Append(store::LedgerRow, std::function<void(Status)> done) override {
    done(Error::Make(ErrorKind::kInternal, "ledger_write_failed", "database or disk is full"));
  }
  void Flush() override {}
  Result<std::vector<store::LedgerRow>> ReadAll() override {
    return std::vector<store::LedgerRow>{};
  }
  Result<store::LedgerTotals> Totals() override { return store::LedgerTotals{}; }
};

// The request is still answered, but the row is lost: /metrics counts it so it can be alerted
// on, rather than the loss showing only in the log.
TEST(GatewayLedgerFailure, CountedInMetrics) {
  auto cfg = config::LoadString(kConfig);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto g = Gateway::Create(*cfg, std::make_unique<FailingLedger>());
  ASSERT_TRUE(g.ok()) << g.error().message;
  auto& gateway = **g;
  EXPECT_NE(gateway.stats().Prometheus().find("\ntriage_ledger_write_failures_total 0\n"),
            std::string::npos);
  for (bool stream : {false, true}) {
    RecordingWriter w;
    net::io_context io;
    const std::string body = Request("open", stream);  // must outlive the coroutine
    net::co_spawn(io, gateway.ChatCompletions(body, w, std::make_shared<upstream::CancelHook>()),
                  [](std::exception_ptr e) {
                    if (e) std::rethrow_exception(e);
                  });
    io.run();
    gateway.ledger().Flush();
    EXPECT_EQ(w.status, 200) << w.body;
  }
  const std::string metrics = gateway.stats().Prometheus();
  EXPECT_NE(metrics.find("\ntriage_ledger_write_failures_total 2\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\ntriage_requests_total{tier=\"open\"} 2\n"), std::string::npos);
}

// Regression (ThreadSanitizer, scripts/sanitize.sh --thread): the routing snapshot was a
// std::atomic<std::shared_ptr>, whose libstdc++ 12 load() is not ordered before a concurrent
// store (a data race between a SIGHUP reload on the main thread and requests on the io
// threads). Readers on several threads while reloads swap the snapshot: each read is whole (a
// router with its own thresholds). The race itself shows only under TSan; a normal build
// checks the snapshots.
TEST_F(GatewayTest, RoutingReadsWhileReloadsSwapIt) {
  auto a = config::LoadString(std::string(kConfig) +
                              "routing: {router: length, thresholds: [0.2, 0.4]}\n");
  auto b = config::LoadString(std::string(kConfig) +
                              "routing: {router: \"random:7\", thresholds: [0.6, 0.8]}\n");
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(b.ok()) << b.error().message;
  ASSERT_TRUE(gateway_->ReloadRouting(**a).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i)
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto r = gateway_->routing();
        const bool ok = (r->spec == "length" && r->thresholds == std::vector<double>{0.2, 0.4}) ||
                        (r->spec == "random:7" && r->thresholds == std::vector<double>{0.6, 0.8});
        if (!ok || !r->scorer) torn.fetch_add(1);
      }
    });
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(gateway_->ReloadRouting(i % 2 ? **a : **b).ok());
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(torn.load(), 0);
}

}  // namespace
}  // namespace triage::pipeline
