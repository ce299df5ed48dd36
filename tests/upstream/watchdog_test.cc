// Watchdog: a connection's deadline kept by one timer that is only moved earlier. Whatever the
// order of the deadlines set, the action happens at the last one set, never before it; Disarm
// and Stop keep it from happening; Stop and the destructor leave no work on the io_context.
#include "upstream/watchdog.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>
#include <thread>

namespace triage::upstream {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A connected loopback pair; `a` has a read pending that only the watchdog can end (`b` never
// writes).
struct Pair {
  net::io_context io;
  tcp::socket a{io}, b{io};
  char byte = 0;
  std::optional<boost::system::error_code> read_ec;
  Clock::time_point read_done{};
  Pair() {
    tcp::acceptor acc(io, tcp::endpoint(net::ip::address_v4::loopback(), 0));
    a.connect(acc.local_endpoint());
    b = acc.accept();
  }
  void Read() {
    a.async_read_some(net::buffer(&byte, 1), [this](boost::system::error_code ec, size_t) {
      read_ec = ec;
      read_done = Clock::now();
    });
  }
};

TEST(Watchdog, ALaterDeadlineSetWhileWaitingIsTheOneThatCounts) {
  Pair p;
  Watchdog dog(p.a);
  p.Read();
  dog.Arm(milliseconds(20));  // the timer waits for this one
  const auto later = Clock::now() + milliseconds(300);
  dog.ArmAt(later);  // not re-armed: it wakes at 20 ms and waits the rest
  p.io.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(p.read_ec.has_value());
  EXPECT_GE(p.read_done, later);
  EXPECT_TRUE(dog.fired());
  EXPECT_FALSE(p.a.is_open());  // kClose
}

TEST(Watchdog, AnEarlierDeadlineRearmsTheTimer) {
  Pair p;
  Watchdog dog(p.a);
  p.Read();
  const auto start = Clock::now();
  dog.Arm(std::chrono::hours(1));
  dog.Arm(milliseconds(50));
  p.io.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(p.read_ec.has_value()) << "still waiting for the first deadline";
  EXPECT_GE(p.read_done, start + milliseconds(50));
  EXPECT_TRUE(dog.fired());
}

TEST(Watchdog, CancelLeavesTheSocketOpen) {
  Pair p;
  Watchdog dog(p.a);
  p.Read();
  dog.Arm(milliseconds(20), Watchdog::Action::kCancel);
  p.io.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(p.read_ec.has_value());
  EXPECT_EQ(*p.read_ec, net::error::operation_aborted);
  EXPECT_TRUE(dog.Finish());
  EXPECT_TRUE(p.a.is_open());
}

TEST(Watchdog, DisarmedItDoesNothingAndAFreshArmCounts) {
  Pair p;
  Watchdog dog(p.a);
  p.Read();
  dog.Arm(milliseconds(20));
  dog.Disarm();
  p.io.run_for(milliseconds(200));  // well past the deadline that was disarmed
  EXPECT_FALSE(p.read_ec.has_value());
  EXPECT_FALSE(dog.fired());
  dog.Arm(milliseconds(20));
  p.io.run_for(std::chrono::seconds(10));
  EXPECT_TRUE(p.read_ec.has_value());
  EXPECT_TRUE(dog.fired());
}

TEST(Watchdog, StopAndTheDestructorLeaveNoWorkBehind) {
  Pair p;
  {
    Watchdog dog(p.a);
    dog.Arm(std::chrono::hours(1));
    dog.Stop();
    const auto start = Clock::now();
    p.io.restart();
    p.io.run();  // returns: nothing waits
    EXPECT_LT(Clock::now() - start, std::chrono::minutes(1));
    EXPECT_FALSE(dog.fired());
    dog.Arm(std::chrono::hours(1));
  }  // destroyed with its timer waiting
  p.io.restart();
  p.io.run();
  EXPECT_TRUE(p.a.is_open());
}

// A request that arrives after the deadline's timer fired but before its handler ran (queued
// first, behind other work on a busy thread) is not thrown away with the connection. Made
// deterministic: while the io_context is not running, the deadline passes and another socket
// becomes readable; on the next turn the reactor queues that socket's read before the timer's
// handler, and its callback (the "other work") makes the request arrive. Before kCloseIfSilent
// the handler closed the socket with the request unread: the read ended in operation_aborted
// and the client got a reset.
TEST(Watchdog, CloseIfSilentKeepsAConnectionWhoseRequestArrivedBeforeTheHandlerRan) {
  Pair p;
  tcp::socket c{p.io}, d{p.io};
  {
    tcp::acceptor acc(p.io, tcp::endpoint(net::ip::address_v4::loopback(), 0));
    c.connect(acc.local_endpoint());
    d = acc.accept();
  }
  Watchdog dog(p.a);
  p.Read();
  dog.Arm(milliseconds(20), Watchdog::Action::kCloseIfSilent);
  char other = 0;
  bool other_done = false;
  c.async_read_some(net::buffer(&other, 1), [&](boost::system::error_code, size_t) {
    other_done = true;
    net::write(p.b, net::buffer("G", 1));  // the request comes in, after the deadline
  });
  net::write(d, net::buffer("x", 1));
  std::this_thread::sleep_for(milliseconds(60));  // the deadline passes meanwhile
  p.io.run_for(std::chrono::seconds(2));
  ASSERT_TRUE(other_done);
  ASSERT_TRUE(p.read_ec.has_value());
  EXPECT_FALSE(*p.read_ec) << p.read_ec->message();
  EXPECT_EQ(p.byte, 'G');
  EXPECT_FALSE(dog.fired());
  EXPECT_TRUE(p.a.is_open());
}

TEST(Watchdog, CloseIfSilentClosesASilentConnection) {
  Pair p;
  Watchdog dog(p.a);
  p.Read();
  dog.Arm(milliseconds(20), Watchdog::Action::kCloseIfSilent);
  p.io.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(p.read_ec.has_value());
  EXPECT_TRUE(dog.fired());
  EXPECT_FALSE(p.a.is_open());
}

}  // namespace
}  // namespace triage::upstream
