// libFuzzer target: the incremental SSE parser, fed in pieces whose sizes come from the input.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "dialect/sse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = 1 + data[0] % 17;
  std::string_view s(reinterpret_cast<const char*>(data) + 1, size - 1);
  triage::dialect::SseParser parser(4096);
  std::vector<triage::dialect::SseEvent> events;
  for (size_t i = 0; i < s.size(); i += step) {
    if (!parser.Feed(s.substr(i, step), events)) break;
  }
  (void)parser.HasPartial();
  for (const auto& e : events) (void)triage::dialect::SseFrame(e.data, e.event);
  return 0;
}
