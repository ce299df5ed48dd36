#pragma once
// A ClientWriter for in-process pipeline tests: records status, headers, body (or stream
// frames) and trailers instead of writing to a socket. `fail_writes` simulates a client that
// went away mid-stream.
#include <string>
#include <vector>

#include "pipeline/client_writer.h"

namespace triage::pipeline {

class RecordingWriter final : public ClientWriter {
 public:
  boost::asio::awaitable<bool> Respond(int s, const Headers& h, std::string b) override {
    status = s;
    headers = h;
    body = std::move(b);
    co_return true;
  }
  boost::asio::awaitable<bool> BeginStream(const Headers& h,
                                           const std::vector<std::string>&) override {
    status = 200;
    headers = h;
    streamed = true;
    co_return true;
  }
  boost::asio::awaitable<bool> Write(std::string_view d) override {
    body.append(d);
    ++writes;
    co_return !fail_writes;
  }
  boost::asio::awaitable<bool> EndStream(const Headers& t) override {
    trailers = t;
    ended = true;
    co_return true;
  }
  std::string Header(const std::string& name) const {
    for (auto& [k, v] : headers)
      if (k == name) return v;
    return "";
  }
  int status = 0;
  Headers headers, trailers;
  std::string body;
  bool streamed = false, ended = false, fail_writes = false;
  int writes = 0;
};

}  // namespace triage::pipeline
