// libFuzzer target: the Anthropic request parser, then every translation of what it accepts,
// and the upstream bodies written without a tree against the tree path (request_body_check.h).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dialect/anthropic.h"
#include "dialect/translate.h"
#include "request_body_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto req = triage::dialect::ParseAnthropicMessages(body, 64, size % 2 == 0);
  if (!req.ok()) {
    (void)triage::dialect::AnthropicErrorBody(req.error());
    return 0;
  }
  std::vector<std::string> dropped;
  (void)triage::dialect::ToOpenAIRequest(*req, "m", &dropped).dump();
  (void)triage::dialect::ToAnthropicRequest(*req, "m", &dropped).dump();
  CheckRequestBodies(*req);
  (void)triage::dialect::EstimateTokens(*req);
  return 0;
}
