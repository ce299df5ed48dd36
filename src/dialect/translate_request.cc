// Canonical request -> OpenAI / Anthropic upstream bodies.
#include <algorithm>
#include <cctype>

#include "dialect/json_util.h"
#include "dialect/translate.h"

namespace triage::dialect {

using json = nlohmann::json;

namespace {

// A request this model's upstream cannot take, with the member at fault: the message reads
// "PATH: WHY" and PATH is OpenAI's error.param.
Error Refused(std::string code, std::string path, const std::string& why) {
  Error e = Error::Make(ErrorKind::kInvalidRequest, std::move(code), path + ": " + why);
  e.param = std::move(path);
  return e;
}

std::string DataUrl(const ContentBlock& b) {
  return b.url.empty() ? "data:" + b.media_type + ";base64," + b.data : b.url;
}

std::string JoinText(const std::vector<ContentBlock>& blocks, std::vector<std::string>* dropped) {
  std::string out;
  for (const auto& b : blocks) {
    if (b.type != BlockType::kText) {
      AddDropped(dropped, "non-text content in tool_result/system");
      continue;
    }
    if (!out.empty()) out += '\n';
    out += b.text;
  }
  return out;
}

// ---- OpenAI ----

json OpenAIPart(const ContentBlock& b, std::vector<std::string>* dropped) {
  switch (b.type) {
    case BlockType::kText:
      return {{"type", "text"}, {"text", b.text}};
    case BlockType::kImage:
      return {{"type", "image_url"}, {"image_url", {{"url", DataUrl(b)}}}};
    case BlockType::kAudio:
      return {{"type", "input_audio"},
              {"input_audio", {{"data", b.data}, {"format", b.media_type}}}};
    case BlockType::kDocument:
      if (!b.url.empty()) {
        AddDropped(dropped, "document.source.url");
        return nullptr;
      }
      return {{"type", "file"}, {"file", {{"file_data", DataUrl(b)}, {"filename", "document"}}}};
    default:
      return nullptr;
  }
}

void RenderOpenAIUser(const Message& m, json& out, std::vector<std::string>* dropped) {
  json parts = json::array();
  bool only_text = true;
  for (const auto& b : m.content) {
    if (b.type == BlockType::kToolResult) {
      if (b.is_error) AddDropped(dropped, "tool_result.is_error");
      out.push_back({{"role", "tool"},
                     {"tool_call_id", b.tool_use_id},
                     {"content", JoinText(b.content, dropped)}});
      continue;
    }
    json p = OpenAIPart(b, dropped);
    if (p.is_null()) continue;
    only_text = only_text && b.type == BlockType::kText;
    parts.push_back(std::move(p));
  }
  if (parts.empty()) return;
  if (only_text && parts.size() == 1)
    out.push_back({{"role", "user"}, {"content", parts[0]["text"]}});
  else
    out.push_back({{"role", "user"}, {"content", std::move(parts)}});
}

void RenderOpenAIAssistant(const Message& m, json& out, std::vector<std::string>* dropped) {
  std::string text;
  bool has_text = false;
  json calls = json::array();
  for (const auto& b : m.content) {
    if (b.type == BlockType::kText) {
      text += b.text;
      has_text = true;
    } else if (b.type == BlockType::kToolUse) {
      calls.push_back({{"id", b.id},
                       {"type", "function"},
                       {"function", {{"name", b.name}, {"arguments", b.input.dump()}}}});
    } else if (b.type == BlockType::kThinking) {
      AddDropped(dropped, "thinking");
    } else {
      AddDropped(dropped, "non-text assistant content");
    }
  }
  // An empty turn (the Messages API takes one as the final message: no prefill) is left out.
  has_text = has_text && !text.empty();
  json msg = {{"role", "assistant"}};
  msg["content"] = has_text ? json(text) : json(nullptr);
  if (!calls.empty()) msg["tool_calls"] = std::move(calls);
  if (has_text || msg.contains("tool_calls")) out.push_back(std::move(msg));
}

// ---- Anthropic ----

// Anthropic restricts tool ids to [a-zA-Z0-9_-]; the same rewrite is applied to tool_use ids and
// tool_result references so pairs stay matched.
std::string AnthropicId(const std::string& id) {
  std::string s = id.empty() ? std::string("toolu_missing") : id;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') c = '_';
  return s;
}

// The Messages API accepts exactly image/jpeg, image/png, image/gif and image/webp. Media types
// are case-insensitive (RFC 2045), so they are sent in lower case, and "image/jpg", a common
// label that OpenAI accepts, as image/jpeg. Anything else goes as it is (and is refused there).
std::string AnthropicImageType(std::string t) {
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t == "image/jpg" ? std::string("image/jpeg") : t;
}

json AnthropicSource(const ContentBlock& b) {
  if (!b.url.empty()) return {{"type", "url"}, {"url", b.url}};
  const std::string type =
      b.type == BlockType::kImage ? AnthropicImageType(b.media_type) : b.media_type;
  return {{"type", "base64"}, {"media_type", type}, {"data", b.data}};
}

// The Messages API refuses a text block that is empty or only whitespace ("messages: text
// content blocks must contain non-whitespace text"); OpenAI takes both.
bool BlankText(const std::string& s) {
  return s.find_first_not_of(" \t\n\r\f\v") == std::string::npos;
}

// Whether AnthropicBlock sends something for `b` (CheckTranslatable looks ahead with it).
bool SentToAnthropic(const ContentBlock& b) {
  if (b.type == BlockType::kText) return !BlankText(b.text);
  return b.type != BlockType::kAudio && b.type != BlockType::kThinking;
}

json AnthropicBlock(const ContentBlock& b, std::vector<std::string>* dropped) {
  switch (b.type) {
    case BlockType::kText:
      if (BlankText(b.text)) return nullptr;  // Anthropic rejects empty and blank text blocks
      return {{"type", "text"}, {"text", b.text}};
    case BlockType::kImage:
      return {{"type", "image"}, {"source", AnthropicSource(b)}};
    case BlockType::kDocument:
      return {{"type", "document"}, {"source", AnthropicSource(b)}};
    case BlockType::kToolUse:
      return {{"type", "tool_use"},
              {"id", AnthropicId(b.id)},
              {"name", b.name},
              {"input", b.input.is_object() ? b.input : json::object()}};
    case BlockType::kToolResult: {
      json r = {{"type", "tool_result"}, {"tool_use_id", AnthropicId(b.tool_use_id)}};
      json content = json::array();
      for (const auto& c : b.content) {
        json x = AnthropicBlock(c, dropped);
        if (!x.is_null()) content.push_back(std::move(x));
      }
      if (!content.empty()) r["content"] = std::move(content);
      if (b.is_error) r["is_error"] = true;
      return r;
    }
    case BlockType::kAudio:
      AddDropped(dropped, "input_audio");
      return nullptr;
    case BlockType::kThinking:
      AddDropped(dropped, "thinking");
      return nullptr;
  }
  return nullptr;
}

// An image or document of an OpenAI request that the Messages API cannot take: an image that is
// not JPEG, PNG, GIF or WebP ("...media_type: Input should be 'image/jpeg', 'image/png',
// 'image/gif' or 'image/webp'"), a document that is not a PDF, or a data: URL that is not
// base64 (it would go out as a URL source, which Anthropic fetches over the network).
std::optional<Error> CheckMediaToAnthropic(const std::vector<ContentBlock>& blocks) {
  for (const auto& b : blocks) {
    if (b.type == BlockType::kToolResult) {
      if (auto e = CheckMediaToAnthropic(b.content)) return e;
      continue;
    }
    if (b.type != BlockType::kImage && b.type != BlockType::kDocument) continue;
    const char* what = b.type == BlockType::kImage ? "image_url" : "file";
    if (b.url.starts_with("data:"))
      return Refused("unsupported_content", "messages",
                     std::string("a ") + what +
                         " data URL must be base64 (data:<media type>;base64,<data>) for this "
                         "model's upstream (Anthropic)");
    if (!b.url.empty()) continue;
    const std::string type = AnthropicImageType(b.media_type);
    const bool ok = b.type == BlockType::kImage ? type == "image/jpeg" || type == "image/png" ||
                                                      type == "image/gif" || type == "image/webp"
                                                : b.media_type == "application/pdf";
    if (!ok)
      return Refused("unsupported_content", "messages",
                     std::string(what) + " media type '" + b.media_type +
                         "' is not supported by this model's upstream (Anthropic), which takes " +
                         (b.type == BlockType::kImage
                              ? "image/jpeg, image/png, image/gif and image/webp images"
                              : "application/pdf documents"));
  }
  return std::nullopt;
}

bool IsEffortLevel(std::string_view e) {
  return e == "low" || e == "medium" || e == "high" || e == "xhigh" || e == "max";
}

// An Anthropic request towards an OpenAI upstream. The parser checked the shapes; what is left
// is a value Chat Completions has no equivalent for.
// An image or document by Files API id (source.type "file") lives at Anthropic: an
// OpenAI-compatible upstream cannot read it, and leaving it out would change the answer (as an
// OpenAI file part by file_id is refused towards Anthropic).
std::optional<Error> CheckFileSources(const json& blocks) {
  if (!blocks.is_array()) return std::nullopt;
  for (const auto& blk : blocks) {
    const std::string type = JsonStr(blk, "type");
    if (type == "tool_result") {
      if (auto c = blk.find("content"); c != blk.end())
        if (auto e = CheckFileSources(*c)) return e;
    } else if ((type == "image" || type == "document") &&
               JsonStr(JsonObj(blk, "source"), "type") == "file") {
      return Refused("unsupported_content", "messages",
                     type +
                         " blocks must carry their data (source type base64, url or text); a "
                         "Files API file_id is not supported by this model's upstream "
                         "(OpenAI-compatible)");
    }
  }
  return std::nullopt;
}

std::optional<Error> CheckTranslatableToOpenAI(const json& b) {
  if (auto ms = b.find("messages"); ms != b.end() && ms->is_array())
    for (const auto& m : *ms)
      if (auto c = m.find("content"); c != m.end())
        if (auto e = CheckFileSources(*c)) return e;
  auto oc = b.find("output_config");
  if (oc == b.end() || !oc->is_object()) return std::nullopt;
  if (auto f = oc->find("format"); f != oc->end() && f->is_object()) {
    const std::string type = JsonStr(*f, "type");
    if (type != "json_schema")
      return Refused("unsupported_parameter", "output_config.format.type",
                     "'" + type + "' is not supported (expected json_schema)");
  }
  if (auto e = oc->find("effort");
      e != oc->end() && e->is_string() && !IsEffortLevel(e->get_ref<const std::string&>()))
    return Refused(
        "unsupported_parameter", "output_config.effort",
        "unknown value '" + e->get<std::string>() + "' (expected low, medium, high, xhigh or max)");
  return std::nullopt;
}

// Tools and tool_choice of an OpenAI request towards an Anthropic upstream: the Messages API has
// function tools only (custom tools take free text, optionally under a grammar), and no
// allowed_tools choice. They used to go out with an empty name, refused there with its own 400.
std::optional<Error> CheckToolsToAnthropic(const json& b) {
  if (auto tools = b.find("tools"); tools != b.end() && tools->is_array()) {
    for (size_t i = 0; i < tools->size(); ++i) {
      const std::string type = JsonStr((*tools)[i], "type");
      if (!type.empty() && type != "function")
        return Refused("unsupported_parameter", "tools[" + std::to_string(i) + "].type",
                       "'" + type +
                           "' is not supported by this model's upstream (Anthropic), which "
                           "takes function tools only");
    }
  }
  if (auto tc = b.find("tool_choice"); tc != b.end() && tc->is_object()) {
    const std::string type = JsonStr(*tc, "type");
    if (type != "function")
      return Refused("unsupported_parameter", "tool_choice.type",
                     "'" + type +
                         "' is not supported by this model's upstream (Anthropic); expected "
                         "none, auto, required or a named function");
    if (JsonStr(JsonObj(*tc, "function"), "name").empty())
      return Refused("missing_field", "tool_choice.function.name",
                     "required (a string naming one of the tools)");
  }
  return std::nullopt;
}

// response_format and reasoning_effort of an OpenAI request towards an Anthropic upstream.
std::optional<Error> CheckOutputToAnthropic(const json& b) {
  if (auto rf = b.find("response_format"); rf != b.end() && rf->is_object()) {
    const std::string type = JsonStr(*rf, "type");
    if (type != "text" && type != "json_object" && type != "json_schema")
      return Refused("unsupported_parameter", "response_format.type",
                     "'" + type +
                         "' is not supported by this model's upstream (Anthropic); expected "
                         "text, json_object or json_schema");
    const json& js = JsonObj(*rf, "json_schema");
    if (type == "json_schema" && !(js.contains("schema") && js["schema"].is_object()))
      return Refused("missing_field", "response_format.json_schema.schema",
                     "required when this model's "
                     "upstream is Anthropic, which constrains output only to a schema");
  }
  if (auto re = b.find("reasoning_effort"); re != b.end() && re->is_string()) {
    const std::string& e = re->get_ref<const std::string&>();
    if (!IsEffortLevel(e) && e != "none" && e != "minimal")
      return Refused(
          "unsupported_parameter", "reasoning_effort",
          "unknown value '" + e + "' (expected none, minimal, low, medium, high, xhigh or max)");
  }
  return std::nullopt;
}

}  // namespace

std::optional<Error> CheckTranslatable(const ChatRequest& req, Dialect target) {
  if (req.dialect == target) return std::nullopt;
  if (target == Dialect::kOpenAI) return CheckTranslatableToOpenAI(req.body);
  const json& b = req.body;
  if (auto n = b.find("n"); n != b.end() && n->is_number_integer() && n->get<int64_t>() > 1)
    return Refused("unsupported_parameter", "n",
                   "values above 1 are not supported by this model's upstream (Anthropic)");
  if (req.has_audio)
    return Refused("unsupported_content", "messages",
                   "input_audio is not supported by this model's upstream "
                   "(Anthropic)");
  CanonicalRequest c = CanonicalFromOpenAI(b);
  for (const auto& u : c.unmapped)
    if (u == "file.file_id")
      return Refused("unsupported_content", "messages",
                     "file parts must carry file_data; file_id is not supported by "
                     "this model's upstream (Anthropic)");
  if (auto e = CheckOutputToAnthropic(b)) return e;
  if (auto e = CheckToolsToAnthropic(b)) return e;
  for (const auto& m : c.messages)
    if (auto e = CheckMediaToAnthropic(m.content)) return e;
  // Text that is empty or only whitespace is left out towards Anthropic (it refuses it). When
  // that leaves no message, or removes the client's last user turn (the request would then end
  // with an assistant turn, which Anthropic continues as a prefill), nothing can be asked.
  const Message* last_sent = nullptr;
  for (const auto& m : c.messages)
    if (std::any_of(m.content.begin(), m.content.end(), SentToAnthropic)) last_sent = &m;
  const bool ends_with_user = !c.messages.empty() && c.messages.back().role == Role::kUser;
  if (last_sent == nullptr || (ends_with_user && last_sent->role != Role::kUser))
    return Refused("unsupported_content", "messages",
                   "nothing to answer for this model's upstream (Anthropic), which "
                   "refuses text that is empty or only whitespace: the last user message "
                   "must have some content");
  // Anthropic answers 400 "stop_sequences: each stop sequence must contain non-whitespace"; an
  // OpenAI client's stop "\n" is common, and dropping it would change the answer. Refused here,
  // so the plan keeps only the deployments that can take it.
  for (const auto& s : c.stop)
    if (s.find_first_not_of(" \t\n\r\f\v") == std::string::npos)
      return Refused("unsupported_parameter", "stop",
                     "the Messages API refuses a stop sequence that is empty or only "
                     "whitespace; this model's upstream is Anthropic");
  return std::nullopt;
}

std::optional<Error> CheckStopLimit(const ChatRequest& req, size_t max) {
  if (max == 0) return std::nullopt;
  const char* key = req.dialect == Dialect::kOpenAI ? "stop" : "stop_sequences";
  auto it = req.body.find(key);
  if (it == req.body.end() || !it->is_array() || it->size() <= max) return std::nullopt;
  return Refused("unsupported_parameter", key,
                 std::to_string(it->size()) +
                     " stop sequences; this model's upstream (the OpenAI API) takes at most " +
                     std::to_string(max));
}

json ToOpenAIRequest(const ChatRequest& req, std::string_view upstream_model,
                     std::vector<std::string>* dropped) {
  if (req.dialect == Dialect::kOpenAI) {
    json out = req.body;
    out["model"] = upstream_model;
    if (req.stream) out["stream_options"]["include_usage"] = true;
    return out;
  }
  CanonicalRequest c = CanonicalFromAnthropic(req.body);
  for (const auto& u : c.unmapped) AddDropped(dropped, u);
  json msgs = json::array();
  if (!c.system.empty())
    msgs.push_back({{"role", "system"}, {"content", JoinText(c.system, dropped)}});
  for (const auto& m : c.messages) {
    if (m.role == Role::kUser)
      RenderOpenAIUser(m, msgs, dropped);
    else
      RenderOpenAIAssistant(m, msgs, dropped);
  }
  json out = {{"model", upstream_model}, {"messages", std::move(msgs)}};
  if (!c.tools.empty()) {
    json tools = json::array();
    for (const auto& t : c.tools) {
      json fn = {{"name", t.name}, {"parameters", t.input_schema}};
      if (!t.description.empty()) fn["description"] = t.description;
      if (t.strict) fn["strict"] = true;
      tools.push_back({{"type", "function"}, {"function", std::move(fn)}});
    }
    out["tools"] = std::move(tools);
  }
  // Without tools (none sent, or only Anthropic server tools, dropped above) a tool_choice is
  // refused by OpenAI-compatible servers (vLLM: "When using `tool_choice`, `tools` must be set").
  if (c.tool_choice && c.tools.empty()) AddDropped(dropped, "tool_choice (no tools)");
  if (c.tool_choice && !c.tools.empty()) {
    const ToolChoice& tc = *c.tool_choice;
    switch (tc.kind) {
      case ToolChoice::kAuto:
        out["tool_choice"] = "auto";
        break;
      case ToolChoice::kAny:
        out["tool_choice"] = "required";
        break;
      case ToolChoice::kNone:
        out["tool_choice"] = "none";
        break;
      case ToolChoice::kTool:
        out["tool_choice"] = {{"type", "function"}, {"function", {{"name", tc.name}}}};
        break;
    }
    if (tc.disable_parallel) out["parallel_tool_calls"] = false;
  }
  if (c.max_tokens) out["max_tokens"] = *c.max_tokens;
  if (c.temperature) out["temperature"] = *c.temperature;
  if (c.top_p) out["top_p"] = *c.top_p;
  if (c.top_k) AddDropped(dropped, "top_k");
  if (!c.stop.empty()) out["stop"] = c.stop;
  if (c.user) out["user"] = *c.user;
  if (c.output_schema) {
    // Anthropic always constrains the answer to the schema: strict says the same to OpenAI. The
    // Messages API names no schema; Chat Completions requires a name.
    out["response_format"] = {
        {"type", "json_schema"},
        {"json_schema", {{"name", "response"}, {"schema", *c.output_schema}, {"strict", true}}}};
  }
  if (c.effort) out["reasoning_effort"] = *c.effort;
  if (c.stream) {
    out["stream"] = true;
    out["stream_options"] = {{"include_usage", true}};
  }
  return out;
}

json ToAnthropicRequest(const ChatRequest& req, std::string_view upstream_model,
                        std::vector<std::string>* dropped) {
  if (req.dialect == Dialect::kAnthropic) {
    json out = req.body;
    out["model"] = upstream_model;
    return out;
  }
  CanonicalRequest c = CanonicalFromOpenAI(req.body);
  for (const auto& u : c.unmapped) AddDropped(dropped, u);
  json out = {{"model", upstream_model}};
  out["max_tokens"] = c.max_tokens.value_or(kDefaultAnthropicMaxTokens);
  if (!c.system.empty()) out["system"] = JoinText(c.system, dropped);
  json msgs = json::array();
  for (const auto& m : c.messages) {
    json blocks = json::array();
    for (const auto& b : m.content) {
      json x = AnthropicBlock(b, dropped);
      if (!x.is_null()) blocks.push_back(std::move(x));
    }
    if (blocks.empty()) continue;
    // tool_result blocks must lead a user turn.
    std::stable_partition(blocks.begin(), blocks.end(),
                          [](const json& x) { return x["type"] == "tool_result"; });
    const char* role = m.role == Role::kUser ? "user" : "assistant";
    if (!msgs.empty() && msgs.back()["role"] == role) {
      for (auto& x : blocks) msgs.back()["content"].push_back(std::move(x));
    } else {
      msgs.push_back({{"role", role}, {"content", std::move(blocks)}});
    }
  }
  out["messages"] = std::move(msgs);
  if (!c.tools.empty()) {
    json tools = json::array();
    for (const auto& t : c.tools) {
      json x = {{"name", t.name}, {"input_schema", t.input_schema}};
      // OpenAI takes parameters without a top-level type ({} or only `properties`); Anthropic
      // refuses them ("tools.0.custom.input_schema.type: Field required").
      if (json& schema = x["input_schema"]; schema.is_object() && !schema.contains("type"))
        schema["type"] = "object";
      if (!t.description.empty()) x["description"] = t.description;
      tools.push_back(std::move(x));
    }
    out["tools"] = std::move(tools);
  }
  if (c.tool_choice) {
    const ToolChoice& tc = *c.tool_choice;
    static constexpr const char* kNames[] = {"auto", "any", "none", "tool"};
    json x = {{"type", kNames[tc.kind]}};
    if (tc.kind == ToolChoice::kTool) x["name"] = tc.name;
    if (tc.disable_parallel && tc.kind != ToolChoice::kNone) x["disable_parallel_tool_use"] = true;
    if (!c.tools.empty()) out["tool_choice"] = std::move(x);
  }
  if (c.temperature) {
    // OpenAI allows 0..2, Anthropic 0..1.
    if (*c.temperature > 1.0) AddDropped(dropped, "temperature (clamped to 1)");
    out["temperature"] = std::min(*c.temperature, 1.0);
  }
  // Current Claude models refuse the two together ("`temperature` and `top_p` cannot both be
  // specified for this model"); OpenAI clients often send both. temperature wins.
  // top_p 1 (OpenAI's default, sent by many clients) asks for nothing: no loss to report.
  if (c.top_p && c.temperature && *c.top_p != 1.0)
    AddDropped(dropped, "top_p (sent with temperature)");
  if (c.top_p && !c.temperature) out["top_p"] = *c.top_p;
  if (!c.stop.empty()) out["stop_sequences"] = c.stop;
  if (c.user) out["metadata"] = {{"user_id", *c.user}};
  if (c.output_schema || c.effort) {
    json oc = json::object();
    if (c.effort) oc["effort"] = *c.effort;
    if (c.output_schema) oc["format"] = {{"type", "json_schema"}, {"schema", *c.output_schema}};
    out["output_config"] = std::move(oc);
  }
  if (c.stream) out["stream"] = true;
  return out;
}

}  // namespace triage::dialect
