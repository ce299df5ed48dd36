// Anthropic Messages body -> CanonicalRequest.
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
  b.text = std::move(s);
  return b;
}

void AppendBlocks(const json& content, std::vector<ContentBlock>& out,
                  std::vector<std::string>& unmapped);

// Once per name, however many tools have it.
void AddUnmapped(std::vector<std::string>& unmapped, std::string name) {
  if (std::find(unmapped.begin(), unmapped.end(), name) == unmapped.end())
    unmapped.push_back(std::move(name));
}

bool Source(const json& blk, ContentBlock& b) {
  const json s = blk.value("source", json::object());
  std::string t = JsonStr(s, "type");
  if (t == "base64") {
    b.media_type = JsonStr(s, "media_type");
    b.data = JsonStr(s, "data");
    return true;
  }
  if (t == "url") {
    b.url = JsonStr(s, "url");
    return true;
  }
  return false;
}

void AppendBlock(const json& blk, std::vector<ContentBlock>& out,
                 std::vector<std::string>& unmapped) {
  std::string type = JsonStr(blk, "type");
  if (blk.contains("cache_control")) unmapped.push_back("cache_control");
  if (type == "text") {
    out.push_back(Text(JsonStr(blk, "text")));
  } else if (type == "document" && (JsonStr(JsonObj(blk, "source"), "type") == "text" ||
                                    JsonStr(JsonObj(blk, "source"), "type") == "content")) {
    // A plain-text document (source.type "text", its text in `data`) or one made of content
    // blocks (source.type "content"): its text is what the model reads.
    const json& s = JsonObj(blk, "source");
    if (JsonStr(s, "type") == "text")
      out.push_back(Text(JsonStr(s, "data")));
    else if (auto c = s.find("content"); c != s.end())
      AppendBlocks(*c, out, unmapped);
    for (const char* k : {"title", "context", "citations"})
      if (auto it = blk.find(k); it != blk.end() && !it->is_null())
        unmapped.push_back(std::string("document.") + k);
  } else if (type == "image" || type == "document") {
    ContentBlock b;
    b.type = type == "image" ? BlockType::kImage : BlockType::kDocument;
    if (Source(blk, b))
      out.push_back(std::move(b));
    else
      unmapped.push_back(type + ".source");
  } else if (type == "tool_use") {
    ContentBlock b;
    b.type = BlockType::kToolUse;
    b.id = JsonStr(blk, "id");
    b.name = JsonStr(blk, "name");
    b.input = blk.value("input", json::object());
    out.push_back(std::move(b));
  } else if (type == "tool_result") {
    ContentBlock b;
    b.type = BlockType::kToolResult;
    b.tool_use_id = JsonStr(blk, "tool_use_id");
    auto ie = blk.find("is_error");
    b.is_error = ie != blk.end() && ie->is_boolean() && ie->get<bool>();
    if (auto c = blk.find("content"); c != blk.end()) {
      if (c->is_string())
        b.content.push_back(Text(c->get<std::string>()));
      else if (c->is_array())
        AppendBlocks(*c, b.content, unmapped);
    }
    out.push_back(std::move(b));
  } else if (type == "thinking") {
    ContentBlock b;
    b.type = BlockType::kThinking;
    b.text = JsonStr(blk, "thinking");
    out.push_back(std::move(b));
  } else {
    unmapped.push_back("content block " + type);
  }
}

void AppendBlocks(const json& content, std::vector<ContentBlock>& out,
                  std::vector<std::string>& unmapped) {
  if (content.is_string()) {
    out.push_back(Text(content.get<std::string>()));
    return;
  }
  if (!content.is_array()) return;
  for (const auto& blk : content) AppendBlock(blk, out, unmapped);
}

}  // namespace

CanonicalRequest CanonicalFromAnthropic(const json& b) {
  CanonicalRequest c;
  c.model = JsonStr(b, "model");
  if (auto s = b.find("system"); s != b.end()) AppendBlocks(*s, c.system, c.unmapped);
  for (const auto& m : b.value("messages", json::array())) {
    Message msg;
    msg.role = JsonStr(m, "role") == "assistant" ? Role::kAssistant : Role::kUser;
    AppendBlocks(m.value("content", json()), msg.content, c.unmapped);
    c.messages.push_back(std::move(msg));
  }
  for (const auto& t : b.value("tools", json::array())) {
    std::string type = JsonStr(t, "type");
    if (t.contains("cache_control")) c.unmapped.push_back("cache_control");
    if (!type.empty() && type != "custom") {
      // Server tools (web_search_..., bash_..., text_editor_...) run inside Anthropic.
      c.unmapped.push_back("tools." + type);
      continue;
    }
    Tool tool{JsonStr(t, "name"), JsonStr(t, "description"),
              t.value("input_schema", json::object())};
    auto strict = t.find("strict");
    tool.strict = strict != t.end() && strict->is_boolean() && strict->get<bool>();
    // Members with no slot in a Chat Completions function (examples, tool-search and
    // programmatic-calling hints): named, not lost.
    static constexpr std::string_view kToolMapped[] = {"type",         "name",   "description",
                                                       "input_schema", "strict", "cache_control"};
    // One sent at the value the API takes when it is absent (false, [], allowed_callers
    // ["direct"]: what a Chat Completions tool is anyway) loses nothing and is not named.
    for (const auto& [k, v] : t.items())
      if (!v.is_null() && !(v.is_boolean() && !v.get<bool>()) && !(v.is_array() && v.empty()) &&
          !(k == "allowed_callers" && v == json::array({"direct"})) &&
          std::find(std::begin(kToolMapped), std::end(kToolMapped), k) == std::end(kToolMapped))
        AddUnmapped(c.unmapped, "tools." + k);
    c.tools.push_back(std::move(tool));
  }
  if (auto tc = b.find("tool_choice"); tc != b.end() && tc->is_object()) {
    ToolChoice ch;
    std::string t = JsonStr(*tc, "type");
    ch.kind = t == "any"    ? ToolChoice::kAny
              : t == "none" ? ToolChoice::kNone
              : t == "tool" ? ToolChoice::kTool
                            : ToolChoice::kAuto;
    ch.name = JsonStr(*tc, "name");
    auto dp = tc->find("disable_parallel_tool_use");
    ch.disable_parallel = dp != tc->end() && dp->is_boolean() && dp->get<bool>();
    c.tool_choice = ch;
  }
  if (auto it = b.find("max_tokens"); it != b.end() && it->is_number_integer())
    c.max_tokens = it->get<int64_t>();
  if (auto it = b.find("temperature"); it != b.end() && it->is_number())
    c.temperature = it->get<double>();
  if (auto it = b.find("top_p"); it != b.end() && it->is_number()) c.top_p = it->get<double>();
  if (auto it = b.find("top_k"); it != b.end() && it->is_number_integer())
    c.top_k = it->get<int64_t>();
  if (auto it = b.find("stop_sequences"); it != b.end() && it->is_array())
    for (const auto& s : *it)
      if (s.is_string()) c.stop.push_back(s.get<std::string>());
  if (auto it = b.find("metadata"); it != b.end() && it->is_object()) {
    std::string u = JsonStr(*it, "user_id");
    if (!u.empty()) c.user = u;
  }
  if (auto it = b.find("stream"); it != b.end() && it->is_boolean()) c.stream = it->get<bool>();
  if (auto oc = b.find("output_config"); oc != b.end() && oc->is_object()) {
    for (const auto& [k, v] : oc->items()) {
      if (v.is_null()) continue;
      if (k == "format" && JsonStr(v, "type") == "json_schema" && v.contains("schema") &&
          v["schema"].is_object()) {
        c.output_schema = v["schema"];
      } else if (k == "effort" && v.is_string()) {
        c.effort = v.get<std::string>();  // CheckTranslatable refuses unknown levels
      } else {
        c.unmapped.push_back("output_config." + k);
      }
    }
  }
  static constexpr std::string_view kNoSlot[] = {"thinking", "service_tier", "container",
                                                 "mcp_servers", "context_management"};
  for (std::string_view k : kNoSlot) {
    auto it = b.find(k);
    if (it == b.end() || it->is_null()) continue;
    // Thinking turned off asks for nothing the OpenAI request leaves out: not a loss.
    if (k == "thinking" && JsonStr(*it, "type") == "disabled") continue;
    c.unmapped.emplace_back(k);
  }
  // Any other member (another dialect's field, a vendor extension, a typo): named, not lost.
  static constexpr std::string_view kMapped[] = {
      "model",      "messages",    "system",       "tools", "tool_choice",
      "max_tokens", "temperature", "top_p",        "top_k", "stop_sequences",
      "metadata",   "stream",      "output_config"};
  for (const auto& [k, v] : b.items()) {
    if (v.is_null() || std::find(std::begin(kMapped), std::end(kMapped), k) != std::end(kMapped) ||
        std::find(std::begin(kNoSlot), std::end(kNoSlot), k) != std::end(kNoSlot))
      continue;
    c.unmapped.push_back(k);
  }
  return c;
}

}  // namespace triage::dialect
