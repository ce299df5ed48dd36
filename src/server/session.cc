#include "server/session.h"

#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "observe/log.h"
#include "pipeline/attempt_util.h"
#include "server/request_head.h"
#include "server/request_parser.h"
#include "server/server.h"
#include "server/wire.h"
#include "upstream/watchdog.h"

namespace triage::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

namespace {

constexpr auto kWriteTimeout = std::chrono::seconds(60);
// Lingering close after the last response: at most this long without a byte from the client,
// and this long in all.
constexpr auto kLingerIdle = std::chrono::milliseconds(500);
constexpr auto kLingerTotal = std::chrono::milliseconds(2000);
constexpr size_t kLingerMaxBytes = 64 * 1024 * 1024;
constexpr size_t kLingerReadSize = 64 * 1024;
// Pipelined bytes the disconnect watch reads ahead while a chat request runs, at most.
constexpr size_t kWatchBufferLimit = 64 * 1024;
thread_local std::unordered_set<beast::tcp_stream*> t_idle;
// Chat requests in flight on this thread (their cancel hooks and client connections), for the
// end of the grace period.
thread_local std::unordered_map<upstream::CancelHook*, beast::tcp_stream*> t_requests;

// Keeps a request's hook in t_requests for exactly as long as the request runs, exceptions
// included (a hook left behind would be fired after its request is gone).
class InFlight {
 public:
  InFlight(upstream::CancelHook* h, beast::tcp_stream* client) : h_(h) {
    t_requests.emplace(h_, client);
  }
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
  // Every deadline of the connection (idle, head, body, writes, linger): one timer moved
  // forward, not one armed per operation (the stream's own expiry stays off).
  upstream::Watchdog dog{stream.socket()};
  bool keep_alive = true;
};

class SessionWriter final : public pipeline::ClientWriter {
 public:
  // `head`: the request was HEAD, so no response to it carries a body.
  SessionWriter(SessionState& s, unsigned version, bool head = false)
      : s_(s), version_(version), head_(head) {}

  // Every response from now on carries the CORS fields for `origin` (the request's Origin
  // field, "" when it has none; it must outlive the writer). REQUIRES: cors.enabled().
  void EnableCors(const Cors& cors, std::string_view origin) {
    cors_ = &cors;
    origin_ = origin;
  }

  net::awaitable<bool> Respond(int status, const pipeline::Headers& headers,
                               std::string body) override {
    // One buffer, one write: Beast's serializer walks a chain of small buffers per field,
    // which cost more than the copy.
    const std::string wire = Serialize(status, WithCors(headers), body);
    co_return co_await Send(wire);
  }

  // An OPTIONS that is not a CORS preflight: 204 with Allow (and the CORS fields when on), no
  // body (RFC 9110 9.3.7).
  net::awaitable<bool> RespondOptions(std::string_view allow) {
    pipeline::Headers fields;
    fields.emplace_back("allow", std::string(allow));
    const std::string wire = SerializeNoContent(version_, KeepAlive(), WithCors(fields));
    co_return co_await Send(wire);
  }

  // A CORS preflight's answer: 204 with exactly `headers` (the CORS fields included).
  net::awaitable<bool> RespondNoContent(const pipeline::Headers& headers) {
    const std::string wire = SerializeNoContent(version_, KeepAlive(), headers);
    co_return co_await Send(wire);
  }

  // The head is not written on its own: it goes out with the first chunk (or the end).
  net::awaitable<bool> BeginStream(const pipeline::Headers& headers,
                                   const std::vector<std::string>& trailers) override {
    if (version_ == 10) {
      // HTTP/1.0 has no chunked coding: the body runs until the connection closes, and the
      // trailers are not sent (the cost is still in the SSE comment and the final event).
      s_.keep_alive = false;
      close_delimited_ = true;
      pending_ = SerializeCloseDelimitedHead(version_, WithCors(headers));
      co_return true;
    }
    pending_ = SerializeStreamHead(version_, KeepAlive(), WithCors(headers), trailers);
    co_return true;
  }

  net::awaitable<bool> Write(std::string_view data) override {
    if (data.empty() && pending_.empty()) co_return true;
    std::string wire = std::move(pending_);
    pending_.clear();
    if (close_delimited_)
      wire.append(data);
    else if (!data.empty())
      AppendChunk(wire, data);
    co_return co_await Send(wire);
  }

  // A close-delimited stream ends when the session closes the connection after this.
  net::awaitable<bool> EndStream(const pipeline::Headers& trailers) override {
    std::string wire = std::move(pending_);
    pending_.clear();
    if (!close_delimited_) AppendLastChunk(wire, trailers);
    if (wire.empty()) co_return true;
    co_return co_await Send(wire);
  }

 private:
  // A plain function: g++ 12 mishandles conditional expressions of class type in coroutines.
  std::string Serialize(int status, const pipeline::Headers& headers, std::string_view body) {
    if (head_) return SerializeHeadResponse(status, version_, KeepAlive(), headers, body);
    return SerializeResponse(status, version_, KeepAlive(), headers, body);
  }

  // `headers` plus the CORS fields when CORS is on; otherwise `headers` itself, uncopied.
  const pipeline::Headers& WithCors(const pipeline::Headers& headers) {
    if (cors_ == nullptr) return headers;
    with_cors_ = headers;
    cors_->AddResponseFields(origin_, with_cors_);
    return with_cors_;
  }

  // Whether this response keeps the connection: not once the server drains. The session loop
  // reads s_.keep_alive after the response, so a "close" here ends the connection.
  bool KeepAlive() {
    if (s_.server.draining()) s_.keep_alive = false;
    return s_.keep_alive;
  }

  net::awaitable<bool> Send(const std::string& wire) {
    s_.dog.Arm(kWriteTimeout);
    auto [ec, n] = co_await net::async_write(s_.stream, net::buffer(wire), kTuple);
    s_.dog.Disarm();
    if (ec) s_.keep_alive = false;
    co_return !ec;
  }

  SessionState& s_;
  unsigned version_;
  bool head_;
  bool close_delimited_ = false;  // an HTTP/1.0 stream
  std::string pending_;           // a stream's head, until its first write
  const Cors* cors_ = nullptr;    // set when server.cors is on
  std::string_view origin_;
  pipeline::Headers with_cors_;  // the last response's headers with the CORS fields
};

// Watches the client socket while the pipeline waits on an upstream: a peer that closes its
// side fires `hook`, which aborts the upstream call. Bytes a client pipelines meanwhile (its
// next request) are moved into `buffer`, where the session's next read finds them, and the
// watch goes on after them: a client that pipelines and then leaves is still noticed. Past
// kWatchBufferLimit bytes in `buffer` the watch stops (the session is not reading them yet);
// a disconnect is then noticed when the answer is written.
void WatchDisconnect(tcp::socket& socket, beast::flat_buffer& buffer,
                     std::shared_ptr<upstream::CancelHook> hook, std::shared_ptr<bool> active) {
  net::co_spawn(
      socket.get_executor(),
      [&socket, &buffer, hook, active]() -> net::awaitable<void> {
        while (true) {
          auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, kTuple);
          if (ec || !*active || buffer.size() >= kWatchBufferLimit) co_return;
          const auto space =
              buffer.prepare(std::min<size_t>(kWatchBufferLimit - buffer.size(), 16384));
          const ssize_t r =
              ::recv(socket.native_handle(), space.data(), space.size(), MSG_DONTWAIT);
          if (r > 0) {
            buffer.commit(static_cast<size_t>(r));
            continue;
          }
          if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
          hook->Fire();  // end of stream, or the connection failed
          co_return;
        }
      },
      net::detached);
}

// Header lists are built in plain functions: g++ 12 rejects braced lists of string literals
// inside coroutines ("array used as initializer").
pipeline::Headers JsonType() { return {{"content-type", "application/json"}}; }
pipeline::Headers PrometheusType() { return {{"content-type", "text/plain; version=0.0.4"}}; }
// The fields of an error the session answers itself: Allow on a 405, and on a 415 the
// Accept-Encoding that says which content codings would have been accepted (RFC 9110 15.5.16).
pipeline::Headers ErrorFields(const Error& e, std::string_view allow) {
  pipeline::Headers h = JsonType();
  if (!allow.empty()) h.emplace_back("allow", std::string(allow));
  if (e.kind == ErrorKind::kUnsupportedMediaType) h.emplace_back("accept-encoding", "identity");
  return h;
}

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

// A soft deadline's outcome: its cancellation of the pending read is a timeout. A soft deadline
// (Watchdog::Action::kCancel) cancels the read instead of closing the socket, so that a 408 can
// still be written.
boost::system::error_code FinishSoft(upstream::Watchdog& dog, boost::system::error_code ec) {
  if (dog.Finish() && ec) return beast::error::timeout;
  return ec;
}

using Parser = RequestParser;

// What the session knows of a request it refuses itself. Strings, not views: they outlive the
// parser and the buffer.
struct Known {
  unsigned version = 11;
  bool head = false;   // HEAD: the answer has no body
  std::string method;  // "" when the request line was not read
  std::string path;    // "" when not read: the error is then in the OpenAI shape
  std::string origin;  // the Origin field, when CORS is on and the fields were read
};

Known KnownOf(const http::request<http::string_body>& req, const Cors& cors) {
  Known k;
  k.version = req.version();
  k.head = req.method() == http::verb::head;
  k.method = std::string(req.method_string());
  std::string storage;
  bool malformed = false;
  k.path = std::string(NormalPath(PathOf(req.target()), &storage, &malformed));
  if (cors.enabled()) k.origin = std::string(req[http::field::origin]);
  return k;
}

// The request line of a head Beast refused: from the parser when it got that far (its start
// line is parsed together with the fields, once the whole head is in), else read from the raw
// bytes, which stay in the buffer when the parser refuses them (431, 408, malformed heads).
Known KnownOf(const Parser& parser, const beast::flat_buffer& buffer, const Cors& cors) {
  if (!parser.get().target().empty()) return KnownOf(parser.get(), cors);
  Known k;
  const auto bytes = buffer.data();
  auto line =
      PeekRequestLine(std::string_view(static_cast<const char*>(bytes.data()), bytes.size()));
  if (!line) return k;
  k.version = line->version;
  k.head = line->method == "HEAD";
  k.method = std::string(line->method);
  std::string storage;
  bool malformed = false;
  k.path = std::string(NormalPath(PathOf(line->target), &storage, &malformed));
  return k;
}

// The most bytes a session's read buffer holds. Beast parses a request head, a chunk-size line
// (with its extensions) and a chunked body's trailer section once each is whole in the buffer,
// but bounds only the head (header_limit) and the chunk data (body_limit): an endless chunk
// extension or trailer section grew the buffer until body_timeout ran out, hundreds of MB per
// connection. Room for the largest head or the disconnect watch's read-ahead, plus one read
// (Beast reads at most 64 KiB at a time), so the head's own limit is still the one that answers.
size_t BufferLimit(const config::Limits& lim) {
  return std::max<size_t>(static_cast<size_t>(lim.max_header_bytes), kWatchBufferLimit) + 64 * 1024;
}

// Whether the bytes Beast holds back while reading a chunked body hold an LF without its CR.
// Beast consumes chunk data as it arrives, so what it holds back waiting for more is always the
// start of a line (a chunk-size line with the CRLF before it, or the last chunk and its trailer
// section), which must end in CRLF (RFC 9112 7.1). Beast ends such lines only at CRLF: a bare LF
// made it wait for bytes that never come, until body_timeout (408).
bool HasBareLf(const beast::flat_buffer& buffer) {
  const auto b = buffer.data();
  const std::string_view held(static_cast<const char*>(b.data()), b.size());
  for (size_t at = held.find('\n'); at != std::string_view::npos; at = held.find('\n', at + 1))
    if (at == 0 || held[at - 1] != '\r') return true;
  return false;
}

// Whether the chunk-size line Beast holds back (after the CRLF that ends the previous chunk's
// data, if there) ends in an LF without its CR.
bool FirstLineEndsInBareLf(const beast::flat_buffer& buffer) {
  const auto b = buffer.data();
  std::string_view held(static_cast<const char*>(b.data()), b.size());
  if (held.starts_with("\r\n")) held.remove_prefix(2);
  const size_t lf = held.find('\n');
  return lf != std::string_view::npos && (lf == 0 || held[lf - 1] != '\r');
}

// Reads the rest of a request whose head `parser` has, as http::async_read does (eager parse,
// bytes appended to `buffer` up to its max size, then buffer_overflow; end of stream as
// put_eof), but refuses a chunked body's line that ends in a bare LF at once, with
// http::error::bad_line_ending, instead of waiting for a CRLF.
net::awaitable<boost::system::error_code> ReadBody(beast::tcp_stream& stream,
                                                   beast::flat_buffer& buffer, Parser& parser) {
  parser.eager(true);
  for (;;) {
    boost::system::error_code ec;
    if (buffer.size() != 0) {
      buffer.consume(parser.put(buffer.data(), ec));
      // A chunk-size line cut short by a bare LF, with a CRLF later on ("5\nhello\r\n"): Beast
      // reads "5\nhello" as the line and says bad_chunk or bad_chunk_extension; name the fault.
      if ((ec == http::error::bad_chunk || ec == http::error::bad_chunk_extension) &&
          FirstLineEndsInBareLf(buffer))
        co_return http::error::bad_line_ending;
      if (ec && ec != http::error::need_more) co_return ec;
      if (parser.is_done()) co_return boost::system::error_code{};
    }
    if (parser.chunked() && HasBareLf(buffer)) co_return http::error::bad_line_ending;
    const size_t room = beast::read_size(buffer, 65536);
    if (room == 0) co_return http::error::buffer_overflow;
    auto [rec, n] = co_await stream.async_read_some(buffer.prepare(room), kTuple);
    buffer.commit(n);
    if (rec == net::error::eof) {
      boost::system::error_code eof;
      parser.put_eof(eof);
      co_return eof;  // partial_message: the body ended early
    }
    if (rec) co_return rec;
  }
}

// A body over limits.max_body_bytes: by its Content-Length before reading, or while reading.
Error BodyTooLarge(const config::Limits& lim) {
  return Error::Make(ErrorKind::kRequestTooLarge, "request_too_large",
                     "request body exceeds " + std::to_string(lim.max_body_bytes) +
                         " bytes (limits.max_body_bytes)");
}

// A field whose name or value Beast cannot store (RequestParser::kMaxFieldPart), in the head or
// in a chunked body's trailer section: 431, whatever limits.max_header_bytes says.
Error FieldTooLarge(std::string_view where) {
  return Error::Make(ErrorKind::kHeadersTooLarge, "headers_too_large",
                     std::string(where) + " has a field whose name or value exceeds " +
                         std::to_string(RequestParser::kMaxFieldPart) + " bytes");
}

// Why reading a request head failed; nullopt when the peer went away (nothing to answer).
std::optional<Error> HeadError(boost::system::error_code ec, const Parser& parser,
                               const config::Limits& lim) {
  if (parser.field_too_large()) return FieldTooLarge("the request head");
  if (ec == beast::error::timeout)
    return Error::Make(ErrorKind::kClientTimeout, "request_timeout",
                       "request headers not received within " +
                           std::to_string(lim.header_timeout.count()) + " ms");
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
    return Error::Make(ErrorKind::kHeadersTooLarge, "headers_too_large",
                       "request headers exceed " + std::to_string(lim.max_header_bytes) + " bytes");
  if (ec == http::error::body_limit) return BodyTooLarge(lim);  // Content-Length: refused unread
  if (ec == http::error::end_of_stream || ec == net::error::eof ||
      ec == net::error::connection_reset || ec == net::error::operation_aborted)
    return std::nullopt;
  return Error::Make(ErrorKind::kInvalidRequest, "bad_http",
                     "malformed HTTP request: " + ec.message());
}

// Why reading a request body failed; nullopt when the peer went away.
std::optional<Error> BodyError(boost::system::error_code ec, const Parser& parser,
                               const config::Limits& lim) {
  if (parser.field_too_large()) return FieldTooLarge("the chunked body's trailer section");
  if (ec == http::error::buffer_overflow)
    return Error::Make(ErrorKind::kInvalidRequest, "bad_http",
                       "malformed HTTP request body: a chunk-size line (with its chunk "
                       "extensions) or the trailer section exceeds " +
                           std::to_string(BufferLimit(lim)) + " bytes");
  if (ec == http::error::bad_line_ending)
    return Error::Make(ErrorKind::kInvalidRequest, "bad_http",
                       "malformed HTTP request body: a chunk-size line or trailer field of the "
                       "chunked body does not end in CRLF (a bare LF or CR); RFC 9112 7.1");
  if (ec == beast::error::timeout)
    return Error::Make(
        ErrorKind::kClientTimeout, "request_timeout",
        "request body not received within " + std::to_string(lim.body_timeout.count()) + " ms");
  if (ec == http::error::body_limit) return BodyTooLarge(lim);
  if (ec == http::error::end_of_stream || ec == net::error::eof ||
      ec == net::error::connection_reset || ec == net::error::operation_aborted)
    return std::nullopt;
  return Error::Make(ErrorKind::kInvalidRequest, "bad_http",
                     "malformed HTTP request body: " + ec.message());
}

// A Transfer-Encoding other than a plain "chunked": refused and the connection closed. Without
// chunked last, where the body ends, and so where the next request begins, is unknown (400); with
// another coding before chunked (gzip, chunked) the body is framed but coded in a way triage does
// not decode (501), and it is not read.
std::optional<Error> FramingError(const http::request<http::string_body>& req) {
  std::string te;
  for (const auto& f : req) {
    if (f.name() != http::field::transfer_encoding) continue;
    if (!te.empty()) te += ", ";
    te.append(f.value().data(), f.value().size());
  }
  const TransferFraming framing = ClassifyTransferEncoding(te);
  if (framing == TransferFraming::kReadable) return std::nullopt;
  if (framing == TransferFraming::kUnknownCoding)
    return Error::Make(ErrorKind::kNotImplemented, "unsupported_transfer_coding",
                       "Transfer-Encoding '" + te.substr(0, 64) +
                           "' is not implemented: triage decodes only chunked; send the body "
                           "uncompressed, with Content-Length or Transfer-Encoding: chunked");
  return Error::Make(ErrorKind::kInvalidRequest, "bad_http",
                     "malformed HTTP request: Transfer-Encoding '" + te.substr(0, 64) +
                         "' is not supported; send the body with Content-Length or "
                         "Transfer-Encoding: chunked");
}

// RFC 9112 3.2: an HTTP/1.1 request without a Host field, and any request with more than one,
// must be refused with 400 (proxies in front may disagree on which one counts).
std::optional<Error> HostError(const http::request<http::string_body>& req) {
  const size_t hosts = req.count(http::field::host);
  if (hosts == 1 || (hosts == 0 && req.version() < 11)) return std::nullopt;
  return Error::Make(ErrorKind::kInvalidRequest, "bad_http",
                     hosts == 0 ? "malformed HTTP request: an HTTP/1.1 request needs a Host field"
                                : "malformed HTTP request: " + std::to_string(hosts) +
                                      " Host fields; a request has at most one");
}

// A body with a content coding (gzip, br, ...): triage reads only unencoded JSON.
std::optional<Error> EncodingError(const http::request<http::string_body>& req) {
  const std::string_view coding = ContentCoding(req[http::field::content_encoding]);
  if (coding.empty()) return std::nullopt;
  return Error::Make(ErrorKind::kUnsupportedMediaType, "unsupported_content_encoding",
                     "request body has Content-Encoding '" + std::string(coding) +
                         "'; triage accepts only unencoded (identity) JSON bodies: send it "
                         "uncompressed");
}

// A preflight from an origin server.cors does not allow: 403, without CORS fields, so the
// browser refuses the request; the body says why to whoever looks (curl, the network tab).
Error CorsRefusal(std::string_view origin) {
  return Error::Make(
      ErrorKind::kPermission, "cors_origin_not_allowed",
      "origin '" + std::string(origin.substr(0, 256)) + "' is not in server.cors.allow_origins");
}

// An error the session answers itself, not accounted: the error's status in dialect `d` unless
// `status` is given, the body in `d`'s shape.
net::awaitable<bool> RespondError(SessionWriter& w, dialect::Dialect d, const Error& e,
                                  int status = 0, std::string_view allow = {}) {
  const int code = status != 0 ? status : pipeline::ErrorStatus(d, e);
  co_return co_await w.Respond(code, ErrorFields(e, allow), pipeline::ErrorBody(d, e));
}

// Answers an error found before the pipeline (the head or body could not be read) and marks
// the connection for closing. In the dialect of the request's path, or the OpenAI shape when
// the request line is unknown; a POST to a chat route is refused through the pipeline, so it is
// accounted like any other refusal.
net::awaitable<void> RefuseEarly(SessionState& s, Known k, Error e) {
  s.keep_alive = false;
  SessionWriter w(s, k.version, k.head);
  if (s.server.cors().enabled()) w.EnableCors(s.server.cors(), k.origin);
  const dialect::Dialect d = DialectOf(k.path);
  s.server.busy_.fetch_add(1);
  if (IsChat(RouteOf(k.path)) && k.method == "POST")
    co_await s.gateway.RefuseUnread(d, std::move(e), w);
  else
    co_await RespondError(w, d, e);
  s.server.busy_.fetch_sub(1);
}

}  // namespace

void CloseIdleSessionsOfThisThread() {
  for (auto* s : t_idle) s->cancel();
}

void CancelRequestsOfThisThread() {
  // Firing only schedules work (cancelled timers and sockets resume later), but copy anyway.
  std::vector<upstream::CancelHook*> hooks;
  for (const auto& [h, client] : t_requests) hooks.push_back(h);
  for (auto* h : hooks) h->Fire(/*shutdown=*/true);
}

void AbortClientWritesOfThisThread() {
  // cancel() only completes the pending operations (with operation_aborted): nothing resumes
  // before this returns, and the connection stays usable for whatever the request writes next.
  for (const auto& [h, client] : t_requests) client->cancel();
}

net::awaitable<void> RunSession(Server& server, tcp::socket socket) {
  const config::Limits& lim = server.gateway().config().limits;
  SessionState s{server, server.gateway(), beast::tcp_stream(std::move(socket))};
  beast::flat_buffer buffer(BufferLimit(lim));
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

  bool first_request = true;
  while (s.keep_alive && !server.draining()) {
    // Idle keep-alive: wait for the first byte of the next request. A new connection gets no
    // more than header_timeout for its first byte: keepalive_timeout is for a client that has
    // been served, not for a socket opened and left silent. At the deadline the connection is
    // closed only if nothing has arrived by then (kCloseIfSilent): a request that came just
    // before it is served, not dropped with a reset.
    if (buffer.size() == 0) {
      t_idle.insert(&s.stream);
      s.dog.Arm(first_request ? std::min(lim.header_timeout, lim.keepalive_timeout)
                              : lim.keepalive_timeout,
                upstream::Watchdog::Action::kCloseIfSilent);
      auto [ec, n] = co_await s.stream.async_read_some(buffer.prepare(8192), kTuple);
      s.dog.Disarm();
      t_idle.erase(&s.stream);
      if (ec) break;  // closed, idle timeout or drain: nothing to answer
      buffer.commit(n);
    }
    // Empty lines before a request line are ignored, not refused as a bad method (Beast's
    // parser would): an extra CRLF after a POST body must not turn the next request into a 400.
    const auto bytes = buffer.data();
    buffer.consume(
        LeadingLineBreaks(std::string_view(static_cast<const char*>(bytes.data()), bytes.size())));
    if (buffer.size() == 0) continue;
    first_request = false;
    Parser parser;
    parser.header_limit(static_cast<uint32_t>(lim.max_header_bytes));
    parser.body_limit(static_cast<uint64_t>(lim.max_body_bytes));
    // A soft deadline, not a closing one: the client must still get its 408.
    s.dog.Arm(lim.header_timeout, upstream::Watchdog::Action::kCancel);
    auto [hec0, hn] = co_await http::async_read_header(s.stream, buffer, parser, kTuple);
    auto hec = FinishSoft(s.dog, hec0);
    if (hec) {
      std::optional<Error> e = HeadError(hec, parser, lim);
      Known known = KnownOf(parser, buffer, server.cors());
      if (e) co_await RefuseEarly(s, std::move(known), std::move(*e));
      break;
    }
    auto& req = parser.get();
    const unsigned version = req.version();
    s.keep_alive = req.keep_alive();
    // RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing (a 1.0
    // intermediary may not have understood it): answer it, then close, keep-alive or not.
    if (version < 11 && req.count(http::field::transfer_encoding) != 0) s.keep_alive = false;
    std::string path_storage;  // only for a path that needs normalising
    bool bad_escape = false;
    const std::string_view path = NormalPath(PathOf(req.target()), &path_storage, &bad_escape);
    const Route route = bad_escape ? Route::kNone : RouteOf(path);
    const dialect::Dialect dialect = DialectOf(path);
    const auto method = req.method();
    SessionWriter writer(s, version, method == http::verb::head);
    // CORS, when on: every answer below carries its fields, and an OPTIONS with an Origin and
    // an Access-Control-Request-Method to a known route is a preflight, answered here (never
    // the pipeline, the ledger or a key check: a preflight carries no credentials).
    const Cors& cors = server.cors();
    bool preflight = false;
    std::string_view origin;
    if (cors.enabled()) {
      origin = req[http::field::origin];
      writer.EnableCors(cors, origin);
      preflight = method == http::verb::options && route != Route::kNone && !origin.empty() &&
                  req.find(http::field::access_control_request_method) != req.end();
    }

    std::optional<Error> framing = FramingError(req);
    if (!framing) framing = HostError(req);
    if (std::optional<Error> e = std::move(framing)) {
      Known known = KnownOf(req, server.cors());
      co_await RefuseEarly(s, std::move(known), std::move(*e));
      break;
    }
    const bool get_or_head = method == http::verb::get || method == http::verb::head;
    const bool options = method == http::verb::options;
    // RFC 9112 3.2.4: the asterisk-form, about the server as a whole, only with OPTIONS.
    const bool server_options = options && req.target() == "*";
    const bool wrong_method =
        route != Route::kNone && !preflight && !options &&
        (AllowOf(route) == "POST" ? method != http::verb::post : !get_or_head);
    // RFC 9110 10.1.1: the expectation is case-insensitive, and an HTTP/1.0 request's is ignored
    // (a 1.0 client may not understand a 1xx answer).
    const bool expects_continue =
        version >= 11 && beast::iequals(req[http::field::expect], "100-continue");
    if (!parser.is_done() && expects_continue && (route == Route::kNone || wrong_method)) {
      // The answer (404 or 405) does not depend on the body: it goes out instead of a 100, the
      // body the client is holding back is never read, and the connection closes after it.
      s.keep_alive = false;
    } else if (!parser.is_done()) {
      if (expects_continue) {
        http::response<http::empty_body> cont{http::status::continue_, version};
        s.dog.Arm(kWriteTimeout);
        auto [cec, cn] = co_await http::async_write(s.stream, cont, kTuple);
        s.dog.Disarm();
        if (cec) break;
      }
      s.dog.Arm(lim.body_timeout, upstream::Watchdog::Action::kCancel);
      auto bec = FinishSoft(s.dog, co_await ReadBody(s.stream, buffer, parser));
      if (bec) {
        std::optional<Error> e = BodyError(bec, parser, lim);
        Known known = KnownOf(req, server.cors());
        if (e) co_await RefuseEarly(s, std::move(known), std::move(*e));
        break;
      }
    }

    server.busy_.fetch_add(1);
    std::optional<Error> encoded;
    if (method == http::verb::post) encoded = EncodingError(req);
    if (bad_escape) {
      Error e = Error::Make(ErrorKind::kInvalidRequest, "invalid_path",
                            "malformed percent-encoding in the request path (a '%' must be "
                            "followed by two hex digits)");
      co_await RespondError(writer, dialect, e);
    } else if (server_options) {
      co_await writer.RespondOptions(kServerAllow);
    } else if (route == Route::kNone) {
      Error e =
          Error::Make(ErrorKind::kNotFound, "not_found",
                      "no route for " + std::string(req.method_string()) + " " + std::string(path));
      co_await RespondError(writer, dialect, e);
    } else if (preflight && cors.Allows(origin)) {
      co_await writer.RespondNoContent(cors.PreflightFields(
          origin, AllowOf(route), req[http::field::access_control_request_headers]));
    } else if (preflight) {
      co_await RespondError(writer, dialect, CorsRefusal(origin));
    } else if (options) {
      // Not a preflight that CORS answers (CORS off, no Origin or no
      // Access-Control-Request-Method): what the path takes. Without CORS fields a browser still
      // refuses a cross-origin call.
      co_await writer.RespondOptions(AllowFieldOf(route));
    } else if (wrong_method) {
      // HEAD included: a POST-only route has nothing to describe.
      Error e = Error::Make(ErrorKind::kInvalidRequest, "method_not_allowed",
                            "use " + std::string(AllowOf(route)) + " for " + std::string(path));
      co_await RespondError(writer, dialect, e, 405, AllowFieldOf(route));
    } else if (encoded) {
      if (IsChat(route))
        co_await s.gateway.RefuseUnread(dialect, *encoded, writer);
      else
        co_await RespondError(writer, dialect, *encoded);
    } else if (IsChat(route)) {
      auto hook = std::make_shared<upstream::CancelHook>();
      auto active = std::make_shared<bool>(true);
      WatchDisconnect(s.stream.socket(), buffer, hook, active);
      {
        InFlight in_flight(hook.get(), &s.stream);
        if (route == Route::kMessages)
          co_await s.gateway.Messages(req.body(), writer, hook);
        else
          co_await s.gateway.ChatCompletions(req.body(), writer, hook);
      }
      *active = false;
      boost::system::error_code ignored;
      s.stream.socket().cancel(ignored);
      if (hook->fired()) s.keep_alive = false;
    } else if (route == Route::kCountTokens) {
      auto [status, body] = s.gateway.CountTokens(req.body());
      co_await writer.Respond(status, JsonType(), std::move(body));
    } else if (route == Route::kModels) {
      co_await writer.Respond(200, JsonType(), s.gateway.ModelsJson());
    } else if (route == Route::kHealthz) {
      co_await writer.Respond(200, JsonType(), R"({"status":"ok"})");
    } else if (route == Route::kReadyz) {
      co_await writer.Respond(server.draining() ? 503 : 200, JsonType(), ReadyBody(server));
    } else {  // Route::kMetrics
      co_await writer.Respond(200, PrometheusType(), MetricsBody(server));
    }
    server.busy_.fetch_sub(1);
  }
  // Lingering close: stop sending, then read and discard what the client may still be
  // sending for a short while, so an early error response is not destroyed by a TCP reset.
  // Bounded in bytes, in silence between reads and in total time: a client that keeps
  // trickling bytes must not hold the connection open. The byte bound is well above what
  // loopback socket buffers hold (several MiB): at 4 MiB, a client that had filled them
  // before this thread ran got the reset before it read the answer.
  boost::system::error_code ignored;
  s.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  size_t drained = 0;
  const auto sink = std::make_unique_for_overwrite<char[]>(kLingerReadSize);  // not zeroed
  const auto linger_end = std::chrono::steady_clock::now() + kLingerTotal;
  while (!ignored && drained < kLingerMaxBytes) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        linger_end - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    s.dog.Arm(std::min(left, kLingerIdle));
    auto [ec, n] =
        co_await s.stream.async_read_some(net::buffer(sink.get(), kLingerReadSize), kTuple);
    s.dog.Disarm();
    if (ec) break;
    drained += n;
  }
  s.stream.close();
}

}  // namespace triage::server
