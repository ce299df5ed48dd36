// libFuzzer target: the simdjson readers of the hot paths against nlohmann's tree readings
// they replaced (and fall back to): InspectOpenAIChunk vs InspectOpenAIChunkTree,
// InspectAnswer vs InspectAnswerTree in both dialects, InspectAnthropicEvent vs
// InspectAnthropicEventTree, ReadOpenAIChunk vs ReadOpenAIChunkTree and ReadAnthropicEvent vs
// ReadAnthropicEventTree, ReadAnswer vs ReadAnswerTree (the canonical answer of a translated
// non-streaming answer, in both dialects). Any difference in any field aborts. And
// AppendJsonString, which writes the translated frames, against nlohmann's dump() of the same
// bytes (with U+FFFD for invalid UTF-8); and WriteOpenAIResponse / WriteAnthropicResponse of
// every answer read against the trees of RenderOpenAIResponse / RenderAnthropicResponse. And
// ParseJsonBody (a request body through simdjson when it can) against ParseJsonBodyTree
// (nlohmann's parse): the same tree down to each value's type, or the same error.
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
#include "dialect/translate.h"

namespace {

[[noreturn]] void Differs(const char* what, size_t size) {
  std::fprintf(stderr, "%s differs from its tree reading on %zu bytes\n", what, size);
  std::abort();
}

bool SameJson(const nlohmann::json& a, const nlohmann::json& b) {
  return a == b && a.dump() == b.dump() && a.type() == b.type();
}

// a and b alike down to each value's nlohmann type (0 and -0 compare equal, but nlohmann keeps
// one unsigned and the other signed).
bool SameTree(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.type() != b.type() || a.size() != b.size()) return false;
  if (a.is_object()) {
    for (auto x = a.begin(), y = b.begin(); x != a.end(); ++x, ++y)
      if (x.key() != y.key() || !SameTree(*x, *y)) return false;
    return true;
  }
  if (a.is_array()) {
    for (size_t i = 0; i < a.size(); ++i)
      if (!SameTree(a[i], b[i])) return false;
    return true;
  }
  return a == b && a.dump() == b.dump();
}

void CheckParseJsonBody(std::string_view s, int max_depth) {
  auto fast = triage::dialect::ParseJsonBody(s, max_depth);
  auto tree = triage::dialect::ParseJsonBodyTree(s, max_depth);
  if (fast.ok() != tree.ok()) Differs("ParseJsonBody", s.size());
  if (fast.ok()
          ? !SameTree(*fast, *tree)
          : fast.error().code != tree.error().code || fast.error().message != tree.error().message)
    Differs("ParseJsonBody", s.size());
}

bool SameResponse(const triage::dialect::CanonicalResponse& a,
                  const triage::dialect::CanonicalResponse& b) {
  if (a.id != b.id || a.model != b.model || a.stop_reason != b.stop_reason ||
      a.stop_sequence != b.stop_sequence || !(a.usage == b.usage) ||
      a.content.size() != b.content.size())
    return false;
  for (size_t i = 0; i < a.content.size(); ++i) {
    const auto &x = a.content[i], &y = b.content[i];
    if (x.type != y.type || x.text != y.text || x.id != y.id || x.name != y.name ||
        !SameJson(x.input, y.input))
      return false;
  }
  return true;
}

bool SameReading(const triage::dialect::AnswerReading& a, const triage::dialect::AnswerReading& b) {
  if (!(a.info == b.info) || a.response.has_value() != b.response.has_value()) return false;
  if (!a.response) return true;
  const auto &x = *a.response, &y = *b.response;
  if (x.ok() != y.ok()) return false;
  if (!x.ok())
    return x.error().kind == y.error().kind && x.error().code == y.error().code &&
           x.error().message == y.error().message;
  return SameResponse(*x, *y);
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
  for (Dialect wire : {Dialect::kOpenAI, Dialect::kAnthropic}) {
    const AnswerReading read = ReadAnswer(wire, s);
    if (!SameReading(read, ReadAnswerTree(wire, s))) Differs("ReadAnswer", size);
    if (read.response && read.response->ok()) {
      const CanonicalResponse& r = **read.response;
      if (nlohmann::json::parse(WriteOpenAIResponse(r, 1)) != RenderOpenAIResponse(r, 1))
        Differs("WriteOpenAIResponse", size);
      if (nlohmann::json::parse(WriteAnthropicResponse(r)) != RenderAnthropicResponse(r))
        Differs("WriteAnthropicResponse", size);
    }
  }
  CheckParseJsonBody(s, 64);
  CheckParseJsonBody(s, 3);
  std::string written;
  AppendJsonString(written, s);
  if (written !=
      nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
    Differs("AppendJsonString", size);
  return 0;
}
