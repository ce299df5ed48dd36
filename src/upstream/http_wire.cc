#include "upstream/http_wire.h"

#include <boost/beast/core/string.hpp>

namespace triage::upstream {

void SetField(FieldList& fields, std::string_view name, std::string_view value) {
  std::erase_if(fields, [&](const auto& f) { return boost::beast::iequals(f.first, name); });
  fields.emplace_back(name, value);
}

void AppendHead(std::string& out, std::string_view start_line, const FieldList& fields) {
  out.append(start_line);
  out += "\r\n";
  for (const auto& [k, v] : fields) {
    out.append(k);
    out += ": ";
    out.append(v);
    out += "\r\n";
  }
}

std::string SerializeMessage(std::string_view start_line, const FieldList& fields,
                             std::string_view body) {
  std::string out;
  size_t size = start_line.size() + body.size() + 40;
  for (const auto& [k, v] : fields) size += k.size() + v.size() + 4;
  out.reserve(size);
  AppendHead(out, start_line, fields);
  out += "Content-Length: ";
  out += std::to_string(body.size());
  out += "\r\n\r\n";
  out.append(body);
  return out;
}

std::string HostField(const Url& url) {
  const bool v6 = url.host.find(':') != std::string::npos;
  std::string h = v6 ? "[" + url.host + "]" : url.host;
  if (url.port != (url.tls ? "443" : "80")) h += ":" + url.port;
  return h;
}

std::string SerializeRequest(std::string_view method, std::string_view target,
                             std::string_view host,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             std::string_view body) {
  const bool post = method == "POST";
  FieldList fields = {{"Host", host}, {"User-Agent", "triage/" TRIAGE_VERSION}};
  if (post) fields.emplace_back("Content-Type", "application/json");
  for (const auto& [k, v] : headers) SetField(fields, k, v);
  std::string start(method);
  start += ' ';
  start.append(target);
  start += " HTTP/1.1";
  if (!body.empty() || post || method == "PUT" || method == "OPTIONS")
    return SerializeMessage(start, fields, body);
  std::string out;
  AppendHead(out, start, fields);
  out += "\r\n";
  return out;
}

}  // namespace triage::upstream
