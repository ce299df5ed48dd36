#include "server/wire.h"

#include <boost/beast/http/status.hpp>

#include "upstream/http_wire.h"

namespace triage::server {

std::string SerializeResponse(int status, unsigned version, bool keep_alive,
                              const pipeline::Headers& headers, std::string_view body) {
  upstream::FieldList fields = {{"Server", "triage"}};
  for (const auto& [k, v] : headers) upstream::SetField(fields, k, v);
  // What Beast's keep_alive() writes: HTTP/1.0 says keep-alive, HTTP/1.1 says close.
  if (version == 10 && keep_alive) fields.emplace_back("Connection", "keep-alive");
  if (version != 10 && !keep_alive) fields.emplace_back("Connection", "close");
  const auto reason =
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
  std::string start = version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  start += std::to_string(status);
  start += ' ';
  start.append(reason.data(), reason.size());
  return upstream::SerializeMessage(start, fields, body);
}

}  // namespace triage::server
