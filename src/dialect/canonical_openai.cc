// OpenAI Chat Completions body -> CanonicalRequest.
#include <algorithm>
#include <iterator>
#include <string_view>

#include "dialect/canonical.h"
#include "dialect/json_util.h"

namespace triage::dialect {

using json = nlohmann::json;

namespace {

ContentBlock Text(std::string s) {
  ContentBlock b;
  b.type = BlockType::kText;
  b.text = std::move(s);
  return b;
}

// "data:image/png;base64,AAAA" -> media type + payload; other URLs stay URLs.
void SplitDataUrl(const std::string& url, ContentBlock& b) {
  constexpr std::string_view kB64 = ";base64,";
  if (url.starts_with("data:")) {
    if (auto p = url.find(kB64); p != std::string::npos) {
      // RFC 2397 allows parameters before ";base64" (data:image/png;name=a.png;base64,...): the
      // media type is what comes before the first of them.
      b.media_type = url.substr(5, std::min(p, url.find(';', 5)) - 5);
      b.data = url.substr(p + kB64.size());
      return;
    }
  }
  b.url = url;
}

void AppendParts(const json& content, std::vector<ContentBlock>& out,
                 std::vector<std::string>& unmapped) {
  if (content.is_string()) {
    out.push_back(Text(content.get<std::string>()));
    return;
  }
  if (!content.is_array()) return;
  for (const auto& p : content) {
    std::string type = JsonStr(p, "type");
    if (type == "text") {
      out.push_back(Text(JsonStr(p, "text")));
    } else if (type == "refusal") {
      out.push_back(Text(JsonStr(p, "refusal")));
    } else if (type == "image_url") {
      ContentBlock b;
      b.type = BlockType::kImage;
      SplitDataUrl(JsonStr(p["image_url"], "url"), b);
      if (p["image_url"].contains("detail")) unmapped.push_back("image_url.detail");
      out.push_back(std::move(b));
    } else if (type == "input_audio") {
      ContentBlock b;
      b.type = BlockType::kAudio;
      b.data = JsonStr(p["input_audio"], "data");
      b.media_type = JsonStr(p["input_audio"], "format");
      out.push_back(std::move(b));
    } else if (type == "file") {
      std::string fd = JsonStr(p["file"], "file_data");
      if (fd.empty()) {
        unmapped.push_back("file.file_id");
        continue;
      }
      ContentBlock b;
      b.type = BlockType::kDocument;
      SplitDataUrl(fd, b);
      if (b.media_type.empty() && b.url.empty()) continue;
      if (!b.url.empty()) {  // bare base64 without a data: prefix
        b.data = std::move(b.url);
        b.url.clear();
        b.media_type = "application/pdf";
      }
      out.push_back(std::move(b));
    }
  }
}

ContentBlock ToolUse(std::string id, std::string name, const std::string& args,
                     std::vector<std::string>& unmapped) {
  ContentBlock b;
  b.type = BlockType::kToolUse;
  b.id = std::move(id);
  b.name = std::move(name);
  // JSON inside a string escapes limits.max_json_depth's scan of the body: arguments nested
  // deeper than kMaxAnswerJsonDepth would be a tree too deep to copy or dump; kept as text.
  json in = JsonDepthExceeds(args, kMaxAnswerJsonDepth)
                ? json()
                : json::parse(args.empty() ? std::string("{}") : args, nullptr, false);
  if (!in.is_object()) {
    // Models occasionally emit broken arguments; keep the text so nothing is lost.
    in = json::object({{"_raw_arguments", args}});
    unmapped.push_back("tool_calls.function.arguments (not a JSON object)");
  }
  b.input = std::move(in);
  return b;
}

// A parameter sent at the value OpenAI takes when it is absent (LangChain sends the penalties as
// 0; many clients send logprobs and store as false): nothing is lost when it is not sent.
bool IsOpenAIDefault(std::string_view key, const json& v) {
  if (key == "frequency_penalty" || key == "presence_penalty" || key == "top_logprobs")
    return v.is_number() && v.get<double>() == 0;
  if (key == "logprobs" || key == "store") return v.is_boolean() && !v.get<bool>();
  if (key == "logit_bias") return v.is_object() && v.empty();
  return false;
}

// Once per name, however many messages have it.
void AddUnmapped(std::vector<std::string>& unmapped, const char* name) {
  if (std::find(unmapped.begin(), unmapped.end(), name) == unmapped.end())
    unmapped.emplace_back(name);
}

// Appends to the last message when it has the same role: Anthropic needs the results of
// parallel tool calls in one user turn, and OpenAI sends them as consecutive tool messages.
void Push(CanonicalRequest& c, Role role, std::vector<ContentBlock> blocks) {
  if (blocks.empty()) return;
  if (!c.messages.empty() && c.messages.back().role == role) {
    auto& dst = c.messages.back().content;
    dst.insert(dst.end(), std::make_move_iterator(blocks.begin()),
               std::make_move_iterator(blocks.end()));
    return;
  }
  c.messages.push_back(Message{role, std::move(blocks)});
}

}  // namespace

CanonicalRequest CanonicalFromOpenAI(const json& b) {
  CanonicalRequest c;
  c.model = JsonStr(b, "model");
  for (const auto& m : b.value("messages", json::array())) {
    std::string role = JsonStr(m, "role");
    const json content = m.value("content", json());
    // A participant's name (user, assistant, system) has no slot in the Messages API. (The
    // legacy `function` role's name identifies the call and is carried.)
    if (role != "function")
      if (auto n = m.find("name");
          n != m.end() && n->is_string() && !n->get_ref<const std::string&>().empty())
        AddUnmapped(c.unmapped, "messages.name");
    if (role == "system" || role == "developer") {
      // Anthropic has one top-level system prompt; every system turn is hoisted into it.
      std::vector<ContentBlock> parts;
      AppendParts(content, parts, c.unmapped);
      for (auto& p : parts)
        if (p.type == BlockType::kText) c.system.push_back(std::move(p));
    } else if (role == "user") {
      std::vector<ContentBlock> parts;
      AppendParts(content, parts, c.unmapped);
      Push(c, Role::kUser, std::move(parts));
    } else if (role == "assistant") {
      std::vector<ContentBlock> parts;
      AppendParts(content, parts, c.unmapped);
      if (auto r = m.find("refusal"); r != m.end() && r->is_string()) {
        parts.push_back(Text(r->get<std::string>()));
      }
      if (auto tc = m.find("tool_calls"); tc != m.end() && tc->is_array()) {
        for (const auto& call : *tc)
          parts.push_back(ToolUse(JsonStr(call, "id"), JsonStr(call["function"], "name"),
                                  JsonStr(call["function"], "arguments"), c.unmapped));
      }
      if (auto fc = m.find("function_call"); fc != m.end() && fc->is_object()) {
        parts.push_back(ToolUse("call_" + JsonStr(*fc, "name"), JsonStr(*fc, "name"),
                                JsonStr(*fc, "arguments"), c.unmapped));
      }
      Push(c, Role::kAssistant, std::move(parts));
    } else if (role == "tool" || role == "function") {
      ContentBlock r;
      r.type = BlockType::kToolResult;
      r.tool_use_id = role == "tool" ? JsonStr(m, "tool_call_id") : "call_" + JsonStr(m, "name");
      AppendParts(content, r.content, c.unmapped);
      std::vector<ContentBlock> one;
      one.push_back(std::move(r));
      Push(c, Role::kUser, std::move(one));
    }
  }
  for (const auto& t : b.value("tools", json::array())) {
    const json fn = t.value("function", json::object());
    Tool tool{JsonStr(fn, "name"), JsonStr(fn, "description"),
              fn.value("parameters", json{{"type", "object"}, {"properties", json::object()}})};
    if (fn.contains("strict")) c.unmapped.push_back("tools.function.strict");
    c.tools.push_back(std::move(tool));
  }
  for (const auto& fn : b.value("functions", json::array())) {
    c.tools.push_back(Tool{JsonStr(fn, "name"), JsonStr(fn, "description"),
                           fn.value("parameters", json{{"type", "object"}})});
  }
  if (auto tc = b.find("tool_choice"); tc != b.end() && !tc->is_null()) {
    ToolChoice ch;
    if (tc->is_string()) {
      std::string s = tc->get<std::string>();
      ch.kind = s == "none"       ? ToolChoice::kNone
                : s == "required" ? ToolChoice::kAny
                                  : ToolChoice::kAuto;
    } else if (tc->is_object()) {
      ch.kind = ToolChoice::kTool;
      ch.name = JsonStr(tc->value("function", json::object()), "name");
    }
    c.tool_choice = ch;
  }
  if (auto p = b.find("parallel_tool_calls"); p != b.end() && p->is_boolean() && !p->get<bool>()) {
    if (!c.tool_choice) c.tool_choice = ToolChoice{};
    c.tool_choice->disable_parallel = true;
  }
  for (const char* k : {"max_completion_tokens", "max_tokens"}) {
    if (auto it = b.find(k); it != b.end() && it->is_number_integer()) {
      c.max_tokens = it->get<int64_t>();
      break;
    }
  }
  if (auto it = b.find("temperature"); it != b.end() && it->is_number())
    c.temperature = it->get<double>();
  if (auto it = b.find("top_p"); it != b.end() && it->is_number()) c.top_p = it->get<double>();
  if (auto it = b.find("stop"); it != b.end()) {
    if (it->is_string()) c.stop.push_back(it->get<std::string>());
    if (it->is_array())
      for (const auto& s : *it)
        if (s.is_string()) c.stop.push_back(s.get<std::string>());
  }
  if (auto it = b.find("user"); it != b.end() && it->is_string()) c.user = it->get<std::string>();
  if (auto it = b.find("stream"); it != b.end() && it->is_boolean()) c.stream = it->get<bool>();
  if (auto it = b.find("response_format"); it != b.end() && it->is_object()) {
    const std::string type = JsonStr(*it, "type");
    const json& js = JsonObj(*it, "json_schema");
    if (type == "json_schema" && js.contains("schema") && js["schema"].is_object()) {
      c.output_schema = js["schema"];
      // `name` labels the schema and `strict` asks for what Anthropic always does (constrained
      // decoding); a description is guidance the Messages API has no slot for.
      if (auto d = js.find("description"); d != js.end() && !d->is_null())
        c.unmapped.push_back("response_format.json_schema.description");
    } else if (type == "json_object") {
      // The Messages API only constrains to a schema, and refuses an open {"type":"object"}.
      c.unmapped.push_back("response_format (json_object: the Messages API needs a schema)");
    } else if (type != "text") {
      c.unmapped.push_back("response_format");  // CheckTranslatable refuses it first
    }
  }
  if (auto it = b.find("reasoning_effort"); it != b.end() && it->is_string()) {
    const std::string e = it->get<std::string>();
    if (e == "low" || e == "medium" || e == "high" || e == "xhigh" || e == "max") {
      c.effort = e;
    } else if (e == "minimal") {
      c.effort = "low";  // Anthropic's lowest level
      c.unmapped.push_back("reasoning_effort (minimal sent as low)");
    } else if (e == "none") {
      c.unmapped.push_back("reasoning_effort (none: no Anthropic level)");
    } else {
      c.unmapped.push_back("reasoning_effort");  // CheckTranslatable refuses it first
    }
  }
  // Parameters with no Anthropic slot. n is checked separately (n>1 cannot be honoured).
  static constexpr const char* kNoSlot[] = {"frequency_penalty",  "presence_penalty",
                                            "logit_bias",         "logprobs",
                                            "top_logprobs",       "seed",
                                            "service_tier",       "store",
                                            "metadata",           "prediction",
                                            "modalities",         "audio",
                                            "web_search_options", "verbosity",
                                            "prompt_cache_key",   "safety_identifier"};
  for (const char* k : kNoSlot)
    if (auto it = b.find(k); it != b.end() && !it->is_null() && !IsOpenAIDefault(k, *it))
      c.unmapped.push_back(k);
  // Any other member (another dialect's field such as `system` or `top_k`, a vendor extension,
  // a typo) has no place in the Anthropic request either: named, not silently lost.
  static constexpr std::string_view kMapped[] = {"model",
                                                 "messages",
                                                 "tools",
                                                 "functions",
                                                 "tool_choice",
                                                 "parallel_tool_calls",
                                                 "max_tokens",
                                                 "max_completion_tokens",
                                                 "temperature",
                                                 "top_p",
                                                 "stop",
                                                 "user",
                                                 "stream",
                                                 "stream_options",
                                                 "response_format",
                                                 "reasoning_effort",
                                                 "n"};
  for (const auto& [k, v] : b.items()) {
    if (v.is_null() || std::find(std::begin(kMapped), std::end(kMapped), k) != std::end(kMapped) ||
        std::find(std::begin(kNoSlot), std::end(kNoSlot), k) != std::end(kNoSlot))
      continue;
    c.unmapped.push_back(k);
  }
  return c;
}

}  // namespace triage::dialect
