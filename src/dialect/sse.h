#pragma once
// Server-Sent Events framing and incremental parsing (W3C EventSource rules: LF, CR or CRLF
// line ends; "data:" lines joined with "\n"; comments start with ':'; blank line ends an event;
// one byte-order mark at the start of the stream is ignored).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace triage::dialect {

struct SseEvent {
  std::string event;  // "" when no event: field
  std::string data;
};

// "event: E\n" (if E non-empty) + one "data: " line per line of `data` + "\n".
std::string SseFrame(std::string_view data, std::string_view event = {});

// Incremental parser. Not thread-safe; one per stream.
class SseParser {
 public:
  explicit SseParser(size_t max_event_bytes = 8 * 1024 * 1024) : max_(max_event_bytes) {}
  // Feeds bytes; appends completed events to `out`. Returns false (and stays failed) when an
  // event exceeds max_event_bytes.
  bool Feed(std::string_view bytes, std::vector<SseEvent>& out);
  bool failed() const { return failed_; }
  // True when bytes of an unfinished event are buffered (a stream ending now is truncated).
  bool HasPartial() const;

 private:
  size_t max_;
  bool failed_ = false;
  std::string line_;
  SseEvent cur_;
  bool cur_has_data_ = false;
  bool last_was_cr_ = false;
  // Bytes of a leading UTF-8 byte-order mark (EF BB BF) matched so far; 3 once the stream's
  // start is past (the mark skipped, or not there).
  int bom_ = 0;
};

}  // namespace triage::dialect
