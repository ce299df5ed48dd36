#pragma once
// A connection's deadline, kept by one steady_timer that is only ever moved earlier.
//
// Beast's tcp_stream arms a timer for each operation with an expiry (and cancels it after), and
// a timer that becomes the earliest of its io_context costs a timerfd_settime: about six per
// request at one connection between the session and the upstream client. A Watchdog instead
// records each new deadline; its timer, already waiting for an earlier or equal time, is left as
// it is, and when it fires before the recorded deadline it waits again for the rest. So a
// connection that moves its deadline forward request after request touches the timer once per
// timeout period, not once per operation. Only a deadline earlier than the time the timer waits
// for re-arms it.
//
// When the deadline passes, the socket is closed (kClose: the pending operations end and the
// connection is not used again, as tcp_stream's own expiry does) or its pending operations are
// cancelled (kCancel: the socket stays open, e.g. for a 408). kCloseIfSilent, for the wait for a
// request on an idle connection, closes it only if no byte is waiting to be read by then: the
// timer's handler can run after bytes arrived but before the pending read took them (it was
// queued first, behind other work of a busy thread), and closing then threw away a request that
// came in time (the client got a reset). Not for a write's deadline: a client that sends but does
// not read would never be cut. fired() tells the caller that the error its operation got was the
// deadline's. Single-threaded: use it on the socket's executor.
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>

namespace triage::upstream {

class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Action { kClose, kCancel, kCloseIfSilent };

  explicit Watchdog(boost::asio::ip::tcp::socket& socket) : s_(std::make_shared<State>(socket)) {}
  ~Watchdog() {
    s_->socket = nullptr;  // a wait still pending, or a handler already queued, does nothing
    s_->timer.cancel();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // From now on, `action` when `at` passes (replaces the deadline set before).
  void ArmAt(Clock::time_point at, Action action = Action::kClose) {
    s_->deadline = at;
    s_->action = action;
    s_->fired = false;
    if (s_->waiting && s_->waits_for <= at) return;  // wakes in time, then waits the rest
    Wait(s_, at);
  }
  void Arm(Clock::duration d, Action action = Action::kClose) { ArmAt(Clock::now() + d, action); }
  // No deadline (the timer may still wake once, and then does nothing).
  void Disarm() { s_->deadline = Clock::time_point::max(); }
  // Disarm(), and no wait left either: a waiting timer is work that keeps its io_context's run()
  // from returning, which an idle pooled connection must not do. The next Arm() waits anew.
  void Stop() {
    Disarm();
    if (!s_->waiting) return;
    s_->waiting = false;
    ++s_->generation;
    s_->timer.cancel();
  }
  // Disarm(), and whether the deadline had passed (its action done).
  bool Finish() {
    Disarm();
    return s_->fired;
  }
  bool fired() const { return s_->fired; }

 private:
  struct State {
    explicit State(boost::asio::ip::tcp::socket& sock)
        : socket(&sock), timer(sock.get_executor()) {}
    boost::asio::ip::tcp::socket* socket;  // null once the Watchdog is gone
    boost::asio::steady_timer timer;
    Clock::time_point deadline = Clock::time_point::max();
    Clock::time_point waits_for{};
    Action action = Action::kClose;
    bool waiting = false;
    bool fired = false;
    unsigned generation = 0;  // of the current wait; a replaced wait's handler is stale
  };

  // Whether the peer's bytes (or its end of stream) wait to be read: a reset or an error is not
  // a request, and a closed socket has nothing to wait for.
  static bool BytesWaiting(boost::asio::ip::tcp::socket& socket) {
    if (!socket.is_open()) return false;
    char c;
    return ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
  }

  static void Wait(const std::shared_ptr<State>& s, Clock::time_point at) {
    s->timer.expires_at(at);  // cancels a wait still pending: its handler sees a stale generation
    s->waiting = true;
    s->waits_for = at;
    const unsigned gen = ++s->generation;
    s->timer.async_wait([s, gen](const boost::system::error_code& ec) {
      if (gen != s->generation || s->socket == nullptr) return;
      s->waiting = false;
      if (ec || s->deadline == Clock::time_point::max()) return;
      if (Clock::now() < s->deadline) {  // moved on since: wait for the rest
        Wait(s, s->deadline);
        return;
      }
      s->deadline = Clock::time_point::max();
      if (s->action == Action::kCloseIfSilent && BytesWaiting(*s->socket))
        return;  // they came in time: the pending read takes them (this turn or the next)
      s->fired = true;
      boost::system::error_code ignored;
      if (s->action == Action::kCancel)
        s->socket->cancel(ignored);
      else
        s->socket->close(ignored);
    });
  }

  std::shared_ptr<State> s_;
};

}  // namespace triage::upstream
