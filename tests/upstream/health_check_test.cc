// Active health checks end to end below the pipeline: Provider::Check against a scripted
// loopback server (method, path, auth headers, verdicts) and the HealthChecker loop.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <future>
#include <random>
#include <thread>

#include "scripted_server.h"
#include "upstream/health_checker.h"
#include "upstream/provider.h"
#include "upstream/resolve.h"

namespace triage::upstream {
namespace {

using std::chrono::milliseconds;

constexpr const char* kKeyEnv = "TRIAGE_HC_TEST_KEY";
constexpr const char* kKey = "hc-test-key-0123456789";

// Outlives every thread's pooled HttpClient (thread-local objects die before statics). The
// scripted servers close every connection after one answer: the checks use this thread's
// pooled client, which outlives each test and would keep a server's thread waiting.
net::io_context io;

std::string Reply(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

config::Deployment Deployment(const std::string& provider, uint16_t port,
                              const std::string& path = "") {
  setenv(kKeyEnv, kKey, 1);
  config::Deployment d;
  d.name = "d";
  d.provider = provider;
  d.catalog = "gemma-4-31b";
  d.model = "m";
  d.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  d.api_key_env = kKeyEnv;
  d.health_check_path = path;
  return d;
}

CheckResult RunCheck(Provider& p, int64_t max_body = 1 << 20) {
  io.restart();
  CheckResult r;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        CancelHook cancel;
        r = co_await p.Check(milliseconds(5000), max_body, &cancel);
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  return r;
}

TEST(ProviderCheck, OpenAIGetsModelsWithBearerAndPassesOn2xx) {
  ScriptedServer server([](tcp::socket& s, int) {
    Send(s, Reply(200, R"({"object":"list","data":[]})"));
    return false;
  });
  auto p = MakeProvider(Deployment("openai", server.port()));
  ASSERT_TRUE(p.ok()) << p.error().message;
  CheckResult r = RunCheck(**p);
  EXPECT_TRUE(r.passed) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.error, "");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].rfind("GET /v1/models HTTP/1.1\r\n", 0), 0u) << reqs[0];
  EXPECT_NE(reqs[0].find("\r\nauthorization: Bearer " + std::string(kKey) + "\r\n"),
            std::string::npos);
  EXPECT_EQ(reqs[0].find("Content-Length"), std::string::npos);
}

TEST(ProviderCheck, AnthropicSendsItsHeadersToTheConfiguredPath) {
  ScriptedServer server([](tcp::socket& s, int) {
    Send(s, Reply(204, ""));
    return false;
  });
  auto p = MakeProvider(Deployment("anthropic", server.port(), "/health"));
  ASSERT_TRUE(p.ok()) << p.error().message;
  CheckResult r = RunCheck(**p);
  EXPECT_TRUE(r.passed) << r.error;
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].rfind("GET /health HTTP/1.1\r\n", 0), 0u) << reqs[0];
  EXPECT_NE(reqs[0].find("\r\nx-api-key: " + std::string(kKey) + "\r\n"), std::string::npos);
  EXPECT_NE(reqs[0].find("\r\nanthropic-version: 2023-06-01\r\n"), std::string::npos);
}

TEST(ProviderCheck, Non2xxFailsIncluding401And404) {
  for (int status : {503, 500, 404, 401, 301}) {
    ScriptedServer server([status](tcp::socket& s, int) {
      Send(s, Reply(status, R"({"error":{"message":"no"}})"));
      return false;
    });
    auto p = MakeProvider(Deployment("openai", server.port()));
    ASSERT_TRUE(p.ok());
    CheckResult r = RunCheck(**p);
    EXPECT_FALSE(r.passed) << status;
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(r.error, "HTTP " + std::to_string(status));
  }
}

TEST(ProviderCheck, ConnectErrorFailsWithoutStatusOrSecrets) {
  uint16_t port;
  {
    net::io_context tmp;
    tcp::acceptor a(tmp, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  auto p = MakeProvider(Deployment("openai", port));
  ASSERT_TRUE(p.ok());
  CheckResult r = RunCheck(**p);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error.find("connect"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find(kKey), std::string::npos);
}

TEST(ProviderCheck, OversizedBodyFails) {
  ScriptedServer server([](tcp::socket& s, int) {
    Send(s, Reply(200, std::string(5000, 'x')));
    return false;
  });
  auto p = MakeProvider(Deployment("openai", server.port()));
  ASSERT_TRUE(p.ok());
  CheckResult r = RunCheck(**p, 100);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.error, "response larger than 100 bytes");
}

TEST(ProviderCheck, SimIsNeverChecked) {
  config::Deployment d;
  d.name = "s";
  d.provider = "sim";
  d.catalog = "gemma-4-31b";
  auto p = MakeProvider(d);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(RunCheck(**p).passed);
}

// The loop: checks at once, marks the deployment failing after unhealthy_after failures, and
// Stop ends it although its next check is an hour away.
TEST(HealthChecker, MarksFailingAndStopsPromptly) {
  ScriptedServer server([](tcp::socket& s, int) {
    Send(s, Reply(503, "{}"));
    return false;
  });
  auto p = MakeProvider(Deployment("openai", server.port()));
  ASSERT_TRUE(p.ok());
  DeploymentHealth health("d", 1, BreakerPolicy{});
  health.EnableChecks(CheckPolicy{1, 1});
  config::HealthChecksConfig cfg;
  cfg.interval = milliseconds(3'600'000);
  cfg.timeout = milliseconds(5000);
  HealthChecker checker({HealthChecker::Target{p->get(), &health}}, cfg, 1 << 20);
  io.restart();
  checker.Start({io.get_executor()});
  auto done = std::async(std::launch::async, [] { io.run(); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (health.check_state() != CheckState::kFailing &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(health.check_state(), CheckState::kFailing);
  EXPECT_EQ(health.checks_failed(), 1);
  checker.Stop();
  // io.run() returns only when the loop has ended (its timer was an hour away).
  const bool ended = done.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  EXPECT_TRUE(ended);
  if (!ended) io.stop();
  done.wait();
  EXPECT_EQ(server.requests().size(), 1u);
}

// Jitter: the first check at a random point of the first interval (at most 1 s in), each later
// one interval +- 10 % after the previous one's start.
TEST(HealthCheckJitter, FirstCheckDelayStaysWithinTheFirstIntervalAndOneSecond) {
  std::mt19937_64 rng(42);
  for (int64_t ms : {1, 7, 200, 999, 1000, 1001, 60000, 3600000}) {
    const auto interval = milliseconds(ms);
    const auto span = std::chrono::duration_cast<Clock::duration>(
        std::min(interval, milliseconds(kMaxFirstCheckDelay)));
    auto lo = Clock::duration::max(), hi = Clock::duration::min();
    for (uint64_t r : {uint64_t{0}, uint64_t{1}, ~uint64_t{0}}) {
      const auto d = FirstCheckDelay(interval, r);
      EXPECT_GE(d.count(), 0) << ms;
      EXPECT_LT(d, span) << ms;
    }
    for (int i = 0; i < 2000; ++i) {
      const auto d = FirstCheckDelay(interval, rng());
      ASSERT_GE(d.count(), 0) << ms;
      ASSERT_LT(d, span) << ms;
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    // Spread over the whole span, not bunched (deterministic: seeded).
    EXPECT_LT(lo, span / 10) << ms;
    EXPECT_GT(hi, span - span / 10) << ms;
  }
  EXPECT_EQ(FirstCheckDelay(milliseconds(0), 123).count(), 0);
}

TEST(HealthCheckJitter, NextCheckDelayIsTheIntervalPlusOrMinusTenPercent) {
  std::mt19937_64 rng(7);
  for (int64_t ms : {1, 10, 200, 1000, 60000}) {
    const auto interval = std::chrono::duration_cast<Clock::duration>(milliseconds(ms));
    const auto lo_bound = interval - interval / 10, hi_bound = interval + interval / 10;
    for (uint64_t r : {uint64_t{0}, uint64_t{1}, ~uint64_t{0}}) {
      const auto d = NextCheckDelay(milliseconds(ms), r);
      EXPECT_GE(d, lo_bound) << ms;
      EXPECT_LE(d, hi_bound) << ms;
    }
    EXPECT_EQ(NextCheckDelay(milliseconds(ms), 0), lo_bound) << ms;
    auto lo = Clock::duration::max(), hi = Clock::duration::min();
    double sum = 0;
    const int n = 2000;
    for (int i = 0; i < n; ++i) {
      const auto d = NextCheckDelay(milliseconds(ms), rng());
      ASSERT_GE(d, lo_bound) << ms;
      ASSERT_LE(d, hi_bound) << ms;
      lo = std::min(lo, d);
      hi = std::max(hi, d);
      sum += static_cast<double>(d.count());
    }
    const auto spread = hi_bound - lo_bound;
    EXPECT_LT(lo, lo_bound + spread / 20) << ms;
    EXPECT_GT(hi, hi_bound - spread / 20) << ms;
    EXPECT_NEAR(sum / n / static_cast<double>(interval.count()), 1.0, 0.01) << ms;
  }
}

// A lookup that blocks for `name` (a DNS server that does not answer) for the lifetime of the
// object. Each test hangs its own name: a released lookup may land after the next test began.
class HangingDns {
 public:
  explicit HangingDns(std::string name) {
    std::shared_future<void> released = release_.get_future().share();
    SetLookupForTesting([released, name](const std::string& host, const std::string&) {
      if (host == name) released.wait();
      return Result<Endpoints>(Error::Make(ErrorKind::kUpstream, "upstream_error", "no such name"));
    });
  }
  ~HangingDns() {
    release_.set_value();
    SetLookupForTesting(nullptr);
  }

 private:
  std::promise<void> release_;
};

// Runs `checker` on the test's io_context until `done()` (20 s at most), then stops it and
// returns whether the loops ended promptly.
template <class Done>
bool RunChecksUntil(HealthChecker& checker, Done done) {
  io.restart();
  checker.Start({io.get_executor()});
  auto running = std::async(std::launch::async, [] { io.run(); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(10));
  checker.Stop();
  const bool ended = running.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  if (!ended) io.stop();
  running.wait();
  return ended;
}

// A deployment named by a host whose DNS server does not answer fails its check at timeout_ms.
// Before, the lookup ignored the timeout: no verdict until the system resolver gave up (16 s with
// two 4 s attempts), and the deployment stayed "passing" meanwhile.
TEST(HealthChecker, AHangingDnsLookupFailsTheCheckAtTheTimeout) {
  HangingDns dns("dns-hangs.test");
  config::Deployment d = Deployment("openai", 1);
  d.base_url = "http://dns-hangs.test:1/v1";
  auto p = MakeProvider(d);
  ASSERT_TRUE(p.ok());
  DeploymentHealth health("d", 1, BreakerPolicy{});
  health.EnableChecks(CheckPolicy{1, 1});
  config::HealthChecksConfig cfg;
  cfg.interval = milliseconds(3'600'000);
  cfg.timeout = milliseconds(300);
  HealthChecker checker({HealthChecker::Target{p->get(), &health}}, cfg, 1 << 20);
  EXPECT_TRUE(RunChecksUntil(checker, [&] { return health.checks_failed() > 0; }));
  EXPECT_EQ(health.check_state(), CheckState::kFailing);
  auto snap = health.CheckSnapshot(Clock::now());
  ASSERT_TRUE(snap["last_error"].is_string()) << snap.dump();
  EXPECT_EQ(snap["last_error"].get<std::string>().rfind(
                "upstream timed out (DNS resolution of dns-hangs.test, ", 0),
            0u)
      << snap.dump();
  EXPECT_TRUE(snap["last_status"].is_null());
}

// Asio's resolver ran all lookups of an io_context on one thread, one after another: the hanging
// name held up the check of its sibling (an IP literal) on the same io thread, and Stop (and the
// exit, which joined that thread) waited for the lookup.
TEST(HealthChecker, AHangingDnsLookupHoldsUpNeitherItsSiblingNorStop) {
  HangingDns dns("dns-hangs-too.test");
  ScriptedServer server([](tcp::socket& s, int) {
    Send(s, Reply(200, "{}"));
    return false;
  });
  config::Deployment hd = Deployment("openai", 1);
  hd.base_url = "http://dns-hangs-too.test:1/v1";
  auto hanging = MakeProvider(hd);
  auto fine = MakeProvider(Deployment("openai", server.port()));
  ASSERT_TRUE(hanging.ok() && fine.ok());
  DeploymentHealth h1("hang", 1, BreakerPolicy{}), h2("fine", 1, BreakerPolicy{});
  h1.EnableChecks(CheckPolicy{1, 1});
  h2.EnableChecks(CheckPolicy{1, 1});
  config::HealthChecksConfig cfg;
  cfg.interval = milliseconds(3'600'000);
  cfg.timeout = milliseconds(3'600'000);
  HealthChecker checker(
      {HealthChecker::Target{hanging->get(), &h1}, HealthChecker::Target{fine->get(), &h2}}, cfg,
      1 << 20);
  EXPECT_TRUE(RunChecksUntil(checker, [&] { return h2.checks_passed() > 0; }))
      << "Stop waited for the hanging lookup";
  EXPECT_EQ(h2.checks_passed(), 1);
  EXPECT_EQ(h1.checks_passed() + h1.checks_failed(), 0);  // stopped in flight: no verdict
}

}  // namespace
}  // namespace triage::upstream
