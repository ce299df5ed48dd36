#include "dialect/sse.h"

#include <algorithm>
#include <cstring>

namespace triage::dialect {
namespace {

// Finds the line ends (CR or LF) of one buffer, asked from non-decreasing positions. Each of the
// two characters is searched with memchr (vectorised in glibc), and where it was found (or that
// it does not occur again) is kept, so every byte is scanned at most once per character however
// the lines are cut: a buffer of CR-ended lines does not rescan the rest for an LF at each line.
// The byte-by-byte loop this replaced made the SSE parser and writer 13% of a passed-through
// stream's instructions.
class LineEnds {
 public:
  explicit LineEnds(std::string_view s) : s_(s) {}
  // The first CR or LF at or after `from`, or npos. REQUIRES: `from` <= size, and no smaller
  // than at the previous call.
  size_t Next(size_t from) {
    lf_ = Refresh(lf_, '\n', from);
    cr_ = Refresh(cr_, '\r', from);
    return std::min(lf_, cr_);
  }

 private:
  static constexpr size_t kNone = std::string_view::npos;
  static constexpr size_t kUnknown = kNone - 1;
  size_t Refresh(size_t known, char c, size_t from) const {
    if (known == kNone || (known != kUnknown && known >= from)) return known;
    if (from >= s_.size()) return kNone;
    const void* p = std::memchr(s_.data() + from, c, s_.size() - from);
    return p ? static_cast<size_t>(static_cast<const char*>(p) - s_.data()) : kNone;
  }
  std::string_view s_;
  size_t lf_ = kUnknown;
  size_t cr_ = kUnknown;
};

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
  LineEnds ends(data);
  size_t i = 0;
  while (true) {
    size_t e = ends.Next(i);
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
  LineEnds ends(bytes);
  while (i < bytes.size()) {
    if (last_was_cr_) {
      last_was_cr_ = false;
      if (bytes[i] == '\n') {  // second half of a CRLF split across two Feed calls
        ++i;
        continue;
      }
    }
    size_t e = ends.Next(i);
    size_t end = e == std::string_view::npos ? bytes.size() : e;
    if (line_.size() + cur_.data.size() + (end - i) > max_) {
      failed_ = true;
      return false;
    }
    if (e == std::string_view::npos) {  // a partial line: kept for the next read
      line_.append(bytes.substr(i, end - i));
      break;
    }
    // One complete line: read in place, unless it began in an earlier read.
    std::string_view line = bytes.substr(i, end - i);
    if (!line_.empty()) {
      line_.append(line);
      line = line_;
    }
    i = e + 1;
    if (bytes[e] == '\r') {
      if (i < bytes.size()) {
        if (bytes[i] == '\n') ++i;
      } else {
        last_was_cr_ = true;
      }
    }
    if (line.empty()) {
      if (cur_has_data_) out.push_back(std::move(cur_));
      cur_ = SseEvent{};
      cur_has_data_ = false;
      continue;
    }
    if (line[0] == ':') {  // comment, e.g. ": keep-alive"
      line_.clear();
      continue;
    }
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
