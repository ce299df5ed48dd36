// libFuzzer target: the request parser the session reads client bytes with (Beast's, with
// RequestParser's field bound). Whatever comes in, fed in pieces as a socket delivers it, the
// parser returns an error code and never throws: Beast's fields container threw std::length_error
// for a header or trailer field over 65533 bytes, which ended the process.
#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The first byte picks the piece size, so heads and chunked bodies are split everywhere.
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 64;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  triage::server::RequestParser p;
  p.header_limit(1 << 20);
  p.body_limit(1 << 20);
  p.eager(true);
  size_t at = 0;
  std::string buf;
  try {
    while (!p.is_done()) {
      if (at >= in.size()) break;
      buf.append(in.substr(at, piece));
      at += piece;
      boost::beast::error_code ec;
      const size_t used = p.put(boost::asio::buffer(buf), ec);
      if (ec == boost::beast::http::error::need_more) {
        buf.erase(0, used);
        continue;
      }
      if (ec) break;
      buf.erase(0, used);
    }
  } catch (...) {
    std::abort();
  }
  return 0;
}
