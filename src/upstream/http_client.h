#pragma once
// Pooled HTTP/1.1 client for upstream calls (plain and TLS), with connect / first-byte / idle /
// total timeouts, delivering the response body to a Sink as it arrives (no whole-stream
// buffering). One HttpClient per io_context thread: NOT thread-safe, it owns that thread's
// connection pool (see ForThisThread).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "upstream/url.h"

namespace triage::upstream {

namespace net = boost::asio;

struct Head {
  int status = 0;
  std::string content_type;
  std::string retry_after;
  // How long the upstream asked us to wait before trying it again (Retry-After,
  // retry-after-ms, x-ratelimit-reset-*, anthropic-ratelimit-*-reset), when it said so.
  std::optional<std::chrono::milliseconds> server_wait;
};

// Receives a response as it arrives. A callback returning false aborts the exchange; the
// connection is then dropped, never reused.
struct Sink {
  std::function<net::awaitable<bool>(const Head&)> on_head;
  std::function<net::awaitable<bool>(std::string_view)> on_data;
  // Set by on_data once it has the whole answer (a stream's terminal event), so the exchange
  // no longer depends on the rest of the body: what follows is read only to keep the
  // connection, for at most kDrainAfterAnswer, and never delivered. A server that holds the
  // response open after its last event, or sends more, then costs the connection (dropped),
  // not the answer: the exchange ends successfully.
  bool answer_complete = false;
};
// How long the rest of a body is read after Sink::answer_complete (a chunked body's final
// chunk follows the last event at once).
inline constexpr std::chrono::milliseconds kDrainAfterAnswer{100};

struct Exchange {
  std::string target;  // absolute path, e.g. "/v1/chat/completions"
  std::string body;    // empty for a GET (sent without Content-Length)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string method = "POST";  // "GET" for health checks
};

// Lets another coroutine (the client-disconnect watcher) abort an upstream call in flight.
// Single-threaded: used only on the owning io_context thread.
class CancelHook {
 public:
  void Set(std::function<void()> fn) { fn_ = std::move(fn); }
  void Clear() { fn_ = nullptr; }
  // shutdown=true: the gateway is stopping (its grace period is over), the client is still there.
  void Fire(bool shutdown = false) {
    fired_ = true;
    shutdown_ = shutdown_ || shutdown;
    if (fn_) fn_();
  }
  bool fired() const { return fired_; }
  bool shutdown() const { return shutdown_; }

 private:
  std::function<void()> fn_;
  bool fired_ = false, shutdown_ = false;
};

// Builds a TLS client context: system trust store (or ca_file), peer verification unless
// disabled. Thread-safe to share after construction.
Result<std::shared_ptr<net::ssl::context>> MakeTlsContext(const std::string& ca_file, bool verify);

struct PooledConn;

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  // The client of the calling io_context thread (created on first use). Its pooled connections
  // belong to that thread's io_context, which the thread_local client outlives on the thread
  // that destroys the contexts: call CloseIdle() before the io_context goes.
  static HttpClient& ForThisThread();

  // Sends one request and streams the response into `sink`. Errors: kUpstreamTimeout (any
  // timeout), kUpstream (connect/TLS/protocol failures, aborted by the sink), with code
  // "cancelled" when `cancel` fired. REQUIRES: tls != nullptr when url.tls.
  net::awaitable<Status> Send(const Url& url, net::ssl::context* tls, const Exchange& exchange,
                              const config::Timeouts& timeouts, Sink& sink, CancelHook* cancel);

  size_t idle_connections() const;
  // Closes and forgets every pooled connection. REQUIRES: the io_context they were made on
  // still exists (their sockets and timers deregister from its services).
  void CloseIdle();

 private:
  std::unordered_map<std::string, std::vector<std::unique_ptr<PooledConn>>> idle_;
};

}  // namespace triage::upstream
