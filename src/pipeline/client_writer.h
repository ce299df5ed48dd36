#pragma once
// How the pipeline talks to the client connection. Implemented by the server's session.
// All calls happen on the session's own thread; each returns false when the client is gone.
#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace triage::pipeline {

using Headers = std::vector<std::pair<std::string, std::string>>;

class ClientWriter {
 public:
  virtual ~ClientWriter() = default;
  // A complete response with a body.
  virtual boost::asio::awaitable<bool> Respond(int status, const Headers& headers,
                                               std::string body) = 0;
  // 200, text/event-stream, chunked, with the given headers and declared trailers.
  virtual boost::asio::awaitable<bool> BeginStream(const Headers& headers,
                                                   const std::vector<std::string>& trailers) = 0;
  virtual boost::asio::awaitable<bool> Write(std::string_view data) = 0;
  virtual boost::asio::awaitable<bool> EndStream(const Headers& trailers) = 0;
  // After a write returned false: true when the writer refused the bytes for their size (the
  // cascade's holder at limits.max_response_bytes), not because the client is gone. The
  // attempt then failed, as for an upstream answer too large.
  virtual bool RefusedForSize() const { return false; }
  // Forgets a begun stream that never reached the client (the cascade's holder) so that another
  // attempt may answer instead; false, the default, when what was written is out.
  virtual bool Rewind() { return false; }
};

}  // namespace triage::pipeline
