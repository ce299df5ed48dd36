#include "server/session.h"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <unordered_set>

#include "dialect/openai.h"
#include "observe/log.h"
#include "server/server.h"
#include "server/wire.h"

namespace triage::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

namespace {

constexpr auto kWriteTimeout = std::chrono::seconds(60);
thread_local std::unordered_set<beast::tcp_stream*> t_idle;
// Chat requests in flight on this thread (their cancel hooks), for the end of the grace period.
thread_local std::unordered_set<upstream::CancelHook*> t_requests;

// Keeps a request's hook in t_requests for exactly as long as the request runs, exceptions
// included (a hook left behind would be fired after its request is gone).
class InFlight {
 public:
  explicit InFlight(upstream::CancelHook* h) : h_(h) { t_requests.insert(h_); }
  ~InFlight() { t_requests.erase(h_); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  upstream::CancelHook* h_;
};

struct SessionState {
  Server& server;
  pipeline::Gateway& gateway;
  beast::tcp_stream stream;
  bool keep_alive = true;
};

class SessionWriter final : public pipeline::ClientWriter {
 public:
  SessionWriter(SessionState& s, unsigned version) : s_(s), version_(version) {}

  net::awaitable<bool> Respond(int status, const pipeline::Headers& headers,
                               std::string body) override {
    // One buffer, one write: Beast's serializer walks a chain of small buffers per field,
    // which cost more than the copy.
    const std::string wire = SerializeResponse(status, version_, KeepAlive(), headers, body);
    co_return co_await Send(wire);
  }

  // The head is not written on its own: it goes out with the first chunk (or the end).
  net::awaitable<bool> BeginStream(const pipeline::Headers& headers,
                                   const std::vector<std::string>& trailers) override {
    pending_ = SerializeStreamHead(version_, KeepAlive(), headers, trailers);
    co_return true;
  }

  net::awaitable<bool> Write(std::string_view data) override {
    if (data.empty() && pending_.empty()) co_return true;
    std::string wire = std::move(pending_);
    pending_.clear();
    if (!data.empty()) AppendChunk(wire, data);
    co_return co_await Send(wire);
  }

  net::awaitable<bool> EndStream(const pipeline::Headers& trailers) override {
    std::string wire = std::move(pending_);
    pending_.clear();
    AppendLastChunk(wire, trailers);
    co_return co_await Send(wire);
  }

 private:
  // Whether this response keeps the connection: not once the server drains. The session loop
  // reads s_.keep_alive after the response, so a "close" here ends the connection.
  bool KeepAlive() {
    if (s_.server.draining()) s_.keep_alive = false;
    return s_.keep_alive;
  }

  net::awaitable<bool> Send(const std::string& wire) {
    s_.stream.expires_after(kWriteTimeout);
    auto [ec, n] = co_await net::async_write(s_.stream, net::buffer(wire), kTuple);
    if (ec) s_.keep_alive = false;
    co_return !ec;
  }

  SessionState& s_;
  unsigned version_;
  std::string pending_;  // a stream's head, until its first write
};

std::string ErrorJson(ErrorKind kind, std::string code, std::string message) {
  return dialect::OpenAIErrorBody(Error::Make(kind, std::move(code), std::move(message)));
}

// Watches the client socket while the pipeline waits on an upstream: a peer that closes its
// side fires `hook`, which aborts the upstream call.
void WatchDisconnect(tcp::socket& socket, std::shared_ptr<upstream::CancelHook> hook,
                     std::shared_ptr<bool> active) {
  net::co_spawn(
      socket.get_executor(),
      [&socket, hook, active]() -> net::awaitable<void> {
        auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, kTuple);
        if (ec || !*active) co_return;
        char c;
        ssize_t r = ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) hook->Fire();
      },
      net::detached);
}

// Header lists are built in plain functions: g++ 12 rejects braced lists of string literals
// inside coroutines ("array used as initializer").
pipeline::Headers JsonType() { return {{"content-type", "application/json"}}; }
pipeline::Headers PrometheusType() { return {{"content-type", "text/plain; version=0.0.4"}}; }
pipeline::Headers AllowPost() { return {{"content-type", "application/json"}, {"allow", "POST"}}; }

// /metrics: the request statistics, per-deployment health, open connections.
std::string MetricsBody(Server& server) {
  std::string text = server.gateway().stats().Prometheus();
  text += "# HELP triage_open_connections Client connections open now.\n";
  text += "# TYPE triage_open_connections gauge\n";
  text += "triage_open_connections " + std::to_string(server.sessions_.load()) + "\n";
  text += server.gateway().HealthPrometheus();
  return text;
}

// /readyz: ready unless draining, with every deployment's circuit state.
std::string ReadyBody(Server& server) {
  nlohmann::json j = nlohmann::json::object();
  j["status"] = server.draining() ? "draining" : "ready";
  j["deployments"] = server.gateway().HealthJson();
  return j.dump();
}

// A deadline that cancels the pending read instead of closing the socket, so that a 408 can
// still be written. Finish() stops it and maps its cancellation to beast::error::timeout.
struct SoftTimer {
  explicit SoftTimer(net::any_io_executor ex) : timer(ex) {}
  net::steady_timer timer;
  bool fired = false;
  boost::system::error_code Finish(boost::system::error_code ec) {
    timer.cancel();
    if (fired && ec) return beast::error::timeout;
    return ec;
  }
};

std::shared_ptr<SoftTimer> SoftDeadline(beast::tcp_stream& stream, std::chrono::milliseconds d) {
  auto t = std::make_shared<SoftTimer>(stream.get_executor());
  t->timer.expires_after(d);
  t->timer.async_wait([t, &stream](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: the read finished in time
    t->fired = true;
    boost::system::error_code ignored;
    stream.socket().cancel(ignored);
  });
  return t;
}

// Endpoints that run the chat pipeline (and so are accounted even when refused early).
bool IsChatTarget(std::string_view path) {
  return path == "/v1/chat/completions" || path == "/v1/messages";
}

dialect::Dialect DialectOf(std::string_view path) {
  return path == "/v1/messages" || path.starts_with("/v1/messages/") ? dialect::Dialect::kAnthropic
                                                                     : dialect::Dialect::kOpenAI;
}

}  // namespace

void CloseIdleSessionsOfThisThread() {
  for (auto* s : t_idle) s->cancel();
}

void CancelRequestsOfThisThread() {
  // Firing only schedules work (cancelled timers and sockets resume later), but copy anyway.
  std::vector<upstream::CancelHook*> hooks(t_requests.begin(), t_requests.end());
  for (auto* h : hooks) h->Fire(/*shutdown=*/true);
}

net::awaitable<void> RunSession(Server& server, tcp::socket socket) {
  const config::Limits& lim = server.gateway().config().limits;
  SessionState s{server, server.gateway(), beast::tcp_stream(std::move(socket))};
  beast::flat_buffer buffer;
  server.sessions_.fetch_add(1);
  struct Leave {
    Server& srv;
    beast::tcp_stream* st;
    ~Leave() {
      t_idle.erase(st);
      srv.sessions_.fetch_sub(1);
    }
  } leave{server, &s.stream};
  s.stream.socket().set_option(tcp::no_delay(true));

  // Sends a plain error (outside the chat pipeline) and marks the connection for closing.
  auto fail = [&](unsigned version, ErrorKind kind, std::string code,
                  std::string message) -> net::awaitable<void> {
    s.keep_alive = false;
    SessionWriter w(s, version);
    co_await w.Respond(HttpStatus(kind), JsonType(),
                       ErrorJson(kind, std::move(code), std::move(message)));
  };

  while (s.keep_alive && !server.draining()) {
    // Idle keep-alive: wait for the first byte of the next request.
    if (buffer.size() == 0) {
      t_idle.insert(&s.stream);
      s.stream.expires_after(lim.keepalive_timeout);
      auto [ec, n] = co_await s.stream.async_read_some(buffer.prepare(8192), kTuple);
      t_idle.erase(&s.stream);
      if (ec) break;  // closed, idle timeout or drain: nothing to answer
      buffer.commit(n);
    }
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(lim.max_header_bytes));
    parser.body_limit(static_cast<uint64_t>(lim.max_body_bytes));
    // A soft deadline, not the stream's own expiry: that would close the socket, and the
    // client must still get its 408.
    auto header_timer = SoftDeadline(s.stream, lim.header_timeout);
    s.stream.expires_never();
    auto [hec0, hn] = co_await http::async_read_header(s.stream, buffer, parser, kTuple);
    auto hec = header_timer->Finish(hec0);
    if (hec) {
      if (hec == beast::error::timeout) {
        co_await fail(11, ErrorKind::kClientTimeout, "request_timeout",
                      "request headers not received within " +
                          std::to_string(lim.header_timeout.count()) + " ms");
      } else if (hec == http::error::header_limit) {
        co_await fail(11, ErrorKind::kHeadersTooLarge, "headers_too_large",
                      "request headers exceed " + std::to_string(lim.max_header_bytes) + " bytes");
      } else if (hec == http::error::body_limit) {
        // Content-Length over the limit: refused before reading the body.
        Error e = Error::Make(ErrorKind::kRequestTooLarge, "request_too_large",
                              "request body exceeds " + std::to_string(lim.max_body_bytes) +
                                  " bytes (limits.max_body_bytes)");
        s.keep_alive = false;
        SessionWriter w(s, 11);
        std::string_view t = parser.get().target();
        server.busy_.fetch_add(1);
        if (IsChatTarget(t.substr(0, t.find('?'))))
          co_await s.gateway.RefuseUnread(DialectOf(t.substr(0, t.find('?'))), e, w);
        else
          co_await w.Respond(413, JsonType(), dialect::OpenAIErrorBody(e));
        server.busy_.fetch_sub(1);
      } else if (hec != http::error::end_of_stream && hec != net::error::eof &&
                 hec != net::error::connection_reset && hec != net::error::operation_aborted) {
        co_await fail(11, ErrorKind::kInvalidRequest, "bad_http",
                      "malformed HTTP request: " + hec.message());
      }
      break;
    }
    auto& req = parser.get();
    const unsigned version = req.version();
    s.keep_alive = req.keep_alive();
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    const bool chat = IsChatTarget(path);
    SessionWriter writer(s, version);

    if (!parser.is_done()) {
      if (req[http::field::expect] == "100-continue") {
        http::response<http::empty_body> cont{http::status::continue_, version};
        s.stream.expires_after(kWriteTimeout);
        auto [cec, cn] = co_await http::async_write(s.stream, cont, kTuple);
        if (cec) break;
      }
      auto body_timer = SoftDeadline(s.stream, lim.body_timeout);
      s.stream.expires_never();
      auto [bec0, bn] = co_await http::async_read(s.stream, buffer, parser, kTuple);
      auto bec = body_timer->Finish(bec0);
      if (bec) {
        std::optional<Error> e;
        if (bec == beast::error::timeout)
          e = Error::Make(ErrorKind::kClientTimeout, "request_timeout",
                          "request body not received within " +
                              std::to_string(lim.body_timeout.count()) + " ms");
        else if (bec == http::error::body_limit)
          e = Error::Make(ErrorKind::kRequestTooLarge, "request_too_large",
                          "request body exceeds " + std::to_string(lim.max_body_bytes) +
                              " bytes (limits.max_body_bytes)");
        else if (bec != http::error::end_of_stream && bec != net::error::eof &&
                 bec != net::error::connection_reset && bec != net::error::operation_aborted)
          e = Error::Make(ErrorKind::kInvalidRequest, "bad_http",
                          "malformed HTTP request body: " + bec.message());
        if (e) {
          s.keep_alive = false;
          server.busy_.fetch_add(1);
          if (chat)
            co_await s.gateway.RefuseUnread(DialectOf(path), *e, writer);
          else
            co_await writer.Respond(HttpStatus(e->kind), JsonType(), dialect::OpenAIErrorBody(*e));
          server.busy_.fetch_sub(1);
        }
        break;
      }
    }

    server.busy_.fetch_add(1);
    const auto method = req.method();
    if (chat) {
      if (method != http::verb::post) {
        s.keep_alive = s.keep_alive && true;
        co_await writer.Respond(405, AllowPost(),
                                ErrorJson(ErrorKind::kInvalidRequest, "method_not_allowed",
                                          "use POST for " + std::string(path)));
      } else {
        auto hook = std::make_shared<upstream::CancelHook>();
        auto active = std::make_shared<bool>(true);
        WatchDisconnect(s.stream.socket(), hook, active);
        {
          InFlight in_flight(hook.get());
          if (DialectOf(path) == dialect::Dialect::kAnthropic)
            co_await s.gateway.Messages(req.body(), writer, hook);
          else
            co_await s.gateway.ChatCompletions(req.body(), writer, hook);
        }
        *active = false;
        boost::system::error_code ignored;
        s.stream.socket().cancel(ignored);
        if (hook->fired()) s.keep_alive = false;
      }
    } else if (method == http::verb::post && path == "/v1/messages/count_tokens") {
      auto [status, body] = s.gateway.CountTokens(req.body());
      co_await writer.Respond(status, JsonType(), std::move(body));
    } else if (method == http::verb::get && path == "/v1/models") {
      co_await writer.Respond(200, JsonType(), s.gateway.ModelsJson());
    } else if (method == http::verb::get && path == "/healthz") {
      co_await writer.Respond(200, JsonType(), R"({"status":"ok"})");
    } else if (method == http::verb::get && path == "/readyz") {
      co_await writer.Respond(server.draining() ? 503 : 200, JsonType(), ReadyBody(server));
    } else if (method == http::verb::get && path == "/metrics") {
      co_await writer.Respond(200, PrometheusType(), MetricsBody(server));
    } else {
      co_await writer.Respond(
          404, JsonType(),
          ErrorJson(ErrorKind::kNotFound, "not_found",
                    "no route for " + std::string(req.method_string()) + " " + std::string(path)));
    }
    server.busy_.fetch_sub(1);
  }
  // Lingering close: stop sending, then read and discard what the client may still be
  // sending for a short while, so an early error response is not destroyed by a TCP reset.
  boost::system::error_code ignored;
  s.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  size_t drained = 0;
  char sink[8192];
  while (!ignored && drained < 4 * 1024 * 1024) {
    s.stream.expires_after(std::chrono::milliseconds(500));
    auto [ec, n] = co_await s.stream.async_read_some(net::buffer(sink), kTuple);
    if (ec) break;
    drained += n;
  }
  s.stream.close();
}

}  // namespace triage::server
