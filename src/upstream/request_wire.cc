#include "upstream/request_wire.h"

#include <boost/beast/core/string.hpp>

namespace triage::upstream {

std::string HostField(const Url& url) {
  const bool v6 = url.host.find(':') != std::string::npos;
  std::string h = v6 ? "[" + url.host + "]" : url.host;
  if (url.port != (url.tls ? "443" : "80")) h += ":" + url.port;
  return h;
}

std::string SerializePost(std::string_view target, std::string_view host,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          std::string_view body) {
  namespace beast = boost::beast;
  // The fixed fields first, then the caller's; `set` semantics: the last of a name wins, in the
  // place where it was set.
  std::vector<std::pair<std::string_view, std::string_view>> fields = {
      {"Host", host},
      {"User-Agent", "triage/" TRIAGE_VERSION},
      {"Content-Type", "application/json"}};
  fields.reserve(3 + headers.size());
  for (const auto& [k, v] : headers) {
    std::erase_if(fields, [&](const auto& f) { return beast::iequals(f.first, k); });
    fields.emplace_back(k, v);
  }
  std::string out;
  out.reserve(64 + target.size() + body.size() + 48 * fields.size());
  out += "POST ";
  out.append(target);
  out += " HTTP/1.1\r\n";
  for (const auto& [k, v] : fields) {
    out.append(k);
    out += ": ";
    out.append(v);
    out += "\r\n";
  }
  out += "Content-Length: ";
  out += std::to_string(body.size());
  out += "\r\n\r\n";
  out.append(body);
  return out;
}

}  // namespace triage::upstream
