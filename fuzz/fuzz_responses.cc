// libFuzzer target: non-streaming response parsing of both dialects and rendering both ways.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dialect/json_util.h"
#include "dialect/openai.h"
#include "dialect/translate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  // The gateway refuses a deeper answer before reading it (ConvertUnary): rendering and dump()
  // recurse once per level.
  if (triage::dialect::AnswerTooDeep(body)) return 0;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return 0;
  for (bool openai : {true, false}) {
    auto r = openai ? triage::dialect::ParseOpenAIResponse(j)
                    : triage::dialect::ParseAnthropicResponse(j);
    if (!r.ok()) continue;
    (void)triage::dialect::RenderOpenAIResponse(*r, 1).dump();
    (void)triage::dialect::RenderAnthropicResponse(*r).dump();
  }
  (void)triage::dialect::OpenAIResponseUsage(j);
  (void)triage::dialect::AnthropicResponseUsage(j);
  return 0;
}
