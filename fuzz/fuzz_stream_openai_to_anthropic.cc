// libFuzzer target: the OpenAI-upstream to Anthropic-client stream translator (see stream_fuzz.h).
#include "stream_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return FuzzStreamTranslator(triage::dialect::Dialect::kOpenAI,
                              triage::dialect::Dialect::kAnthropic, data, size);
}
