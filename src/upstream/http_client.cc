#include "upstream/http_client.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <optional>

#include "upstream/http_wire.h"
#include "upstream/resolve.h"
#include "upstream/retry.h"
#include "upstream/watchdog.h"

namespace triage::upstream {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

namespace {
// Idle pooled connections older than this are closed rather than reused: upstream servers
// commonly close idle keep-alive connections after 60 s or less.
constexpr auto kMaxIdle = std::chrono::seconds(20);
constexpr size_t kMaxIdlePerHost = 256;
// Plain connections still use ssl_stream as a container; this context is never handshaken.
net::ssl::context& PlainContext() {
  static net::ssl::context ctx(net::ssl::context::tls_client);
  return ctx;
}
}  // namespace

struct PooledConn {
  PooledConn(net::any_io_executor ex, net::ssl::context& ctx, bool tls_)
      : stream(ex, ctx), dog(beast::get_lowest_layer(stream).socket()), tls(tls_) {
    // Beast reads into the buffer's free capacity (at least 512 bytes); a flat_buffer never
    // grows beyond what one message needed, so without this every read was 512 bytes and a
    // 4 KB answer took eight reads.
    buffer.reserve(kReadBufferBytes);
  }
  static constexpr size_t kReadBufferBytes = 16 * 1024;
  beast::ssl_stream<beast::tcp_stream> stream;
  // Every deadline of the connection (connect, first byte, idle, total): one timer moved forward
  // instead of the tcp_stream's expiry, which arms a timer per operation. On expiry it closes the
  // socket, as the stream's expiry did.
  Watchdog dog;
  beast::flat_buffer buffer;
  bool tls;
  Clock::time_point idle_since;
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream); }
};

Result<std::shared_ptr<net::ssl::context>> MakeTlsContext(const std::string& ca_file, bool verify) {
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
  boost::system::error_code ec;
  if (!ca_file.empty()) {
    ctx->load_verify_file(ca_file, ec);
    if (ec)
      return Error::Make(ErrorKind::kInternal, "tls_ca",
                         "cannot load CA file '" + ca_file + "': " + ec.message());
  } else {
    ctx->set_default_verify_paths(ec);
  }
  ctx->set_verify_mode(verify ? net::ssl::verify_peer : net::ssl::verify_none);
  return ctx;
}

HttpClient::HttpClient() = default;
HttpClient::~HttpClient() = default;

HttpClient& HttpClient::ForThisThread() {
  thread_local HttpClient client;
  return client;
}

size_t HttpClient::idle_connections() const {
  size_t n = 0;
  for (auto& [k, v] : idle_) n += v.size();
  return n;
}

void HttpClient::CloseIdle() { idle_.clear(); }

namespace {

struct Deadline {
  Clock::time_point at;
  // The expiry for one operation: its own timeout, capped by the total deadline.
  std::pair<Clock::duration, bool> For(config::Millis op) const {
    auto left = at - Clock::now();
    if (left < Clock::duration(op)) return {std::max(left, Clock::duration(0)), true};
    return {op, false};
  }
  // The same for an operation that must end by `by` (its own deadline).
  std::pair<Clock::duration, bool> Until(Clock::time_point by) const {
    const auto now = Clock::now();
    if (at < by) return {std::max(at - now, Clock::duration(0)), true};
    return {std::max(by - now, Clock::duration(0)), false};
  }
};

// Whether an idle pooled connection is still usable: nothing arrived on it since its last answer.
// A server that closed it (keep-alive timeout, restart) left an end of stream or a reset (or a
// TLS close_notify) to read. Only such a connection is replaced without a word; once a request
// was written, a failure is the attempt's (the server may have read and run the request).
bool QuietWhileIdle(tcp::socket& socket) {
  char c;
  const ssize_t r = ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// `what`: an optional prefix inside the parentheses, e.g. "DNS resolution of host, ".
Error Timeout(std::string_view phase, config::Millis ms, const std::string& what = "") {
  return Error::Make(ErrorKind::kUpstreamTimeout, "upstream_timeout",
                     "upstream timed out (" + what + std::string(phase) + " " +
                         std::to_string(ms.count()) + " ms)");
}

Error Failure(std::string_view what, const boost::system::error_code& ec) {
  return Error::Make(ErrorKind::kUpstream, "upstream_error",
                     "upstream " + std::string(what) + " failed: " + ec.message());
}

// The status and the headers the pipeline cares about. Retry-After wins over the reset headers;
// of several reset headers the longest wait is taken (we cannot tell which limit was hit).
Head MakeHead(const http::response_header<>& msg) {
  Head head;
  head.status = static_cast<int>(msg.result_int());
  head.content_type = std::string(msg[http::field::content_type]);
  head.retry_after = std::string(msg["retry-after"]);
  const auto now = std::chrono::system_clock::now();
  for (const char* name : {"retry-after-ms", "retry-after"}) {
    if (auto w = ParseServerWait(name, msg[name], now)) {
      head.server_wait = w;
      return head;
    }
  }
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!name.starts_with("x-ratelimit-reset") && !name.starts_with("anthropic-ratelimit-"))
      continue;
    if (auto w = ParseServerWait(name, f.value(), now))
      if (!head.server_wait || *w > *head.server_wait) head.server_wait = w;
  }
  return head;
}

// Outcome of one exchange on one connection.
struct Outcome {
  Status status = Ok{};
  bool reusable = false;
  bool stale = false;  // a reused connection failed the write: the request never got there
};

template <class Stream>
net::awaitable<Outcome> Run(Stream& stream, PooledConn& conn, const Url& url, const Exchange& ex,
                            const config::Timeouts& t, Deadline& deadline, Sink& sink,
                            CancelHook* cancel, bool reused) {
  Outcome out;
  auto cancelled = [&] {
    return Error::Make(ErrorKind::kUpstream, "cancelled", "upstream call cancelled");
  };
  auto timed_out = [&](std::string_view phase, config::Millis op, bool total) {
    return total ? Timeout("total", t.total) : Timeout(phase, op);
  };

  // One buffer, one write (Beast's serializer walks a chain of small buffers per field).
  const std::string wire =
      SerializeRequest(ex.method, ex.target, HostField(url), ex.headers, ex.body);

  // first_byte_ms runs from here to the first body bytes (a stream's first event), not only to
  // the head: streaming servers send their head at once and the first event once the prompt is
  // processed. idle_ms applies between body reads after that.
  const auto first_byte_by = Clock::now() + t.first_byte;
  auto [first_op, first_total] = deadline.Until(first_byte_by);
  conn.dog.Arm(first_op);
  auto [wec, wn] = co_await net::async_write(stream, net::buffer(wire), kTuple);
  if (wec) {
    if (cancel && cancel->fired())
      out.status = cancelled();
    else if (conn.dog.fired())
      out.status = timed_out("first_byte", t.first_byte, first_total);
    else {
      out.stale = reused;  // the server had closed it: the request did not reach it
      out.status = Failure("write", wec);
    }
    co_return out;
  }

  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  parser.header_limit(64 * 1024);
  auto [hec, hn] = co_await http::async_read_header(stream, conn.buffer, parser, kTuple);
  // A deadline covers only the operation it was set for: the sink may take its time (a slow
  // client), with nothing read meanwhile.
  conn.dog.Disarm();
  if (hec) {
    if (cancel && cancel->fired())
      out.status = cancelled();
    else if (conn.dog.fired())
      out.status = timed_out("first_byte", t.first_byte, first_total);
    else  // not retried here even on a reused connection: the server may have read the request
      out.status = Failure("response read", hec);
    co_return out;
  }
  auto& msg = parser.get();
  Head head = MakeHead(msg);
  if (!co_await sink.on_head(head)) {
    out.status = cancelled();
    co_return out;
  }

  char chunk[16 * 1024];
  bool body_started = false;
  std::optional<Clock::time_point> drain_by;  // set once the sink has the whole answer
  while (!parser.is_done()) {
    msg.body().data = chunk;
    msg.body().size = sizeof chunk;
    // No conditional operator on these pairs: g++ 12 mishandles class-type ones in coroutines.
    std::pair<Clock::duration, bool> op;
    if (drain_by)
      op = deadline.Until(*drain_by);
    else if (body_started)
      op = deadline.For(t.idle);
    else
      op = deadline.Until(first_byte_by);
    conn.dog.Arm(op.first);
    auto [rec, rn] = co_await http::async_read_some(stream, conn.buffer, parser, kTuple);
    conn.dog.Disarm();
    size_t got = sizeof chunk - msg.body().size;
    if (drain_by) {
      // The answer is whole: a timeout, a reset or more bytes than one read only cost the
      // connection (not reusable), never the answer.
      if ((rec && rec != http::error::need_buffer) || got == sizeof chunk) co_return out;
      continue;
    }
    if (rec && rec != http::error::need_buffer) {
      if (cancel && cancel->fired())
        out.status = cancelled();
      else if (conn.dog.fired() && body_started)
        out.status = timed_out("idle", t.idle, op.second);
      else if (conn.dog.fired())
        out.status = timed_out("first_byte", t.first_byte, op.second);
      else
        out.status = Failure("response body read", rec);
      co_return out;
    }
    body_started = body_started || got > 0;
    const auto handed = Clock::now();
    if (got > 0 && !co_await sink.on_data(std::string_view(chunk, got))) {
      out.status = cancelled();
      co_return out;
    }
    if (sink.answer_complete) drain_by = Clock::now() + kDrainAfterAnswer;
    // The time the sink took is not the upstream's: a streaming client slow to take what was
    // already sent holds the next read back (its own writes time out on their own). The total
    // deadline moves by it, so a slow reader neither cuts the answer short nor counts as an
    // upstream timeout against the deployment's breaker.
    deadline.at += Clock::now() - handed;
  }
  conn.dog.Stop();  // pooled: no timer waiting while it is idle
  out.reusable = parser.keep_alive();
  co_return out;
}

}  // namespace

net::awaitable<Status> HttpClient::Send(const Url& url, net::ssl::context* tls,
                                        const Exchange& exchange, const config::Timeouts& timeouts,
                                        Sink& sink, CancelHook* cancel) {
  if (cancel && cancel->fired())  // cancelled before the call began: nothing is sent
    co_return Error::Make(ErrorKind::kUpstream, "cancelled", "upstream call cancelled");
  auto ex = co_await net::this_coro::executor;
  Deadline deadline{Clock::now() + timeouts.total};
  const std::string key = (url.tls ? "s|" : "p|") + url.host + "|" + url.port;

  for (int round = 0; round < 2; ++round) {
    std::unique_ptr<PooledConn> conn;
    bool reused = false;
    if (auto it = idle_.find(key); it != idle_.end()) {
      auto& list = it->second;
      while (!list.empty() && !conn) {
        auto c = std::move(list.back());
        list.pop_back();
        if (Clock::now() - c->idle_since < kMaxIdle && c->lowest().socket().is_open() &&
            QuietWhileIdle(c->lowest().socket())) {
          conn = std::move(c);
          reused = true;
        }
      }
    }
    if (!conn) {
      conn = std::make_unique<PooledConn>(ex, url.tls ? *tls : PlainContext(), url.tls);
      // DNS resolution and the TCP connect share connect_ms (capped by the total deadline).
      const auto connect_by = std::min(deadline.at, Clock::now() + timeouts.connect);
      const bool connect_total = deadline.at < Clock::now() + timeouts.connect;
      const Clock::duration resolve_for = connect_by - Clock::now();
      auto endpoints = co_await Resolve(url.host, url.port, resolve_for, cancel);
      if (!endpoints) {
        if (endpoints.error().kind != ErrorKind::kUpstreamTimeout) co_return endpoints.error();
        if (connect_total)
          co_return Timeout("total", timeouts.total, "DNS resolution of " + url.host + ", ");
        co_return Timeout("connect", timeouts.connect, "DNS resolution of " + url.host + ", ");
      }
      const Clock::duration connect_for = connect_by - Clock::now();
      conn->dog.Arm(connect_for);
      if (cancel) cancel->Set([c = conn.get()] { c->lowest().close(); });
      auto [cec, ep] = co_await conn->lowest().async_connect(*endpoints, kTuple);
      if (cec) {
        if (cancel) cancel->Clear();
        if (cancel && cancel->fired())
          co_return Error::Make(ErrorKind::kUpstream, "cancelled", "upstream call cancelled");
        if (conn->dog.fired()) {
          if (connect_total) co_return Timeout("total", timeouts.total);
          co_return Timeout("connect", timeouts.connect);
        }
        co_return Failure("connect to " + url.host + ":" + url.port, cec);
      }
      conn->lowest().socket().set_option(tcp::no_delay(true));
      if (url.tls) {
        if (!SSL_set_tlsext_host_name(conn->stream.native_handle(), url.host.c_str())) {
          if (cancel) cancel->Clear();  // its hook points at conn, which goes with this return
          co_return Error::Make(ErrorKind::kUpstream, "upstream_error", "TLS: cannot set SNI");
        }
        conn->stream.set_verify_callback(net::ssl::host_name_verification(url.host));
        auto [hec] = co_await conn->stream.async_handshake(net::ssl::stream_base::client, kTuple);
        if (hec) {
          if (cancel) cancel->Clear();
          if (conn->dog.fired()) co_return Timeout("connect", timeouts.connect);
          co_return Failure("TLS handshake with " + url.host, hec);
        }
      }
    }
    if (cancel) cancel->Set([c = conn.get()] { c->lowest().close(); });
    // No conditional operator around co_await: g++ 12 destroys such temporaries twice.
    Outcome out;
    if (url.tls)
      out = co_await Run(conn->stream, *conn, url, exchange, timeouts, deadline, sink, cancel,
                         reused);
    else
      out = co_await Run(conn->lowest(), *conn, url, exchange, timeouts, deadline, sink, cancel,
                         reused);
    if (cancel) cancel->Clear();
    if (out.stale && round == 0) continue;  // a reused connection the server had closed
    if (out.status.ok() && out.reusable) {
      conn->idle_since = Clock::now();
      auto& list = idle_[key];
      if (list.size() < kMaxIdlePerHost) list.push_back(std::move(conn));
    }
    co_return out.status;
  }
  co_return Error::Make(ErrorKind::kUpstream, "upstream_error", "upstream closed the connection");
}

}  // namespace triage::upstream
