#pragma once
// One client connection: reads requests with limits and timeouts, dispatches them, writes
// responses (plain or chunked SSE). Runs as a coroutine on its connection's thread.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace triage::server {

class Server;

boost::asio::awaitable<void> RunSession(Server& server, boost::asio::ip::tcp::socket socket);

// Asks every idle connection of the calling thread to close (drain). Thread: the io thread.
void CloseIdleSessionsOfThisThread();
// Cancels every chat request in flight on the calling thread as "shutting down": each still
// answers its client (503, or an error event on a stream that had begun) and writes its ledger
// row. Used when the shutdown grace period runs out. Thread: the io thread.
void CancelRequestsOfThisThread();
// Cancels the pending reads and writes on the client connections of every chat request still in
// flight on the calling thread: a client that stopped reading would otherwise hold its request's
// write (and its ledger row) until the 60 s write timeout, past the process's exit. Each such
// request then ends as if its client had left (its row says client_closed). Used a while after
// CancelRequestsOfThisThread, within the cancel window. Thread: the io thread.
void AbortClientWritesOfThisThread();

}  // namespace triage::server
