#include "server/wire.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>
#include <vector>

namespace triage::server {

std::string SerializeResponse(int status, unsigned version, bool keep_alive,
                              const pipeline::Headers& headers, std::string_view body) {
  namespace beast = boost::beast;
  // `set` semantics: the last field of a name wins and sits where that last one was set.
  std::vector<const std::pair<std::string, std::string>*> fields;
  fields.reserve(headers.size());
  for (const auto& h : headers) {
    std::erase_if(fields, [&](const auto* f) { return beast::iequals(f->first, h.first); });
    fields.push_back(&h);
  }
  const auto reason = beast::http::obsolete_reason(static_cast<beast::http::status>(status));
  std::string out;
  out.reserve(128 + body.size() + 64 * fields.size());
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out.append(reason.data(), reason.size());
  out += "\r\nServer: triage\r\n";
  for (const auto* f : fields) {
    out += f->first;
    out += ": ";
    out += f->second;
    out += "\r\n";
  }
  if (version == 10 && keep_alive) out += "Connection: keep-alive\r\n";
  if (version != 10 && !keep_alive) out += "Connection: close\r\n";
  out += "Content-Length: ";
  out += std::to_string(body.size());
  out += "\r\n\r\n";
  out.append(body);
  return out;
}

}  // namespace triage::server
