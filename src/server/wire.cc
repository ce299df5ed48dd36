#include "server/wire.h"

#include <boost/beast/http/status.hpp>
#include <cstdio>

#include "upstream/http_wire.h"

namespace triage::server {

namespace {

// What Beast's keep_alive() writes: HTTP/1.0 says keep-alive, HTTP/1.1 says close.
void KeepAliveField(unsigned version, bool keep_alive, upstream::FieldList& fields) {
  if (version == 10 && keep_alive) fields.emplace_back("Connection", "keep-alive");
  if (version != 10 && !keep_alive) fields.emplace_back("Connection", "close");
}

std::string StatusLine(unsigned version, int status) {
  const auto reason =
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
  std::string start = version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  start += std::to_string(status);
  start += ' ';
  start.append(reason.data(), reason.size());
  return start;
}

}  // namespace

std::string SerializeResponse(int status, unsigned version, bool keep_alive,
                              const pipeline::Headers& headers, std::string_view body) {
  upstream::FieldList fields = {{"Server", "triage"}};
  for (const auto& [k, v] : headers) upstream::SetField(fields, k, v);
  KeepAliveField(version, keep_alive, fields);
  const std::string start = StatusLine(version, status);
  return upstream::SerializeMessage(start, fields, body);
}

std::string SerializeHeadResponse(int status, unsigned version, bool keep_alive,
                                  const pipeline::Headers& headers, std::string_view body) {
  std::string wire = SerializeResponse(status, version, keep_alive, headers, body);
  wire.resize(wire.size() - body.size());  // the body is the last thing written
  return wire;
}

std::string SerializeNoContent(unsigned version, bool keep_alive,
                               const pipeline::Headers& headers) {
  upstream::FieldList fields = {{"Server", "triage"}};
  for (const auto& [k, v] : headers) upstream::SetField(fields, k, v);
  KeepAliveField(version, keep_alive, fields);
  std::string out;
  upstream::AppendHead(out, StatusLine(version, 204), fields);
  out += "\r\n";
  return out;
}

std::string SerializeCloseDelimitedHead(unsigned version, const pipeline::Headers& headers) {
  upstream::FieldList fields = {{"Server", "triage"}};
  for (const auto& [k, v] : headers) upstream::SetField(fields, k, v);
  fields.emplace_back("Connection", "close");
  std::string out;
  upstream::AppendHead(out, StatusLine(version, 200), fields);
  out += "\r\n";
  return out;
}

std::string SerializeStreamHead(unsigned version, bool keep_alive, const pipeline::Headers& headers,
                                const std::vector<std::string>& trailer_names) {
  upstream::FieldList fields = {{"Server", "triage"}};
  for (const auto& [k, v] : headers) upstream::SetField(fields, k, v);
  std::string names;
  for (const auto& n : trailer_names) names += (names.empty() ? "" : ", ") + n;
  if (!names.empty()) upstream::SetField(fields, "Trailer", names);
  KeepAliveField(version, keep_alive, fields);
  fields.emplace_back("Transfer-Encoding", "chunked");
  std::string out;
  upstream::AppendHead(out, StatusLine(version, 200), fields);
  out += "\r\n";
  return out;
}

void AppendChunk(std::string& out, std::string_view data) {
  char size[20];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  out.append(size, static_cast<size_t>(n));
  out.append(data);
  out += "\r\n";
}

void AppendLastChunk(std::string& out, const pipeline::Headers& trailers) {
  upstream::FieldList fields(trailers.begin(), trailers.end());
  upstream::AppendHead(out, "0", fields);  // "0" is the last chunk's size line
  out += "\r\n";
}

}  // namespace triage::server
