#pragma once
// A scripted loopback HTTP server for the upstream tests (blocking sockets on a thread).
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace triage::upstream {

namespace test_net = boost::asio;
using tcp = test_net::ip::tcp;

// Accepts connections one after another; for each request calls `script(socket, n)` where n
// counts requests overall. The script writes what it wants and returns true to keep the
// connection for the next request. Every request's bytes (head and Content-Length body) are
// kept for requests().
class ScriptedServer {
 public:
  using Script = std::function<bool(tcp::socket&, int)>;
  explicit ScriptedServer(Script script)
      : acceptor_(io_, tcp::endpoint(test_net::ip::make_address("127.0.0.1"), 0)),
        script_(std::move(script)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Loop(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    boost::system::error_code ec;
    tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int connections() const { return connections_; }
  std::vector<std::string> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void Loop() {
    int n = 0;
    while (!stop_) {
      tcp::socket s(io_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      if (ec || stop_) return;
      ++connections_;
      for (;;) {
        std::string buf;
        size_t hdr = test_net::read_until(s, test_net::dynamic_buffer(buf), "\r\n\r\n", ec);
        if (ec) break;
        size_t cl = 0;
        auto pos = buf.find("Content-Length: ");
        if (pos == std::string::npos) pos = buf.find("content-length: ");
        if (pos != std::string::npos) cl = std::stoul(buf.substr(pos + 16));
        while (buf.size() < hdr + cl) {
          char tmp[4096];
          size_t k = s.read_some(test_net::buffer(tmp), ec);
          if (ec) break;
          buf.append(tmp, k);
        }
        {
          std::lock_guard lock(mu_);
          requests_.push_back(buf);
        }
        if (!script_(s, n++)) break;
      }
    }
  }
  test_net::io_context io_;
  tcp::acceptor acceptor_;
  Script script_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;
  std::vector<std::string> requests_;  // guarded by mu_
  std::thread thread_;
};

inline void Send(tcp::socket& s, const std::string& bytes) {
  boost::system::error_code ec;
  test_net::write(s, test_net::buffer(bytes), ec);
}

}  // namespace triage::upstream
