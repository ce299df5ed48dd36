// libFuzzer target: the OpenAI request parser, then every translation of what it accepts,
// and the upstream bodies written without a tree against the tree path (request_body_check.h).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dialect/openai.h"
#include "dialect/translate.h"
#include "request_body_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto req = triage::dialect::ParseOpenAIChat(body, 64);
  if (!req.ok()) {
    (void)triage::dialect::OpenAIErrorBody(req.error());
    return 0;
  }
  (void)triage::dialect::CheckTranslatable(*req, triage::dialect::Dialect::kAnthropic);
  std::vector<std::string> dropped;
  (void)triage::dialect::ToAnthropicRequest(*req, "m", &dropped).dump();
  (void)triage::dialect::ToOpenAIRequest(*req, "m", &dropped).dump();
  CheckRequestBodies(*req);
  (void)triage::dialect::EstimateTokens(*req);
  return 0;
}
