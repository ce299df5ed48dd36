#pragma once
// Helpers of the cascade: a ClientWriter that holds a response instead of sending it, and the
// answer text of a held response. Single-threaded, like every ClientWriter.
#include <cstdint>
#include <string>
#include <vector>

#include "dialect/types.h"
#include "pipeline/client_writer.h"

namespace triage::pipeline {

class HoldingWriter final : public ClientWriter {
 public:
  boost::asio::awaitable<bool> Respond(int status, const Headers& headers,
                                       std::string body) override;
  boost::asio::awaitable<bool> BeginStream(const Headers& headers,
                                           const std::vector<std::string>& trailers) override;
  boost::asio::awaitable<bool> Write(std::string_view data) override;
  boost::asio::awaitable<bool> EndStream(const Headers& trailers) override;
  // Sends what was held to `out`, with `headers` replacing the held ones. Returns false when
  // the client is gone.
  boost::asio::awaitable<bool> Release(ClientWriter& out, const Headers& headers,
                                       const Headers& trailers);

  int status = 0;
  bool streamed = false;
  bool ended = false;
  Headers headers;
  std::vector<std::string> declared_trailers;
  std::string body;  // the whole body, or every stream frame
  // A stream write that would make `body` larger than this is refused (Write returns false)
  // and sets too_big.
  size_t max_bytes = SIZE_MAX;
  bool too_big = false;
};

// The assistant text of a held answer (OpenAI or Anthropic, JSON or SSE frames), one per
// choice (OpenAI `n` > 1; at least one, possibly empty), and all of them joined.
std::vector<std::string> AnswerTexts(dialect::Dialect client, bool stream, const std::string& body);
std::string AnswerText(dialect::Dialect client, bool stream, const std::string& body);

}  // namespace triage::pipeline
