// The live cascade's keep-alive (routing.cascade_keepalive_ms): a streamed cheap answer held
// longer than the interval begins the client's stream with `: keep-alive` comments; the
// decision (release, escalation, released after a failed escalation, an error) then writes into
// that stream, its route in a `: triage route=` comment and the trailers. A hold shorter than
// the interval, or a request that is not streamed, answers exactly as before.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "pipeline/gateway.h"
#include "store/ledger.h"

namespace triage::pipeline {
namespace {

namespace net = boost::asio;
using dialect::Dialect;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Records every call in order, and whether two calls ever overlapped: each call yields to the
// executor once before it completes, as a socket write does.
class SequenceWriter final : public ClientWriter {
 public:
  net::awaitable<bool> Respond(int s, const Headers& h, std::string b) override {
    co_await Enter();
    status = s;
    headers = h;
    body = std::move(b);
    calls.push_back("respond");
    co_return Leave();
  }
  net::awaitable<bool> BeginStream(const Headers& h, const std::vector<std::string>& t) override {
    co_await Enter();
    status = 200;
    headers = h;
    declared = t;
    calls.push_back("begin");
    co_return Leave();
  }
  net::awaitable<bool> Write(std::string_view d) override {
    co_await Enter();
    body.append(d);
    calls.push_back(d == ": keep-alive\n\n" ? "keep-alive" : "write");
    co_return Leave() && !fail_writes;
  }
  net::awaitable<bool> EndStream(const Headers& t) override {
    co_await Enter();
    trailers = t;
    calls.push_back("end");
    co_return Leave();
  }
  std::string Header(const std::string& name) const { return Find(headers, name); }
  std::string Trailer(const std::string& name) const { return Find(trailers, name); }
  // The calls with consecutive keep-alives collapsed: "begin keep-alive+ write end".
  std::string Shape() const {
    std::string out;
    for (size_t i = 0; i < calls.size(); ++i) {
      if (calls[i] == "keep-alive" && i > 0 && calls[i - 1] == "keep-alive") continue;
      out += (out.empty() ? "" : " ") + calls[i] + (calls[i] == "keep-alive" ? "+" : "");
    }
    return out;
  }

  int status = 0;
  Headers headers, trailers;
  std::vector<std::string> declared;
  std::string body;
  std::vector<std::string> calls;
  bool fail_writes = false;
  bool overlapped = false;

 private:
  net::awaitable<void> Enter() {
    overlapped = overlapped || busy_;
    busy_ = true;
    co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
  }
  bool Leave() {
    busy_ = false;
    return true;
  }
  static std::string Find(const Headers& h, const std::string& name) {
    for (auto& [k, v] : h)
      if (k == name) return v;
    return "";
  }
  bool busy_ = false;
};

// Two sim tiers: the cheap one takes `cheap_ms` to its first token (or to its failure).
std::unique_ptr<Gateway> Make(int cheap_ms, const std::string& keepalive, bool cheap_fails = false,
                              bool strong_fails = false) {
  const std::string sim = "latency_ms: " + std::to_string(cheap_ms) +
                          ", ttft_ms: " + std::to_string(cheap_ms) +
                          ", output_tokens: 5, tokens_per_second: 100000";
  const std::string yaml =
      R"(
tiers:
  - name: open
    deployments:
      - {name: cheap, provider: sim, catalog: gemma-4-31b, sim: {)" +
      sim + (cheap_fails ? ", error_rate: 1" : "") + R"(}}
  - name: frontier
    deployments:
      - {name: strong, provider: sim, catalog: claude-opus-4.7, sim: {latency_ms: 1, ttft_ms: 1, output_tokens: 5, tokens_per_second: 100000)" +
      (strong_fails ? ", error_rate: 1" : "") + R"(}}
storage: {ledger: "sqlite::memory:"}
retry: {max_attempts: 1}
routing: {)" +
      keepalive + "}\n";
  auto cfg = config::LoadString(yaml);
  EXPECT_TRUE(cfg.ok()) << cfg.error().message;
  auto ledger = store::OpenLedger("sqlite::memory:");
  auto g = Gateway::Create(*cfg, std::move(*ledger));
  EXPECT_TRUE(g.ok()) << g.error().message;
  return std::move(*g);
}

void Judge(Gateway& g, double score) {
  g.SetAnswerJudge([score](const RequestContext&, std::string_view) { return score; }, 0.5);
}

std::string Request(Dialect d, bool stream) {
  json b = {{"model", "auto"},
            {"stream", stream},
            {"messages", {{{"role", "user"}, {"content", "What is 12 * 7?"}}}}};
  if (d == Dialect::kAnthropic) b["max_tokens"] = 100;
  return b.dump();
}

void Serve(Gateway& g, Dialect d, bool stream, SequenceWriter& w,
           std::shared_ptr<upstream::CancelHook> cancel = nullptr) {
  net::io_context io;
  if (!cancel) cancel = std::make_shared<upstream::CancelHook>();
  auto rethrow = [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  };
  const std::string body = Request(d, stream);  // read by the coroutine: outlives it
  if (d == Dialect::kOpenAI)
    net::co_spawn(io, g.ChatCompletions(body, w, cancel), rethrow);
  else
    net::co_spawn(io, g.Messages(body, w, cancel), rethrow);
  io.run();
  // `io` must outlive the ledger writer's post that woke it (see RunAll in resilience_test.cc).
  g.ledger().Flush();
}

store::LedgerRow OnlyRow(Gateway& g) {
  g.ledger().Flush();
  auto rows = g.ledger().ReadAll();
  EXPECT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 1u);
  return rows->empty() ? store::LedgerRow{} : rows->back();
}

const std::vector<std::string> kBegunTrailers = {"x-triage-cost-usd",
                                                 "x-triage-reference-cost-usd",
                                                 "x-triage-usage-estimated",
                                                 "x-triage-route",
                                                 "x-triage-tier",
                                                 "x-triage-deployment"};

TEST(CascadeKeepAlive, SlowHeldStreamBeginsWithKeepAlivesThenTheReleasedAnswer) {
  for (Dialect d : {Dialect::kOpenAI, Dialect::kAnthropic}) {
    SCOPED_TRACE(std::string(dialect::DialectName(d)));
    auto g = Make(450, "cascade_keepalive_ms: 100");
    Judge(*g, 0.1);
    SequenceWriter w;
    Serve(*g, d, true, w);
    EXPECT_FALSE(w.overlapped);
    EXPECT_EQ(w.Shape(), "begin keep-alive+ write end");
    EXPECT_GE(std::count(w.calls.begin(), w.calls.end(), "keep-alive"), 2);
    EXPECT_EQ(w.status, 200);
    EXPECT_EQ(w.Header("x-triage-route"), "cascade pending");
    EXPECT_EQ(w.Header("x-triage-tier"), "pending");
    EXPECT_EQ(w.Header("x-triage-deployment"), "pending");
    EXPECT_EQ(w.Header("content-type"), "text/event-stream");
    EXPECT_NE(w.Header("x-request-id"), "");
    EXPECT_EQ(w.declared, kBegunTrailers);
    const std::string route = "cascade score=0.10 < 0.50 \u2192 open";
    EXPECT_EQ(w.Trailer("x-triage-route"), route);
    EXPECT_EQ(w.Trailer("x-triage-tier"), "open");
    EXPECT_EQ(w.Trailer("x-triage-deployment"), "cheap");
    EXPECT_NE(w.Trailer("x-triage-cost-usd"), "");
    // Keep-alives, the route, then the held answer as it was.
    EXPECT_THAT(w.body, StartsWith(": keep-alive\n\n: keep-alive\n\n"));
    const size_t at = w.body.find(": triage route=" + route + "\n\n");
    ASSERT_NE(at, std::string::npos) << w.body;
    EXPECT_EQ(w.body.find(": keep-alive", at), std::string::npos);
    EXPECT_THAT(w.body, HasSubstr("[simulated gemma-4-31b]"));
    EXPECT_THAT(w.body, HasSubstr(": triage cost_usd="));
    const auto row = OnlyRow(*g);
    EXPECT_EQ(row.status, 200);
    EXPECT_EQ(row.error_kind, "");
    EXPECT_EQ(row.tier, "open");
    EXPECT_EQ(row.route, route);
    // The first byte of the answer, not of a keep-alive: the release, after the whole hold.
    EXPECT_GE(row.ttft_ms, 400);
  }
}

TEST(CascadeKeepAlive, EscalationWritesIntoTheBegunStream) {
  for (Dialect d : {Dialect::kOpenAI, Dialect::kAnthropic}) {
    SCOPED_TRACE(std::string(dialect::DialectName(d)));
    auto g = Make(350, "cascade_keepalive_ms: 100");
    Judge(*g, 0.9);
    SequenceWriter w;
    Serve(*g, d, true, w);
    EXPECT_FALSE(w.overlapped);
    EXPECT_THAT(w.Shape(), StartsWith("begin keep-alive+ write"));
    EXPECT_EQ(w.calls.back(), "end");
    EXPECT_EQ(std::count(w.calls.begin(), w.calls.end(), "begin"), 1);
    const std::string route = "cascade score=0.90 >= 0.50 \u2192 frontier";
    EXPECT_EQ(w.Trailer("x-triage-route"), route);
    EXPECT_EQ(w.Trailer("x-triage-tier"), "frontier");
    EXPECT_EQ(w.Trailer("x-triage-deployment"), "strong");
    EXPECT_THAT(w.body, HasSubstr(": triage route=" + route + "\n\n"));
    EXPECT_THAT(w.body, HasSubstr("[simulated claude-opus-4.7]"));
    EXPECT_THAT(w.body, Not(HasSubstr("[simulated gemma-4-31b]")));
    const auto row = OnlyRow(*g);
    EXPECT_EQ(row.status, 200);
    EXPECT_EQ(row.tier, "frontier");
    EXPECT_EQ(row.route, route);
    EXPECT_EQ(row.attempts, 2);
  }
}

TEST(CascadeKeepAlive, FailedEscalationReleasesTheCheapAnswerIntoTheBegunStream) {
  auto g = Make(350, "cascade_keepalive_ms: 100", false, /*strong_fails=*/true);
  Judge(*g, 0.9);
  SequenceWriter w;
  Serve(*g, Dialect::kOpenAI, true, w);
  EXPECT_FALSE(w.overlapped);
  EXPECT_EQ(w.Shape(), "begin keep-alive+ write end");
  const std::string route =
      "cascade score=0.90 >= 0.50 \u2192 frontier; released open (frontier failed)";
  EXPECT_EQ(w.Trailer("x-triage-route"), route);
  EXPECT_EQ(w.Trailer("x-triage-tier"), "open");
  EXPECT_THAT(w.body, HasSubstr(": triage route=" + route + "\n\n"));
  EXPECT_THAT(w.body, HasSubstr("[simulated gemma-4-31b]"));
  EXPECT_THAT(w.body, HasSubstr("data: [DONE]"));
  const auto row = OnlyRow(*g);
  EXPECT_EQ(row.status, 200);
  EXPECT_EQ(row.error_kind, "");
  EXPECT_EQ(row.route, route);
}

TEST(CascadeKeepAlive, ARefusalAfterTheStreamBeganIsAnErrorEventInTheClientsDialect) {
  for (Dialect d : {Dialect::kOpenAI, Dialect::kAnthropic}) {
    SCOPED_TRACE(std::string(dialect::DialectName(d)));
    // The cheap call fails slowly, so nothing is held; the escalation fails too.
    auto g = Make(350, "cascade_keepalive_ms: 100", true, true);
    Judge(*g, 0.1);
    SequenceWriter w;
    Serve(*g, d, true, w);
    EXPECT_FALSE(w.overlapped);
    EXPECT_EQ(w.Shape(), "begin keep-alive+ write end");
    EXPECT_EQ(w.status, 200);
    const std::string route = "cascade open failed \u2192 frontier";
    EXPECT_THAT(w.body, HasSubstr(": triage route=" + route + "\n\n"));
    if (d == Dialect::kOpenAI) {
      EXPECT_THAT(w.body, HasSubstr("data: {\"error\":{"));
    } else {
      EXPECT_THAT(w.body, HasSubstr("event: error\ndata: {"));
      EXPECT_THAT(w.body, HasSubstr("\"type\":\"error\""));
    }
    EXPECT_EQ(w.Trailer("x-triage-route"), route);
    EXPECT_NE(w.Trailer("x-triage-cost-usd"), "");
    const auto row = OnlyRow(*g);
    EXPECT_EQ(row.status, 200);  // the client got a 200 and an error event
    EXPECT_EQ(row.error_kind, "upstream_error");
    EXPECT_EQ(row.route, route);
  }
}

TEST(CascadeKeepAlive, AHoldShorterThanTheIntervalAnswersAsBefore) {
  for (bool stream : {true, false}) {
    SCOPED_TRACE(stream ? "stream" : "unary");
    auto g = Make(1, "cascade_keepalive_ms: 1000");
    Judge(*g, 0.1);
    SequenceWriter w;
    Serve(*g, Dialect::kOpenAI, stream, w);
    EXPECT_EQ(w.Shape(), stream ? "begin write end" : "respond");
    EXPECT_EQ(w.Header("x-triage-route"), "cascade score=0.10 < 0.50 \u2192 open");
    EXPECT_EQ(w.Header("x-triage-tier"), "open");
    EXPECT_THAT(w.body, Not(HasSubstr(": keep-alive")));
    EXPECT_THAT(w.body, Not(HasSubstr(": triage route=")));
    if (stream) {
      EXPECT_EQ(w.declared,
                (std::vector<std::string>{"x-triage-cost-usd", "x-triage-reference-cost-usd",
                                          "x-triage-usage-estimated"}));
      EXPECT_EQ(w.Trailer("x-triage-route"), "");
    }
  }
}

TEST(CascadeKeepAlive, OffOrUnaryNeverSendsBeforeTheDecision) {
  {
    auto g = Make(350, "cascade_keepalive_ms: 0");
    Judge(*g, 0.1);
    SequenceWriter w;
    Serve(*g, Dialect::kOpenAI, true, w);
    EXPECT_EQ(w.Shape(), "begin write end") << w.body;
    EXPECT_EQ(w.Header("x-triage-route"), "cascade score=0.10 < 0.50 \u2192 open");
  }
  {
    auto g = Make(350, "cascade_keepalive_ms: 100");
    Judge(*g, 0.1);
    SequenceWriter w;
    Serve(*g, Dialect::kAnthropic, false, w);
    EXPECT_EQ(w.Shape(), "respond");
    EXPECT_EQ(w.Header("x-triage-route"), "cascade score=0.10 < 0.50 \u2192 open");
  }
}

TEST(CascadeKeepAlive, AClientGoneDuringTheHoldCancelsTheCheapCall) {
  // The cheap call would take 20 s; the first keep-alive's write fails at 100 ms.
  auto g = Make(20000, "cascade_keepalive_ms: 100");
  Judge(*g, 0.1);
  SequenceWriter w;
  w.fail_writes = true;
  auto cancel = std::make_shared<upstream::CancelHook>();
  const auto start = std::chrono::steady_clock::now();
  Serve(*g, Dialect::kOpenAI, true, w, cancel);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE(cancel->fired());
  EXPECT_EQ(w.Shape(), "begin keep-alive+");
  const auto row = OnlyRow(*g);
  EXPECT_EQ(row.error_kind, "client_closed");
  EXPECT_EQ(row.status, 200);  // the stream had begun
}

TEST(CascadeKeepAlive, ShutdownDuringTheHoldEndsTheBegunStreamWithAnErrorEvent) {
  auto g = Make(20000, "cascade_keepalive_ms: 100");
  Judge(*g, 0.1);
  SequenceWriter w;
  net::io_context io;
  auto cancel = std::make_shared<upstream::CancelHook>();
  const std::string body = Request(Dialect::kAnthropic, true);
  net::co_spawn(io, g->Messages(body, w, cancel), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  // The end of the grace period, as CancelRequestsOfThisThread fires it.
  net::steady_timer grace(io, std::chrono::milliseconds(350));
  grace.async_wait([&](boost::system::error_code) { cancel->Fire(/*shutdown=*/true); });
  io.run();
  g->ledger().Flush();
  EXPECT_FALSE(w.overlapped);
  EXPECT_EQ(w.Shape(), "begin keep-alive+ write end");
  EXPECT_THAT(w.body, HasSubstr("event: error\ndata: {"));
  EXPECT_THAT(w.body, HasSubstr("shutting down"));
  const auto row = OnlyRow(*g);
  EXPECT_EQ(row.status, 200);
  EXPECT_EQ(row.error_kind, "shutdown");
}

}  // namespace
}  // namespace triage::pipeline
