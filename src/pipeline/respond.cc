#include "pipeline/respond.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "dialect/answer.h"
#include "dialect/openai.h"
#include "dialect/translate.h"

namespace triage::pipeline {

using dialect::Dialect;

Result<UnaryAnswer> ConvertUnary(Dialect wire, Dialect client, std::string upstream_body) {
  auto bad = [&](const std::string& why) {
    return Error::Make(ErrorKind::kUpstream, "upstream_bad_response",
                       "upstream sent a malformed answer: " + why);
  };
  const char* no_answer = wire == Dialect::kOpenAI ? "no choices" : "no content";
  UnaryAnswer a;
  if (wire == client) {  // passed through: read what accounting needs, build no tree
    dialect::AnswerInfo info = dialect::InspectAnswer(wire, upstream_body);
    if (!info.is_object) return bad("not a JSON object");
    if (!info.has_answer) return bad(no_answer);
    if (info.usage) {
      a.usage = *info.usage;
      a.usage_reported = true;
    }
    a.body = std::move(upstream_body);
    return a;
  }
  auto json = nlohmann::json::parse(upstream_body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return bad("not a JSON object");
  if (wire == Dialect::kOpenAI && !json.contains("choices")) return bad(no_answer);
  if (wire == Dialect::kAnthropic && !json.contains("content")) return bad(no_answer);
  auto usage = wire == Dialect::kOpenAI ? dialect::OpenAIResponseUsage(json)
                                        : dialect::AnthropicResponseUsage(json);
  if (usage.ok()) {
    a.usage = *usage;
    a.usage_reported = true;
  }
  auto canon = wire == Dialect::kOpenAI ? dialect::ParseOpenAIResponse(json)
                                        : dialect::ParseAnthropicResponse(json);
  if (!canon) return canon.error();
  if (client == Dialect::kOpenAI) {
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    a.body = dialect::RenderOpenAIResponse(*canon, now).dump();
  } else {
    a.body = dialect::RenderAnthropicResponse(*canon).dump();
  }
  return a;
}

}  // namespace triage::pipeline
