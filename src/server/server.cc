#include "server/server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <exception>
#include <string>

#include "observe/log.h"
#include "server/session.h"
#include "upstream/http_client.h"

namespace triage::server {

namespace net = boost::asio;
using tcp = net::ip::tcp;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);
// After the grace period: how long cancelled requests get to answer and write their rows.
constexpr auto kCancelWindow = std::chrono::seconds(2);
// Within that window: when the pending writes to clients that stopped reading are cut, so that
// their requests still write their ledger rows before the exit.
constexpr auto kAbortClientWritesAfter = std::chrono::seconds(1);
// Out of file descriptors, accept fails every 50 ms: one log line per this, not per failure.
constexpr auto kAcceptLogEvery = std::chrono::seconds(10);

// The fields of an "accept failed" line; a plain function, since g++ 12 rejects braced lists
// of string literals inside coroutines.
nlohmann::json AcceptFailure(const boost::system::error_code& ec, int64_t not_logged) {
  nlohmann::json f = nlohmann::json::object();
  f["error"] = ec.message();
  f["failures_not_logged"] = not_logged;
  return f;
}

Server::Server(pipeline::Gateway& gateway) : gateway_(gateway), cors_(gateway.config().cors) {
  int n = gateway.config().threads;
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < n; ++i) {
    contexts_.push_back(std::make_unique<net::io_context>(1));
    // Asio opens a context's reactor descriptors (epoll, eventfd, timerfd) on its first I/O
    // object: open them now. Otherwise the first connection given to a thread not used yet
    // opened them, and out of descriptors (EMFILE) that threw out of the accept loop and
    // terminated the process (seen with 4 threads in http.test.mjs "out of file descriptors").
    net::steady_timer open_reactor(*contexts_.back());
  }
}

Server::~Server() = default;

Status Server::Listen(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  auto addr = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec)
    return Error::Make(ErrorKind::kInternal, "bad_listen",
                       "listen: '" + host + "' is not an IP address");
  tcp::endpoint ep(addr, port);
  acceptor_ = std::make_unique<tcp::acceptor>(*contexts_[0]);
  acceptor_->open(ep.protocol(), ec);
  if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(ep, ec);
  if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return Error::Make(
        ErrorKind::kInternal, "bind_failed",
        "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  auto bound = acceptor_->local_endpoint();
  std::string h = bound.address().to_string();
  if (bound.address().is_v6()) h = "[" + h + "]";
  url_ = "http://" + h + ":" + std::to_string(bound.port());
  return Ok{};
}

std::string Server::url() const { return url_; }

void Server::Shutdown() {
  if (draining_.exchange(true)) return;
  // Health checks end at once: the drain never waits for them.
  gateway_.StopHealthChecks();
  net::post(*contexts_[0], [this] {
    observe::Log(observe::Level::kInfo, "draining",
                 {{"in_flight", busy_.load()}, {"connections", sessions_.load()}});
    boost::system::error_code ec;
    if (acceptor_) acceptor_->close(ec);
    for (auto& ctx : contexts_) net::post(*ctx, [] { CloseIdleSessionsOfThisThread(); });
  });
}

namespace {
sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}
}  // namespace

void HoldStopSignals() {
  const sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void Server::Run(std::function<void()> on_tick, std::chrono::milliseconds tick) {
  auto& main = *contexts_[0];
  net::signal_set signals(main, SIGINT, SIGTERM);
  signals.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (!ec) {
      observe::Log(observe::Level::kInfo, "signal received", {{"signal", sig}});
      Shutdown();
    }
  });

  // SIGHUP: reload (re-armed after each signal; cancelled when Run returns).
  net::signal_set hup(main);
  std::function<void()> await_hup = [&] {
    hup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      on_reload_();
      await_hup();
    });
  };
  if (on_reload_) {
    hup.add(SIGHUP);
    await_hup();
  }
  // The handlers are in place: signals held since HoldStopSignals (one that came during
  // startup included) are delivered now, to this thread. The io threads started below inherit
  // this thread's mask; threads started earlier (the ledger's) keep theirs, so signals reach
  // the handlers through this thread or the io threads, never through the ledger's.
  const sigset_t held = StopSignals();
  pthread_sigmask(SIG_UNBLOCK, &held, nullptr);

  net::co_spawn(
      main,
      [this]() -> net::awaitable<void> {
        size_t next = 0;
        std::chrono::steady_clock::time_point logged_at{};  // of the last "accept failed"
        int64_t not_logged = 0;                             // failures since, not logged
        for (;;) {
          auto& target = *contexts_[next++ % contexts_.size()];
          auto [ec, socket] = co_await acceptor_->async_accept(target.get_executor(), kTuple);
          if (draining_) co_return;
          if (ec) {
            if (ec == net::error::operation_aborted) co_return;
            // EMFILE and friends: back off briefly instead of spinning. The failure repeats
            // every 50 ms until a descriptor frees up: logged at most every kAcceptLogEvery.
            const auto now = std::chrono::steady_clock::now();
            if (logged_at == std::chrono::steady_clock::time_point{} ||
                now - logged_at >= kAcceptLogEvery) {
              observe::Log(observe::Level::kWarn, "accept failed", AcceptFailure(ec, not_logged));
              logged_at = now;
              not_logged = 0;
            } else {
              ++not_logged;
            }
            net::steady_timer t(co_await net::this_coro::executor);
            t.expires_after(std::chrono::milliseconds(50));
            co_await t.async_wait(kTuple);
            continue;
          }
          // A session that ends by an exception (none is expected: errors are values) is logged,
          // not dropped in silence as `detached` would; its connection is closed either way.
          net::co_spawn(target, RunSession(*this, std::move(socket)), [](std::exception_ptr e) {
            if (!e) return;
            std::string what = "unknown exception";
            try {
              std::rethrow_exception(e);
            } catch (const std::exception& x) {
              what = x.what();
            } catch (...) {
            }
            observe::Log(observe::Level::kError, "connection ended by an exception",
                         {{"error", what}});
          });
        }
      },
      net::detached);

  // Drain supervisor: once draining, waits for in-flight requests (bounded by the grace
  // period), then stops every io thread.
  net::co_spawn(
      main,
      [this, on_tick, tick]() -> net::awaitable<void> {
        net::steady_timer t(co_await net::this_coro::executor);
        auto last_tick = std::chrono::steady_clock::now();
        std::chrono::steady_clock::time_point drain_deadline{}, cancel_deadline{},
            abort_writes_at{};
        for (;;) {
          t.expires_after(std::chrono::milliseconds(20));
          co_await t.async_wait(kTuple);
          auto now = std::chrono::steady_clock::now();
          if (on_tick && now - last_tick >= tick && !draining_) {
            last_tick = now;
            on_tick();
          }
          if (!draining_) continue;
          if (drain_deadline == std::chrono::steady_clock::time_point{})
            drain_deadline = now + gateway_.config().shutdown_grace;
          if (busy_.load() != 0 && now >= drain_deadline &&
              cancel_deadline == std::chrono::steady_clock::time_point{}) {
            // Grace is over: cancel what is left so that each request still answers its client
            // and writes its ledger row, then give them a short while to do so.
            observe::Log(observe::Level::kWarn, "grace period over; cancelling requests",
                         {{"in_flight", busy_.load()}});
            for (auto& ctx : contexts_) net::post(*ctx, [] { CancelRequestsOfThisThread(); });
            // Requests wait for their ledger rows: a lock another process holds must not keep
            // them (and the exit) waiting past the cancel window. Their rows are kept and, if
            // still unwritten at the exit, logged whole.
            gateway_.ledger().StopWaiting();
            cancel_deadline = now + kCancelWindow;
            abort_writes_at = now + kAbortClientWritesAfter;
            continue;
          }
          if (busy_.load() != 0 && abort_writes_at != std::chrono::steady_clock::time_point{} &&
              now >= abort_writes_at) {
            // A request still here is most likely writing to a client that stopped reading (its
            // upstream call was cancelled): stop waiting for that client so the row is written.
            abort_writes_at = {};
            for (auto& ctx : contexts_) net::post(*ctx, [] { AbortClientWritesOfThisThread(); });
          }
          const bool cancel_over =
              cancel_deadline != std::chrono::steady_clock::time_point{} && now >= cancel_deadline;
          if (busy_.load() == 0 || cancel_over) {
            if (busy_.load() != 0)
              observe::Log(observe::Level::kError, "requests still in flight at exit",
                           {{"in_flight", busy_.load()}});
            for (auto& ctx : contexts_) ctx->stop();
            co_return;
          }
        }
      },
      net::detached);

  // Active health checks run as coroutines on the io threads, spread like connections.
  std::vector<net::any_io_executor> executors;
  for (auto& ctx : contexts_) executors.push_back(ctx->get_executor());
  gateway_.StartHealthChecks(executors);

  std::vector<std::thread> threads;
  for (size_t i = 1; i < contexts_.size(); ++i) {
    threads.emplace_back([ctx = contexts_[i].get()] {
      auto guard = net::make_work_guard(*ctx);
      ctx->run();
      upstream::HttpClient::ForThisThread().CloseIdle();
    });
  }
  main.run();
  // This thread's upstream pool is a thread_local that lives until the process exits, after
  // ~Server destroyed the io_context its pooled connections belong to: close them while it
  // exists (destroying them later was a heap-use-after-free at exit, seen by AddressSanitizer).
  upstream::HttpClient::ForThisThread().CloseIdle();
  for (auto& ctx : contexts_) ctx->stop();
  for (auto& th : threads) th.join();
  stopped_ = true;
}

}  // namespace triage::server
