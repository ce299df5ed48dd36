#pragma once
// Name resolution for upstream connections, bounded in time and never shared. An IP literal is
// used as is (no lookup). A name is looked up with a blocking lookup (getaddrinfo) on a thread of
// its own, detached: the awaiting coroutine stops waiting at its timeout or when cancelled, and a
// lookup that is still running then finishes on its own and is discarded. Resolves of a name
// whose lookup is in flight wait for that lookup (one thread per name in flight, however many
// connections want it); results are not cached. Asio's resolver
// instead runs all lookups of an io_context one after another on one background thread and joins
// it when the io_context is destroyed, so one name whose DNS server did not answer held up every
// new upstream connection of that io thread (IP literals included), ignored the timeouts, and
// delayed the exit, each for as long as the system resolver retried (16 s with 2 x 4 s).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "upstream/http_client.h"

namespace triage::upstream {

using Endpoints = std::vector<net::ip::tcp::endpoint>;
// A blocking lookup of host:port. Runs on a thread of its own; must not touch io objects.
using LookupFn = std::function<Result<Endpoints>(const std::string& host, const std::string& port)>;

// Resolves host:port from an io_context thread. Errors: kUpstreamTimeout "upstream_timeout"
// when the lookup has not ended within `timeout`; kUpstream "cancelled" when `cancel` (may be
// null) fires, before or during the lookup; kUpstream "upstream_error" when the name does not
// resolve. `cancel`'s hook is set while waiting and cleared before returning.
net::awaitable<Result<Endpoints>> Resolve(const std::string& host, const std::string& port,
                                          std::chrono::steady_clock::duration timeout,
                                          CancelHook* cancel);

// getaddrinfo (AF_UNSPEC, SOCK_STREAM), the default lookup.
Result<Endpoints> SystemLookup(const std::string& host, const std::string& port);

// Tests: replaces the lookup used by later Resolve calls (nullptr: SystemLookup again).
// Thread-safe.
void SetLookupForTesting(LookupFn fn);

}  // namespace triage::upstream
