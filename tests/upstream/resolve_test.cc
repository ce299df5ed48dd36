// Upstream name resolution: IP literals need no lookup; a lookup that hangs (a DNS server that
// does not answer) ends at the timeout or when cancelled, holds up neither other lookups on the
// same io_context nor that io_context's destruction.
#include "upstream/resolve.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

namespace triage::upstream {
namespace {

using std::chrono::milliseconds;

// A lookup that blocks for the names starting with "hang" until the test ends, answers 127.0.0.1
// for the others, and counts its calls. Installed for the test's lifetime; its state is shared with
// the lookup threads, which may outlive the test.
class FakeDns {
 public:
  FakeDns() : s_(std::make_shared<State>()) {
    SetLookupForTesting([s = s_](const std::string& host, const std::string& port) {
      ++s->calls;
      if (host.starts_with("hang")) {
        std::unique_lock lock(s->mu);
        s->cv.wait(lock, [&] { return s->released; });
      }
      Endpoints e;
      e.emplace_back(net::ip::make_address("127.0.0.1"),
                     static_cast<unsigned short>(std::stoi(port)));
      return Result<Endpoints>(e);
    });
  }
  ~FakeDns() {
    SetLookupForTesting(nullptr);
    std::lock_guard lock(s_->mu);
    s_->released = true;
    s_->cv.notify_all();
  }
  int calls() const { return s_->calls.load(); }

 private:
  struct State {
    std::atomic<int> calls{0};
    std::mutex mu;
    std::condition_variable cv;
    bool released = false;
  };
  std::shared_ptr<State> s_;
};

// Runs one Resolve on `io` to completion.
Result<Endpoints> RunResolve(const std::string& host, milliseconds timeout,
                             CancelHook* cancel = nullptr) {
  net::io_context io;
  std::optional<Result<Endpoints>> out;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        out.emplace(co_await Resolve(host, "8080", timeout, cancel));
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  return std::move(*out);
}

TEST(Resolve, IpLiteralsNeedNoLookup) {
  FakeDns dns;
  auto v4 = RunResolve("127.0.0.1", milliseconds(1000));
  ASSERT_TRUE(v4.ok()) << v4.error().message;
  ASSERT_EQ(v4->size(), 1u);
  EXPECT_EQ((*v4)[0].port(), 8080);
  auto v6 = RunResolve("::1", milliseconds(1000));
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_TRUE((*v6)[0].address().is_v6());
  EXPECT_EQ(dns.calls(), 0);
}

TEST(Resolve, NamesGoThroughTheLookup) {
  FakeDns dns;
  auto r = RunResolve("model-server.test", milliseconds(10000));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)[0].address().to_string(), "127.0.0.1");
  EXPECT_EQ(dns.calls(), 1);
}

TEST(Resolve, SystemLookupResolvesLocalhostAndReportsUnknownNames) {
  auto r = SystemLookup("localhost", "80");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->empty());
  auto bad = SystemLookup("name-that-does-not-exist.invalid", "80");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::kUpstream);
  EXPECT_NE(bad.error().message.find("DNS resolution of name-that-does-not-exist.invalid failed"),
            std::string::npos)
      << bad.error().message;
}

TEST(Resolve, AHangingLookupEndsAtTheTimeout) {
  FakeDns dns;
  auto r = RunResolve("hang-timeout.test", milliseconds(50));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kUpstreamTimeout);
  EXPECT_EQ(r.error().message, "DNS resolution of hang-timeout.test timed out");
  // The io_context that waited has been destroyed (RunResolve returned) with the lookup still
  // running: nothing joined it.
}

// Asio's resolver ran one io_context's lookups one after another on one thread: a name whose
// DNS server did not answer held up every other connection's lookup behind it.
TEST(Resolve, AHangingLookupDoesNotHoldUpOthersAndIsCancelled) {
  FakeDns dns;
  net::io_context io;
  CancelHook cancel;
  std::optional<Result<Endpoints>> hung, other;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        hung.emplace(co_await Resolve("hang-cancel.test", "80", std::chrono::hours(1), &cancel));
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        other.emplace(co_await Resolve("other.test", "80", std::chrono::hours(1), nullptr));
        EXPECT_FALSE(hung.has_value()) << "the hanging lookup is still going on";
        cancel.Fire();  // e.g. the client went away, or the health checks stop
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  ASSERT_TRUE(other.has_value());
  EXPECT_TRUE(other->ok());
  ASSERT_TRUE(hung.has_value());
  ASSERT_FALSE(hung->ok());
  EXPECT_EQ(hung->error().code, "cancelled");
}

// New connections to a name whose DNS server does not answer share the lookup in flight: one
// thread, not one per connection.
TEST(Resolve, ResolvesOfANameInFlightShareItsLookup) {
  FakeDns dns;
  net::io_context io;
  std::vector<std::optional<Result<Endpoints>>> out(5);
  for (auto& o : out)
    net::co_spawn(
        io,
        [&o]() -> net::awaitable<void> {
          o.emplace(co_await Resolve("hang-shared.test", "80", milliseconds(100), nullptr));
        },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
  io.run();
  for (auto& o : out) {
    ASSERT_TRUE(o.has_value());
    ASSERT_FALSE(o->ok());
    EXPECT_EQ(o->error().kind, ErrorKind::kUpstreamTimeout);
  }
  // The lookup thread may start late on a loaded machine: wait for it, and a little for others.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (dns.calls() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(10));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(dns.calls(), 1);
}

TEST(Resolve, AlreadyCancelledDoesNotLookUp) {
  FakeDns dns;
  CancelHook cancel;
  cancel.Fire();
  auto r = RunResolve("model-server.test", milliseconds(1000), &cancel);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "cancelled");
  EXPECT_EQ(dns.calls(), 0);
}

}  // namespace
}  // namespace triage::upstream
