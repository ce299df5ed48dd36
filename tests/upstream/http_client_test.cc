// HttpClient against a scripted loopback server (blocking sockets on a thread).
#include "upstream/http_client.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <thread>

#include "scripted_server.h"

namespace triage::upstream {
namespace {

using Clock = std::chrono::steady_clock;

std::string JsonResponse(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

struct Collected {
  Status status = Ok{};
  int code = 0;
  std::string body;
  std::vector<Clock::time_point> data_times;
};

// The io_context outlives the client (declared first): pooled sockets belong to it.
net::io_context io;

// Runs one Send on this thread.
Exchange ChatExchange() {
  Exchange ex;
  ex.target = "/v1/chat/completions";
  ex.body = "{}";
  return ex;
}

Collected Call(HttpClient& client, uint16_t port, config::Timeouts t = {},
               std::function<void(CancelHook&, net::io_context&)> arm = nullptr,
               Exchange ex = ChatExchange(),
               std::chrono::milliseconds sink_delay = std::chrono::milliseconds(0)) {
  io.restart();
  Collected c;
  CancelHook hook;
  if (arm) arm(hook, io);
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        Url url{false, "127.0.0.1", std::to_string(port), "/v1"};
        Sink sink;
        sink.on_head = [&](const Head& h) -> net::awaitable<bool> {
          c.code = h.status;
          co_return true;
        };
        sink.on_data = [&](std::string_view d) -> net::awaitable<bool> {
          c.body.append(d);
          c.data_times.push_back(Clock::now());
          if (sink_delay.count() > 0) {  // a slow client taking what was already read
            net::steady_timer slow(co_await net::this_coro::executor, sink_delay);
            co_await slow.async_wait(net::use_awaitable);
          }
          co_return true;
        };
        c.status = co_await client.Send(url, nullptr, ex, t, sink, &hook);
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  return c;
}

TEST(HttpClient, ContentLengthResponseAndConnectionReuse) {
  ScriptedServer server([](tcp::socket& s, int) {
    Send(s, JsonResponse(R"({"ok":true})"));
    return true;
  });
  HttpClient client;
  Collected a = Call(client, server.port());
  ASSERT_TRUE(a.status.ok()) << a.status.error().message;
  EXPECT_EQ(a.code, 200);
  EXPECT_EQ(a.body, R"({"ok":true})");
  EXPECT_EQ(client.idle_connections(), 1u);
  Collected b = Call(client, server.port());
  ASSERT_TRUE(b.status.ok());
  EXPECT_EQ(server.connections(), 1);  // the pooled connection was reused
}

// The server closes each io thread's pool before it destroys the io_contexts: the main thread's
// thread_local client outlives them, and destroying its pooled connections after them was a
// heap-use-after-free at exit (AddressSanitizer). The use-after-free itself shows only under
// TRIAGE_SANITIZE=ON; this checks what the fix relies on.
TEST(HttpClient, CloseIdleClosesThePooledConnections) {
  ScriptedServer server([](tcp::socket& s, int) {
    Send(s, JsonResponse(R"({"ok":true})"));
    return true;
  });
  HttpClient client;
  ASSERT_TRUE(Call(client, server.port()).status.ok());
  EXPECT_EQ(client.idle_connections(), 1u);
  client.CloseIdle();
  EXPECT_EQ(client.idle_connections(), 0u);
  ASSERT_TRUE(Call(client, server.port()).status.ok());
  EXPECT_EQ(server.connections(), 2);  // a new connection: the pooled one was closed
}

TEST(HttpClient, GetHasNoBodyAndTheConnectionIsReused) {
  ScriptedServer server([](tcp::socket& s, int) {
    Send(s, JsonResponse(R"({"data":[]})"));
    return true;
  });
  HttpClient client;
  Exchange get;
  get.method = "GET";
  get.target = "/v1/models";
  get.headers.emplace_back("authorization", "Bearer k");
  Collected a = Call(client, server.port(), {}, nullptr, get);
  ASSERT_TRUE(a.status.ok()) << a.status.error().message;
  EXPECT_EQ(a.code, 200);
  EXPECT_EQ(a.body, R"({"data":[]})");
  // A POST on the same connection is framed correctly after the GET.
  Collected b = Call(client, server.port());
  ASSERT_TRUE(b.status.ok()) << b.status.error().message;
  EXPECT_EQ(server.connections(), 1);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].rfind("GET /v1/models HTTP/1.1\r\n", 0), 0u) << reqs[0];
  EXPECT_EQ(reqs[0].find("Content-Length"), std::string::npos) << reqs[0];
  EXPECT_EQ(reqs[0].find("Content-Type"), std::string::npos) << reqs[0];
  EXPECT_NE(reqs[0].find("\r\nauthorization: Bearer k\r\n"), std::string::npos) << reqs[0];
  EXPECT_EQ(reqs[0].substr(reqs[0].size() - 4), "\r\n\r\n");  // nothing after the head
  EXPECT_EQ(reqs[1].rfind("POST /v1/chat/completions HTTP/1.1\r\n", 0), 0u) << reqs[1];
  EXPECT_NE(reqs[1].find("Content-Length: 2\r\n"), std::string::npos) << reqs[1];
}

TEST(HttpClient, ChunkedStreamArrivesIncrementally) {
  ScriptedServer server([](tcp::socket& s, int) {
    Send(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    Send(s, "6\r\ndata: \r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    Send(s, "3\r\nabc\r\n0\r\n\r\n");
    return true;
  });
  HttpClient client;
  Collected c = Call(client, server.port());
  ASSERT_TRUE(c.status.ok()) << c.status.error().message;
  EXPECT_EQ(c.body, "data: abc");
  ASSERT_GE(c.data_times.size(), 2u);
  // The first piece was delivered before the server sent the second one.
  EXPECT_GE(c.data_times.back() - c.data_times.front(), std::chrono::milliseconds(200));
}

// The idle timeout is the upstream's silence while a read waits, not the time the sink takes with
// what was read: a slow client (the sink) holds no read pending. Regression: the connection's
// deadline stayed armed while the sink ran, so a sink slower than idle_ms had the socket closed
// under it ("upstream response body read failed: Bad file descriptor").
TEST(HttpClient, ASlowSinkIsNotAnIdleUpstream) {
  // The client reads each piece, then its sink takes 500 ms; a read waits at most 200 ms for
  // the next piece (< idle 400 ms), but the sink's time after the second piece ends past the
  // deadline of the read that got it.
  ScriptedServer server([](tcp::socket& s, int) {
    Send(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    Send(s, "2\r\nab\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    Send(s, "2\r\ncd\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    Send(s, "2\r\nef\r\n0\r\n\r\n");
    return true;
  });
  HttpClient client;
  config::Timeouts t;
  t.idle = std::chrono::milliseconds(400);
  Collected c =
      Call(client, server.port(), t, nullptr, ChatExchange(), std::chrono::milliseconds(500));
  ASSERT_TRUE(c.status.ok()) << c.status.error().message;
  EXPECT_EQ(c.body, "abcdef");
  EXPECT_EQ(c.data_times.size(), 3u);
}

TEST(HttpClient, FirstByteTimeout) {
  ScriptedServer server([](tcp::socket& s, int) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return false;
  });
  HttpClient client;
  config::Timeouts t;
  t.first_byte = std::chrono::milliseconds(200);
  auto start = Clock::now();
  Collected c = Call(client, server.port(), t);
  ASSERT_FALSE(c.status.ok());
  EXPECT_EQ(c.status.error().kind, ErrorKind::kUpstreamTimeout);
  EXPECT_NE(c.status.error().message.find("first_byte 200 ms"), std::string::npos);
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1400));
}

// Regression: once the response head had come, the first body bytes were waited for with
// idle_ms instead of first_byte_ms. Streaming servers (vLLM, OpenAI) send the head at once and
// the first event after the prompt is processed, so an upstream stuck before its first token was
// given idle_ms (30 s by default) rather than the first_byte_ms the operator set.
TEST(HttpClient, FirstByteTimeoutCoversTheFirstBodyBytes) {
  ScriptedServer server([](tcp::socket& s, int) {
    Send(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(3000));
    return false;
  });
  HttpClient client;
  config::Timeouts t;
  t.first_byte = std::chrono::milliseconds(200);
  t.idle = std::chrono::milliseconds(10000);
  Collected c = Call(client, server.port(), t);
  EXPECT_EQ(c.code, 200);
  ASSERT_FALSE(c.status.ok());
  EXPECT_EQ(c.status.error().kind, ErrorKind::kUpstreamTimeout);
  EXPECT_NE(c.status.error().message.find("first_byte 200 ms"), std::string::npos)
      << c.status.error().message;
}

// Once the first body bytes came, the gaps between reads are idle_ms again: a first_byte_ms
// shorter than the gaps between events does not cut a healthy stream.
TEST(HttpClient, AfterTheFirstBodyBytesIdleTimeoutApplies) {
  ScriptedServer server([](tcp::socket& s, int) {
    Send(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    Send(s, "3\r\nabc\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    Send(s, "3\r\ndef\r\n0\r\n\r\n");
    return true;
  });
  HttpClient client;
  config::Timeouts t;
  t.first_byte = std::chrono::milliseconds(1000);
  t.idle = std::chrono::milliseconds(5000);
  Collected c = Call(client, server.port(), t);
  ASSERT_TRUE(c.status.ok()) << c.status.error().message;
  EXPECT_EQ(c.body, "abcdef");
}

TEST(HttpClient, IdleTimeoutMidBody) {
  ScriptedServer server([](tcp::socket& s, int) {
    Send(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    Send(s, "3\r\nabc\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return false;
  });
  HttpClient client;
  config::Timeouts t;
  t.idle = std::chrono::milliseconds(200);
  Collected c = Call(client, server.port(), t);
  ASSERT_FALSE(c.status.ok());
  EXPECT_EQ(c.status.error().kind, ErrorKind::kUpstreamTimeout);
  EXPECT_EQ(c.body, "abc");
  EXPECT_EQ(client.idle_connections(), 0u);  // a failed connection is never pooled
}

TEST(HttpClient, TotalTimeoutCapsSlowDrip) {
  ScriptedServer server([](tcp::socket& s, int) {
    Send(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 30; ++i) {
      Send(s, "1\r\nx\r\n");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  });
  HttpClient client;
  config::Timeouts t;
  t.idle = std::chrono::milliseconds(500);
  t.total = std::chrono::milliseconds(400);
  Collected c = Call(client, server.port(), t);
  ASSERT_FALSE(c.status.ok());
  EXPECT_NE(c.status.error().message.find("total"), std::string::npos);
}

TEST(HttpClient, ConnectionRefused) {
  uint16_t port;
  {
    net::io_context io;
    tcp::acceptor a(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  HttpClient client;
  Collected c = Call(client, port);
  ASSERT_FALSE(c.status.ok());
  EXPECT_EQ(c.status.error().kind, ErrorKind::kUpstream);
  EXPECT_NE(c.status.error().message.find("connect"), std::string::npos);
}

TEST(HttpClient, StalePooledConnectionIsRetriedTransparently) {
  // The server answers without "Connection: close" but closes right after: the pooled
  // connection is dead when reused, and the client must reconnect instead of failing.
  ScriptedServer server([](tcp::socket& s, int) {
    Send(s, JsonResponse("{}"));
    return false;
  });
  HttpClient client;
  ASSERT_TRUE(Call(client, server.port()).status.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Collected c = Call(client, server.port());
  ASSERT_TRUE(c.status.ok()) << c.status.error().message;
  EXPECT_EQ(server.connections(), 2);
}

// Regression: when a reused pooled connection carried the request and the server then closed it
// without answering (it crashed, was OOM-killed, restarted), the request was sent again on a fresh
// connection: the upstream got (and may have run and billed) it twice for one counted attempt.
// Only a connection found closed before the request was written may be replaced silently.
TEST(HttpClient, RequestAReusedConnectionDeliveredIsNotSentAgain) {
  ScriptedServer server([](tcp::socket& s, int n) {
    if (n == 1) return false;  // read the request, then went away without answering
    Send(s, JsonResponse("{}"));
    return true;
  });
  HttpClient client;
  ASSERT_TRUE(Call(client, server.port()).status.ok());
  Collected c = Call(client, server.port());
  EXPECT_FALSE(c.status.ok());
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(HttpClient, CancelHookAbortsWaitingCall) {
  ScriptedServer server([](tcp::socket& s, int) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return false;
  });
  HttpClient client;
  auto start = Clock::now();
  std::unique_ptr<net::steady_timer> timer;
  Collected c = Call(client, server.port(), {}, [&](CancelHook& hook, net::io_context& io) {
    timer = std::make_unique<net::steady_timer>(io, std::chrono::milliseconds(100));
    timer->async_wait([&hook](auto) { hook.Fire(); });
  });
  ASSERT_FALSE(c.status.ok());
  EXPECT_EQ(c.status.error().code, "cancelled");
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1000));
}

}  // namespace
}  // namespace triage::upstream
