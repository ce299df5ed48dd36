#pragma once
// The HTTP/1.1 listener: one io_context per thread (connections are spread over them and
// stay on their thread, so the per-thread upstream pool needs no locks), one coroutine per
// connection, keep-alive, limits and timeouts on every read and write, graceful drain.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "pipeline/gateway.h"
#include "server/cors.h"

namespace triage::server {

// Holds SIGINT, SIGTERM and SIGHUP pending on the calling thread and on every thread it starts
// from then on, until Server::Run handles them. Call it first when starting to serve: a signal
// that arrives while the gateway loads (ledger, model, listener) then waits for Run, which
// drains and exits as it does for a signal after startup, instead of ending the process with
// the signal's default action (exit 143 for SIGTERM, no drain, no "stopped" line).
void HoldStopSignals();

class Server {
 public:
  // REQUIRES: gateway outlives the server.
  explicit Server(pipeline::Gateway& gateway);
  ~Server();

  // Binds host:port (port 0 picks a free one). Call once, before Run.
  Status Listen(const std::string& host, uint16_t port);
  // The bound address, e.g. "http://127.0.0.1:8080".
  std::string url() const;
  // Serves until SIGTERM/SIGINT (or Shutdown()), then drains: stops accepting, closes idle
  // connections, lets requests in flight finish within config shutdown_grace, returns. Runs the
  // gateway's active health checks meanwhile (stopped when the drain begins).
  // `on_tick` runs every `tick` on an io thread when set (the demo's summary line).
  void Run(std::function<void()> on_tick = nullptr,
           std::chrono::milliseconds tick = std::chrono::milliseconds(10000));
  // `reload` runs on an io thread at every SIGHUP while Run serves (set before Run). Without
  // it SIGHUP keeps its default action.
  void OnReload(std::function<void()> reload) { on_reload_ = std::move(reload); }
  // Begins the drain. Thread-safe.
  void Shutdown();
  bool draining() const { return draining_.load(); }
  pipeline::Gateway& gateway() { return gateway_; }
  // server.cors as read at start (a SIGHUP reload does not change it).
  const Cors& cors() const { return cors_; }
  // The io threads Run serves on (server.threads, or one per hardware thread).
  size_t threads() const { return contexts_.size(); }

  // Per-connection state lives in the session coroutine (server.cc); these are its
  // shared counters. Thread-safe.
  std::atomic<int64_t> busy_{0};      // requests being handled
  std::atomic<int64_t> sessions_{0};  // open connections

 private:
  pipeline::Gateway& gateway_;
  const Cors cors_;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> stopped_{false};
  std::string url_;
  std::function<void()> on_reload_;
};

}  // namespace triage::server
