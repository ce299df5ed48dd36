// Non-streaming response translation and usage conversions (translate.h).
#include <nlohmann/json.hpp>

#include "dialect/fast_json.h"
#include "dialect/json_util.h"
#include "dialect/openai.h"
#include "dialect/translate.h"

namespace triage::dialect {

using json = nlohmann::json;

namespace {

Error BadUpstream(const std::string& why) {
  return Error::Make(ErrorKind::kUpstream, "upstream_bad_response", "upstream response " + why);
}

}  // namespace

json ParseToolArguments(const std::string& args) {
  if (args.empty()) return json::object();
  // A tree this deep could not be copied or dumped safely: kept as text, like broken arguments.
  if (JsonDepthExceeds(args, kMaxAnswerJsonDepth)) return json{{"_raw", args}};
  json j = json::parse(args, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return json{{"_raw", args}};
  return j;
}

TokenUsage UsageFromAnthropic(const json& u) {
  TokenUsage t;
  if (!u.is_object()) return t;
  const int64_t read = fast_json::JsonTokenCount(u, "cache_read_input_tokens");
  const int64_t created = fast_json::JsonTokenCount(u, "cache_creation_input_tokens");
  t.input_tokens = fast_json::JsonTokenCount(u, "input_tokens") + read + created;
  t.output_tokens = fast_json::JsonTokenCount(u, "output_tokens");
  t.cached_input_tokens = read;
  t.cache_creation_input_tokens = created;
  auto split = u.find("cache_creation");
  if (split != u.end() && split->is_object())
    t.cache_creation_1h_input_tokens =
        std::min(fast_json::JsonTokenCount(*split, "ephemeral_1h_input_tokens"), created);
  auto tools = u.find("server_tool_use");
  if (tools != u.end() && tools->is_object())
    t.web_search_requests = fast_json::JsonTokenCount(*tools, "web_search_requests");
  return t;
}

json AnthropicUsageJson(const TokenUsage& u) {
  json j = json::object();
  j["input_tokens"] =
      std::max<int64_t>(0, u.input_tokens - u.cached_input_tokens - u.cache_creation_input_tokens);
  j["output_tokens"] = u.output_tokens;
  j["cache_read_input_tokens"] = u.cached_input_tokens;
  j["cache_creation_input_tokens"] = u.cache_creation_input_tokens;
  return j;
}

json OpenAIUsageJson(const TokenUsage& u) {
  json j = json::object();
  j["prompt_tokens"] = u.input_tokens;
  j["completion_tokens"] = u.output_tokens;
  j["total_tokens"] = u.input_tokens + u.output_tokens;
  j["prompt_tokens_details"] = json{{"cached_tokens", u.cached_input_tokens}};
  return j;
}

Result<TokenUsage> AnthropicResponseUsage(const json& response) {
  if (!response.is_object() || !response.contains("usage") || !response["usage"].is_object())
    return Error::Make(ErrorKind::kUpstream, "upstream_no_usage", "upstream response has no usage");
  return UsageFromAnthropic(response["usage"]);
}

Result<CanonicalResponse> ParseOpenAIResponse(const json& response) {
  if (!response.is_object()) return BadUpstream("is not a JSON object");
  auto choices = response.find("choices");
  if (choices == response.end() || !choices->is_array() || choices->empty() ||
      !(*choices)[0].is_object())
    return BadUpstream("has no choices");
  const json& choice = (*choices)[0];
  auto msg = choice.find("message");
  if (msg == choice.end() || !msg->is_object()) return BadUpstream("has no message");
  CanonicalResponse r;
  r.id = JsonStr(response, "id");
  r.model = JsonStr(response, "model");
  if (auto c = msg->find("content");
      c != msg->end() && c->is_string() && !c->get_ref<const std::string&>().empty()) {
    ContentBlock b;
    b.text = c->get<std::string>();
    r.content.push_back(std::move(b));
  } else if (c != msg->end() && c->is_array()) {
    for (const auto& part : *c)
      if (part.is_object() && JsonStr(part, "type") == "text") {
        ContentBlock b;
        b.text = JsonStr(part, "text");
        r.content.push_back(std::move(b));
      }
  }
  if (auto calls = msg->find("tool_calls"); calls != msg->end() && calls->is_array()) {
    for (const auto& call : *calls) {
      if (!call.is_object() || !call.contains("function") || !call["function"].is_object())
        continue;
      ContentBlock b;
      b.type = BlockType::kToolUse;
      b.id = JsonStr(call, "id");
      b.name = JsonStr(call["function"], "name");
      b.input = ParseToolArguments(JsonStr(call["function"], "arguments"));
      r.content.push_back(std::move(b));
    }
  }
  std::string finish = JsonStr(choice, "finish_reason");
  if (!finish.empty()) r.stop_reason = StopFromOpenAI(finish);
  r.stop_sequence =
      OpenAIMatchedStop(finish, JsonStr(choice, "stop_reason"), JsonStr(choice, "matched_stop"));
  if (!r.stop_sequence.empty()) r.stop_reason = StopReason::kStopSequence;
  ToolCallsStopWithToolUse(r);
  if (JsonStr(*msg, "refusal").size() && r.content.empty()) {
    ContentBlock b;
    b.text = JsonStr(*msg, "refusal");
    r.content.push_back(std::move(b));
    r.stop_reason = StopReason::kRefusal;
    r.stop_sequence.clear();
  }
  if (auto u = OpenAIResponseUsage(response); u.ok()) r.usage = *u;
  return r;
}

Result<CanonicalResponse> ParseAnthropicResponse(const json& response) {
  if (!response.is_object()) return BadUpstream("is not a JSON object");
  auto content = response.find("content");
  if (content == response.end() || !content->is_array()) return BadUpstream("has no content");
  CanonicalResponse r;
  r.id = JsonStr(response, "id");
  r.model = JsonStr(response, "model");
  for (const auto& block : *content) {
    if (!block.is_object()) continue;
    const std::string type = JsonStr(block, "type");
    ContentBlock b;
    if (type == "text") {
      b.text = JsonStr(block, "text");
    } else if (type == "tool_use") {
      b.type = BlockType::kToolUse;
      b.id = JsonStr(block, "id");
      b.name = JsonStr(block, "name");
      b.input =
          block.contains("input") && block["input"].is_object() ? block["input"] : json::object();
    } else if (type == "thinking") {
      b.type = BlockType::kThinking;
      b.text = JsonStr(block, "thinking");
    } else {
      continue;  // redacted_thinking, server tool blocks: nothing an OpenAI client can show
    }
    r.content.push_back(std::move(b));
  }
  std::string stop = JsonStr(response, "stop_reason");
  if (!stop.empty()) r.stop_reason = StopFromAnthropic(stop);
  r.stop_sequence = JsonStr(response, "stop_sequence");
  if (response.contains("usage")) r.usage = UsageFromAnthropic(response["usage"]);
  return r;
}

json RenderOpenAIResponse(const CanonicalResponse& r, int64_t created) {
  std::string text;
  json calls = json::array();
  for (const auto& b : r.content) {
    if (b.type == BlockType::kText) text += b.text;
    if (b.type == BlockType::kToolUse) {
      json call = json::object();
      call["id"] = b.id;
      call["type"] = "function";
      call["function"] = json{{"name", b.name}, {"arguments", b.input.dump()}};
      calls.push_back(std::move(call));
    }
  }
  json message = json::object();
  message["role"] = "assistant";
  message["content"] = text.empty() && !calls.empty() ? json(nullptr) : json(text);
  if (!calls.empty()) message["tool_calls"] = std::move(calls);
  message["refusal"] = nullptr;
  json choice = json::object();
  choice["index"] = 0;
  choice["message"] = std::move(message);
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = OpenAIFinishReason(r.stop_reason.value_or(StopReason::kEndTurn));
  json out = json::object();
  out["id"] = r.id.starts_with("chatcmpl-") ? r.id : "chatcmpl-" + r.id;
  out["object"] = "chat.completion";
  out["created"] = created;
  out["model"] = r.model;
  out["choices"] = json::array({std::move(choice)});
  out["usage"] = OpenAIUsageJson(r.usage);
  return out;
}

json RenderAnthropicResponse(const CanonicalResponse& r) {
  json content = json::array();
  for (const auto& b : r.content) {
    if (b.type == BlockType::kText) {
      content.push_back(json{{"type", "text"}, {"text", b.text}});
    } else if (b.type == BlockType::kToolUse) {
      content.push_back(json{{"type", "tool_use"},
                             {"id", b.id.starts_with("toolu_") ? b.id : "toolu_" + b.id},
                             {"name", b.name},
                             {"input", b.input.is_object() ? b.input : json::object()}});
    }
  }
  json out = json::object();
  out["id"] = r.id.starts_with("msg_") ? r.id : "msg_" + r.id;
  out["type"] = "message";
  out["role"] = "assistant";
  out["model"] = r.model;
  out["content"] = std::move(content);
  const StopReason stop = r.stop_reason.value_or(StopReason::kEndTurn);
  out["stop_reason"] = AnthropicStopReason(stop);
  out["stop_sequence"] = stop == StopReason::kStopSequence && !r.stop_sequence.empty()
                             ? json(r.stop_sequence)
                             : json(nullptr);
  out["usage"] = AnthropicUsageJson(r.usage);
  return out;
}

int64_t EstimateTokens(const ChatRequest& req) {
  const CanonicalRequest c = ToCanonical(req);
  int64_t chars = 0, media = 0;
  auto count = [&](const std::vector<ContentBlock>& blocks, auto& self) -> void {
    for (const auto& b : blocks) {
      chars += Utf8Chars(b.text) + Utf8Chars(b.name);
      if (b.type == BlockType::kToolUse) chars += static_cast<int64_t>(b.input.dump().size());
      if (b.type == BlockType::kImage || b.type == BlockType::kDocument) ++media;
      self(b.content, self);
    }
  };
  count(c.system, count);
  for (const auto& m : c.messages) count(m.content, count);
  for (const auto& t : c.tools)
    chars += Utf8Chars(t.name) + Utf8Chars(t.description) +
             static_cast<int64_t>(t.input_schema.dump().size());
  return (chars + 3) / 4 + 1600 * media + 3 * static_cast<int64_t>(c.messages.size()) + 3;
}

}  // namespace triage::dialect
