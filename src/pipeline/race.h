#pragma once
// Hedged requests (tiers[].hedge): the attempts racing for one turn of the plan, the first and
// at most one hedge. The first to produce its first token (a stream's first content, a
// non-streamed answer's 2xx head) answers: Claim cancels the other at once. Lives in the
// attempt loop's frame; both attempts run as coroutines on the request's io thread, so nothing
// here is shared across threads.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "upstream/http_client.h"

namespace triage::pipeline {

struct Race {
  static constexpr int kFirst = 0, kHedge = 1;
  // Each attempt's own cancel hook (the request's fires both).
  upstream::CancelHook hooks[2];
  int winner = -1;                     // the attempt whose first token came first; -1: none yet
  bool started[2] = {true, false};     // the hedge started
  bool running[2] = {false, false};    // the attempt has not returned to the race yet
  bool calling[2] = {false, false};    // its upstream call (and its billing) is not over
  bool abandoned[2] = {false, false};  // cancelled by the race (lost, or the request ended)
  bool closed = false;                 // the request is ending: no hedge starts any more
  bool hedge_failed = false;           // the first answered after the hedge had failed on its own
  bool first_done = false;             // the first returned to the race
  bool first_failed = false;           // the first ended without answering, the hedge went on alone
  boost::asio::steady_timer* delay = nullptr;    // the hedge's delay, while it runs
  boost::asio::steady_timer* settled = nullptr;  // woken when an attempt's call ends

  // Attempt `me` produced its first token: true when it answers (the first to), and the other
  // attempt (if running) is cancelled and the hedge delay cut short. False: the other answers.
  bool Claim(int me) {
    if (winner >= 0) return winner == me;
    winner = me;
    const int other = 1 - me;
    hedge_failed = me == kFirst && started[kHedge] && !calling[kHedge] && !abandoned[kHedge];
    if (calling[other]) {
      abandoned[other] = true;
      hooks[other].Fire();
    }
    if (delay) delay->cancel();
    return true;
  }
  bool Lost(int me) const { return abandoned[me] || (winner >= 0 && winner != me); }
  // Whose usage the request's own row carries when the client leaves: the winner, else the
  // first while it runs, else the hedge. The other one is billed as a cancelled loser.
  bool Main(int me) const {
    if (winner >= 0) return winner == me;
    return me == kFirst || first_failed;
  }
  // Attempt `me`'s call is over and what it cost is in the request.
  void CallEnded(int me) {
    calling[me] = false;
    if (settled) settled->cancel();
  }
  // Before the request's row is written (Gateway::Account): no hedge starts any more, an
  // attempt still calling its upstream is cancelled, and its bill is awaited so that it is in
  // the row. The caller is never itself calling (it accounts after its call returned).
  boost::asio::awaitable<void> Settle() {
    closed = true;
    if (delay) delay->cancel();
    for (int i = 0; i < 2; ++i)
      if (calling[i] && !abandoned[i]) {
        abandoned[i] = true;
        hooks[i].Fire();
      }
    while ((calling[0] || calling[1]) && settled) {
      settled->expires_at(boost::asio::steady_timer::time_point::max());
      co_await settled->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
  }
};

}  // namespace triage::pipeline
