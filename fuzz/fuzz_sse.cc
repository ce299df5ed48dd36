// libFuzzer target: the incremental SSE parser, fed in pieces whose sizes come from the input.
// Differential: the same bytes fed at once give the same events (the parser keeps what a read
// cut off, and finds line ends with memchr from remembered positions), and every event framed
// again by SseFrame parses back to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "dialect/sse.h"

namespace {

using triage::dialect::SseEvent;
using triage::dialect::SseParser;

bool Same(const std::vector<SseEvent>& a, const std::vector<SseEvent>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].event != b[i].event || a[i].data != b[i].data) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = 1 + data[0] % 17;
  std::string_view s(reinterpret_cast<const char*>(data) + 1, size - 1);
  SseParser parser(4096);
  std::vector<SseEvent> events;
  bool ok = true;
  for (size_t i = 0; i < s.size() && ok; i += step) ok = parser.Feed(s.substr(i, step), events);
  SseParser whole(4096);
  std::vector<SseEvent> at_once;
  const bool whole_ok = whole.Feed(s, at_once);
  if (ok != whole_ok) std::abort();
  if (ok && (!Same(events, at_once) || parser.HasPartial() != whole.HasPartial())) std::abort();
  for (const auto& e : events) {
    // An event name holds no line end (it is read from one line): framed again, each event
    // reads back as itself.
    SseParser again;
    std::vector<SseEvent> back;
    if (!again.Feed(triage::dialect::SseFrame(e.data, e.event), back)) std::abort();
    if (back.size() != 1 || back[0].data != e.data || back[0].event != e.event) std::abort();
  }
  return 0;
}
