#pragma once
// Shared body of the four stream-translator fuzz targets: the input is parsed as an SSE
// transcript and every event is fed to one translator, which is then finished and asked for an
// error frame. Any exception, crash or leak is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "dialect/sse.h"
#include "dialect/stream_translate.h"

inline int FuzzStreamTranslator(triage::dialect::Dialect up, triage::dialect::Dialect client,
                                const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  triage::dialect::SseParser parser(1 << 16);
  std::vector<triage::dialect::SseEvent> events;
  parser.Feed(s, events);
  auto t = triage::dialect::MakeStreamTranslator(up, client, "m");
  for (const auto& e : events) {
    // The gateway stops at the first error; keep going half the time to reach odd states too.
    if (t->Feed(e).error && size % 2 == 0) break;
  }
  (void)t->complete();
  (void)t->usage();
  (void)t->Finish(nlohmann::json{{"tier", "mid"}}, size % 3 != 0, ": c\n\n");
  (void)t->ErrorFrame(triage::Error::Make(triage::ErrorKind::kUpstream, "x", "y"));
  return 0;
}
