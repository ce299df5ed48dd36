// libFuzzer target: the four stream translators (OpenAI/Anthropic upstream x client), fed the
// SSE events parsed from the input, then asked to finish and to render an error.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "dialect/sse.h"
#include "dialect/stream_translate.h"

using triage::dialect::Dialect;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  triage::dialect::SseParser parser(1 << 16);
  std::vector<triage::dialect::SseEvent> events;
  parser.Feed(s, events);
  for (Dialect up : {Dialect::kOpenAI, Dialect::kAnthropic}) {
    for (Dialect client : {Dialect::kOpenAI, Dialect::kAnthropic}) {
      auto t = triage::dialect::MakeStreamTranslator(up, client, "m");
      for (const auto& e : events) {
        auto step = t->Feed(e);
        if (step.error) break;
      }
      (void)t->complete();
      (void)t->usage();
      (void)t->Finish(nlohmann::json::object(), size % 2 == 0, ": c\n\n");
      (void)t->ErrorFrame(triage::Error::Make(triage::ErrorKind::kUpstream, "x", "y"));
    }
  }
  return 0;
}
