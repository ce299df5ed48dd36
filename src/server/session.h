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

}  // namespace triage::server
