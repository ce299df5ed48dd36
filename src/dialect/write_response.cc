// Non-streaming answers written straight into the client's body (translate.h): the same JSON
// values as RenderOpenAIResponse / RenderAnthropicResponse, without building their trees.
#include <algorithm>
#include <string>

#include "dialect/json_util.h"
#include "dialect/translate.h"

namespace triage::dialect {

namespace {

// `id` as a JSON string, with `prefix` put in front unless it is there already.
void AppendPrefixedId(std::string& out, const std::string& id, std::string_view prefix) {
  const size_t at = out.size();
  AppendJsonString(out, id);
  if (!id.starts_with(prefix)) out.insert(at + 1, prefix);
}

void AppendInt(std::string& out, int64_t v) { out += std::to_string(v); }

}  // namespace

std::string WriteOpenAIResponse(const CanonicalResponse& r, int64_t created) {
  std::string text;
  size_t calls = 0;
  for (const auto& b : r.content) {
    if (b.type == BlockType::kText) text += b.text;
    if (b.type == BlockType::kToolUse) ++calls;
  }
  std::string out;
  out.reserve(320 + r.id.size() + r.model.size() + text.size() + 96 * calls);
  out += R"({"id":)";
  AppendPrefixedId(out, r.id, "chatcmpl-");
  out += R"(,"object":"chat.completion","created":)";
  AppendInt(out, created);
  out += R"(,"model":)";
  AppendJsonString(out, r.model);
  out += R"(,"choices":[{"index":0,"message":{"role":"assistant","content":)";
  if (text.empty() && calls > 0) {
    out += "null";
  } else {
    AppendJsonString(out, text);
  }
  if (calls > 0) {
    out += R"(,"tool_calls":[)";
    bool first = true;
    for (const auto& b : r.content) {
      if (b.type != BlockType::kToolUse) continue;
      if (!first) out += ',';
      first = false;
      out += R"({"id":)";
      AppendJsonString(out, b.id);
      out += R"(,"type":"function","function":{"name":)";
      AppendJsonString(out, b.name);
      out += R"(,"arguments":)";
      AppendJsonString(out, b.input.dump());
      out += "}}";
    }
    out += ']';
  }
  out += R"(,"refusal":null},"logprobs":null,"finish_reason":)";
  AppendJsonString(out, OpenAIFinishReason(r.stop_reason.value_or(StopReason::kEndTurn)));
  out += R"(}],"usage":{"prompt_tokens":)";
  AppendInt(out, r.usage.input_tokens);
  out += R"(,"completion_tokens":)";
  AppendInt(out, r.usage.output_tokens);
  out += R"(,"total_tokens":)";
  AppendInt(out, r.usage.input_tokens + r.usage.output_tokens);
  out += R"(,"prompt_tokens_details":{"cached_tokens":)";
  AppendInt(out, r.usage.cached_input_tokens);
  out += "}}}";
  return out;
}

std::string WriteAnthropicResponse(const CanonicalResponse& r) {
  size_t bytes = 320 + r.id.size() + r.model.size() + r.stop_sequence.size();
  for (const auto& b : r.content) bytes += 48 + b.text.size() + b.id.size() + b.name.size();
  std::string out;
  out.reserve(bytes);
  out += R"({"id":)";
  AppendPrefixedId(out, r.id, "msg_");
  out += R"(,"type":"message","role":"assistant","model":)";
  AppendJsonString(out, r.model);
  out += R"(,"content":[)";
  bool first = true;
  for (const auto& b : r.content) {
    if (b.type != BlockType::kText && b.type != BlockType::kToolUse) continue;
    if (!first) out += ',';
    first = false;
    if (b.type == BlockType::kText) {
      out += R"({"type":"text","text":)";
      AppendJsonString(out, b.text);
      out += '}';
    } else {
      out += R"({"type":"tool_use","id":)";
      AppendPrefixedId(out, b.id, "toolu_");
      out += R"(,"name":)";
      AppendJsonString(out, b.name);
      out += R"(,"input":)";
      out += b.input.is_object() ? b.input.dump() : std::string("{}");
      out += '}';
    }
  }
  const StopReason stop = r.stop_reason.value_or(StopReason::kEndTurn);
  out += R"(],"stop_reason":)";
  AppendJsonString(out, AnthropicStopReason(stop));
  out += R"(,"stop_sequence":)";
  if (stop == StopReason::kStopSequence && !r.stop_sequence.empty()) {
    AppendJsonString(out, r.stop_sequence);
  } else {
    out += "null";
  }
  const TokenUsage& u = r.usage;
  out += R"(,"usage":{"input_tokens":)";
  AppendInt(out, std::max<int64_t>(
                     0, u.input_tokens - u.cached_input_tokens - u.cache_creation_input_tokens));
  out += R"(,"output_tokens":)";
  AppendInt(out, u.output_tokens);
  out += R"(,"cache_read_input_tokens":)";
  AppendInt(out, u.cached_input_tokens);
  out += R"(,"cache_creation_input_tokens":)";
  AppendInt(out, u.cache_creation_input_tokens);
  out += "}}";
  return out;
}

}  // namespace triage::dialect
