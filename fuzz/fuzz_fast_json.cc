// libFuzzer target: the simdjson readers of the hot paths against nlohmann's tree readings
// they replaced (and fall back to): InspectOpenAIChunk vs InspectOpenAIChunkTree,
// InspectAnswer vs InspectAnswerTree in both dialects, InspectAnthropicEvent vs
// InspectAnthropicEventTree, ReadOpenAIChunk vs ReadOpenAIChunkTree and ReadAnthropicEvent vs
// ReadAnthropicEventTree. Any difference in any field aborts. And AppendJsonString, which writes
// the translated frames, against nlohmann's dump() of the same bytes (with U+FFFD for invalid
// UTF-8).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "dialect/answer.h"
#include "dialect/json_util.h"
#include "dialect/openai.h"

namespace {

[[noreturn]] void Differs(const char* what, size_t size) {
  std::fprintf(stderr, "%s differs from its tree reading on %zu bytes\n", what, size);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace triage::dialect;
  std::string_view s(reinterpret_cast<const char*>(data), size);
  if (!(InspectOpenAIChunk(s) == InspectOpenAIChunkTree(s))) Differs("InspectOpenAIChunk", size);
  for (Dialect wire : {Dialect::kOpenAI, Dialect::kAnthropic})
    if (!(InspectAnswer(wire, s) == InspectAnswerTree(wire, s))) Differs("InspectAnswer", size);
  if (!(InspectAnthropicEvent(s) == InspectAnthropicEventTree(s)))
    Differs("InspectAnthropicEvent", size);
  if (!(ReadOpenAIChunk(s) == ReadOpenAIChunkTree(s))) Differs("ReadOpenAIChunk", size);
  if (!(ReadAnthropicEvent(s) == ReadAnthropicEventTree(s))) Differs("ReadAnthropicEvent", size);
  std::string written;
  AppendJsonString(written, s);
  if (written !=
      nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
    Differs("AppendJsonString", size);
  return 0;
}
