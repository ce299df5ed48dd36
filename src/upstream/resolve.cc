#include "upstream/resolve.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <unordered_map>

namespace triage::upstream {

using tcp = net::ip::tcp;

namespace {

std::mutex lookup_mu;
LookupFn lookup_override;  // guarded by lookup_mu

LookupFn CurrentLookup() {
  std::lock_guard lock(lookup_mu);
  if (lookup_override) return lookup_override;
  return SystemLookup;
}

Error Cancelled() {
  return Error::Make(ErrorKind::kUpstream, "cancelled", "upstream call cancelled");
}

// One lookup in flight for a host:port, shared by every Resolve of that name meanwhile (so a
// name whose DNS server does not answer ties up one thread, not one per new connection).
struct Flight {
  std::mutex mu;
  std::optional<Result<Endpoints>> result;  // guarded by mu
  std::vector<int> waiters;                 // write ends to signal when done; guarded by mu
};

// The flights in progress. Never destroyed: a lookup thread is detached, and one that hangs in
// getaddrinfo may land after exit() ran the static destructors (the gateway stopping while a
// DNS server does not answer), where it would lock a destroyed mutex and erase from a destroyed
// map (ThreadSanitizer reported that race at the exit of the unit tests, 2026-12-07).
struct Flights {
  std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<Flight>> by_key;  // guarded by mu
};
Flights& TheFlights() {
  static Flights* const flights = new Flights;
  return *flights;
}

// Ends a flight: later Resolves start a new one; every waiter gets the result and a byte on its
// socket (a waiter that gave up has closed its end: MSG_NOSIGNAL, nothing else to do).
void Land(const std::string& key, Flight& flight, Result<Endpoints> result) {
  {
    Flights& flights = TheFlights();
    std::lock_guard lock(flights.mu);
    flights.by_key.erase(key);
  }
  std::lock_guard lock(flight.mu);
  flight.result.emplace(std::move(result));
  for (int fd : flight.waiters) {
    const char byte = 1;
    [[maybe_unused]] auto sent = send(fd, &byte, 1, MSG_NOSIGNAL);
    close(fd);
  }
  flight.waiters.clear();
}

// The coroutine's side of the wait: the read end of the socket pair the lookup thread writes one
// byte to when it is done, and the timeout. Owned by the coroutine and the timer's handler.
struct Wait {
  Wait(const net::any_io_executor& ex, int fd) : done(ex, fd), timer(ex) {}
  net::posix::stream_descriptor done;
  net::steady_timer timer;
  bool timed_out = false;
};

}  // namespace

Result<Endpoints> SystemLookup(const std::string& host, const std::string& port) {
  addrinfo hints;
  std::memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &list);
  if (rc != 0)
    return Error::Make(ErrorKind::kUpstream, "upstream_error",
                       "upstream DNS resolution of " + host + " failed: " + gai_strerror(rc));
  Endpoints out;
  for (addrinfo* a = list; a; a = a->ai_next) {
    if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
        a->ai_addrlen > sizeof(sockaddr_in6))
      continue;
    tcp::endpoint ep;
    std::memcpy(ep.data(), a->ai_addr, a->ai_addrlen);
    ep.resize(a->ai_addrlen);
    out.push_back(ep);
  }
  freeaddrinfo(list);
  if (out.empty())
    return Error::Make(ErrorKind::kUpstream, "upstream_error",
                       "upstream DNS resolution of " + host + " failed: no address");
  return out;
}

void SetLookupForTesting(LookupFn fn) {
  std::lock_guard lock(lookup_mu);
  lookup_override = std::move(fn);
}

net::awaitable<Result<Endpoints>> Resolve(const std::string& host, const std::string& port,
                                          std::chrono::steady_clock::duration timeout,
                                          CancelHook* cancel) {
  if (cancel && cancel->fired()) co_return Cancelled();
  boost::system::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (!ec) {
    char* end = nullptr;
    const unsigned long n = std::strtoul(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || n > 65535)
      co_return Error::Make(ErrorKind::kUpstream, "upstream_error", "bad port '" + port + "'");
    Endpoints one;
    one.emplace_back(address, static_cast<unsigned short>(n));
    co_return one;
  }

  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    co_return Error::Make(ErrorKind::kUpstream, "upstream_error",
                          "DNS resolution of " + host + ": " + std::strerror(errno));
  const std::string key = host + "|" + port;
  std::shared_ptr<Flight> flight;
  bool start = false;
  {
    Flights& flights = TheFlights();
    std::lock_guard lock(flights.mu);
    auto& f = flights.by_key[key];
    if (!f) {
      f = std::make_shared<Flight>();
      start = true;
    }
    flight = f;
    std::lock_guard flight_lock(flight->mu);
    flight->waiters.push_back(fds[1]);
  }
  if (start) {
    try {
      std::thread([flight, key, lookup = CurrentLookup(), host, port] {
        Land(key, *flight, lookup(host, port));
      }).detach();
    } catch (const std::system_error& e) {
      Land(key, *flight,
           Error::Make(ErrorKind::kUpstream, "upstream_error",
                       "DNS resolution of " + host + ": " + e.what()));
    }
  }

  const net::any_io_executor ex = co_await net::this_coro::executor;
  auto wait = std::make_shared<Wait>(ex, fds[0]);
  wait->timer.expires_after(timeout);
  wait->timer.async_wait([wait](const boost::system::error_code& tec) {
    if (tec) return;  // cancelled: the lookup ended first
    wait->timed_out = true;
    boost::system::error_code ignored;
    wait->done.cancel(ignored);
  });
  // Weak: the hook may outlive this frame (and the io_context) without keeping io objects.
  if (cancel)
    cancel->Set([w = std::weak_ptr<Wait>(wait)] {
      if (auto s = w.lock()) {
        boost::system::error_code ignored;
        s->done.cancel(ignored);
      }
    });
  auto [wec] = co_await wait->done.async_wait(net::posix::stream_descriptor::wait_read,
                                              net::as_tuple(net::use_awaitable));
  if (cancel) cancel->Clear();
  wait->timer.cancel();
  if (cancel && cancel->fired()) co_return Cancelled();
  std::optional<Result<Endpoints>> r;
  {
    std::lock_guard lock(flight->mu);
    r = flight->result;  // a copy: other waiters read it too
  }
  if (r) co_return std::move(*r);  // done, even if the timer fired just after
  if (wait->timed_out)
    co_return Error::Make(ErrorKind::kUpstreamTimeout, "upstream_timeout",
                          "DNS resolution of " + host + " timed out");
  co_return Error::Make(ErrorKind::kUpstream, "upstream_error",
                        "DNS resolution of " + host + " failed: " + wec.message());
}

}  // namespace triage::upstream
