#include "dialect/sse.h"

namespace triage::dialect {
namespace {

// The first CR or LF at or after `from`, or npos. string_view::find_first_of calls memchr on
// the two-character set once per byte; this loop is what the SSE paths need per byte.
size_t FindLineEnd(std::string_view s, size_t from) {
  for (size_t i = from; i < s.size(); ++i) {
    if (s[i] == '\n' || s[i] == '\r') return i;
  }
  return std::string_view::npos;
}

}  // namespace

std::string SseFrame(std::string_view data, std::string_view event) {
  std::string out;
  out.reserve(data.size() + event.size() + 16);
  if (!event.empty()) {
    out += "event: ";
    out += event;
    out += '\n';
  }
  // Every line of the payload needs its own "data:" prefix or a CR/LF inside it would end
  // the field early on the client.
  size_t i = 0;
  while (true) {
    size_t e = FindLineEnd(data, i);
    out += "data: ";
    out.append(data.substr(i, e == std::string_view::npos ? std::string_view::npos : e - i));
    out += '\n';
    if (e == std::string_view::npos) break;
    i = e + 1;
    if (data[e] == '\r' && i < data.size() && data[i] == '\n') ++i;
  }
  out += '\n';
  return out;
}

bool SseParser::HasPartial() const {
  return !line_.empty() || cur_has_data_ || !cur_.event.empty() || (bom_ > 0 && bom_ < 3);
}

bool SseParser::Feed(std::string_view bytes, std::vector<SseEvent>& out) {
  if (failed_) return false;
  size_t i = 0;
  // The spec's one leading U+FEFF (some servers write their text streams with a BOM): left in,
  // it would make the first field name unknown and lose the first event. It may come split.
  static constexpr char kBom[] = "\xEF\xBB\xBF";
  while (bom_ < 3 && i < bytes.size()) {
    if (bytes[i] == kBom[bom_]) {
      ++bom_;
      ++i;
    } else {
      line_.append(kBom, bom_);  // a prefix of the mark that was not one: those bytes are data
      bom_ = 3;
    }
  }
  while (i < bytes.size()) {
    if (last_was_cr_) {
      last_was_cr_ = false;
      if (bytes[i] == '\n') {  // second half of a CRLF split across two Feed calls
        ++i;
        continue;
      }
    }
    size_t e = FindLineEnd(bytes, i);
    size_t end = e == std::string_view::npos ? bytes.size() : e;
    if (line_.size() + cur_.data.size() + (end - i) > max_) {
      failed_ = true;
      return false;
    }
    line_.append(bytes.substr(i, end - i));
    if (e == std::string_view::npos) break;
    i = e + 1;
    if (bytes[e] == '\r') {
      if (i < bytes.size()) {
        if (bytes[i] == '\n') ++i;
      } else {
        last_was_cr_ = true;
      }
    }
    // One complete line in line_.
    if (line_.empty()) {
      if (cur_has_data_) out.push_back(std::move(cur_));
      cur_ = SseEvent{};
      cur_has_data_ = false;
      continue;
    }
    if (line_[0] == ':') {  // comment, e.g. ": keep-alive"
      line_.clear();
      continue;
    }
    std::string_view line = line_;
    std::string_view field = line, value;
    if (size_t c = line.find(':'); c != std::string_view::npos) {
      field = line.substr(0, c);
      value = line.substr(c + 1);
      if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    }
    if (field == "data") {
      if (cur_has_data_) cur_.data += '\n';
      cur_.data.append(value);
      cur_has_data_ = true;
    } else if (field == "event") {
      cur_.event.assign(value);
    }  // id and retry do not matter to a proxy; unknown fields are ignored per the spec.
    line_.clear();
  }
  return true;
}

}  // namespace triage::dialect
