#include "dialect/anthropic.h"

#include "dialect/json_util.h"

namespace triage::dialect {

using json = nlohmann::json;

namespace {

// Returns an error unless obj[key] exists and is a string.
std::optional<Error> NeedString(const json& obj, const char* key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end()) return Missing(path + "." + key);
  if (!it->is_string()) return WrongType(path + "." + key, "a string", *it);
  return std::nullopt;
}

struct Acc {
  ChatRequest* req;
  bool system = false;  // the text being added is system instructions
  void AddText(std::string_view t) {
    AppendPromptText(&req->prompt_text, &req->system_bytes, t, system);
    req->prompt_chars += Utf8Chars(t);
  }
};

std::optional<Error> CheckSource(const json& b, const std::string& path, bool document) {
  auto s = b.find("source");
  if (s == b.end()) return Missing(path + ".source");
  if (!s->is_object()) return WrongType(path + ".source", "an object", *s);
  if (auto e = NeedString(*s, "type", path + ".source")) return e;
  const std::string& t = (*s)["type"].get_ref<const std::string&>();
  if (t == "base64") {
    if (auto e = NeedString(*s, "media_type", path + ".source")) return e;
    return NeedString(*s, "data", path + ".source");
  }
  if (t == "url") return NeedString(*s, "url", path + ".source");
  if (document && (t == "text" || t == "content" || t == "file")) return std::nullopt;
  if (t == "file") return std::nullopt;
  return BadValue(path + ".source.type", "unknown source type '" + t + "'");
}

std::optional<Error> CheckBlocks(const json& content, const std::string& path, bool assistant,
                                 bool in_tool_result, Acc& acc, std::string* user_text);

std::optional<Error> CheckBlock(const json& b, const std::string& path, bool assistant,
                                bool in_tool_result, Acc& acc, std::string* user_text) {
  if (!b.is_object()) return WrongType(path, "an object", b);
  if (auto e = NeedString(b, "type", path)) return e;
  const std::string& type = b["type"].get_ref<const std::string&>();
  if (type == "text") {
    if (auto e = NeedString(b, "text", path)) return e;
    const auto& t = b["text"].get_ref<const std::string&>();
    acc.AddText(t);
    if (user_text) {
      if (!user_text->empty()) *user_text += '\n';
      *user_text += t;
    }
    return std::nullopt;
  }
  if (type == "image") {
    acc.req->has_image = true;
    return CheckSource(b, path, false);
  }
  if (in_tool_result) {
    if (type == "document" || type == "search_result") return std::nullopt;
    return BadValue(path + ".type", "'" + type + "' is not allowed inside tool_result");
  }
  if (type == "document") return CheckSource(b, path, true);
  if (type == "tool_use" || type == "server_tool_use") {
    if (!assistant) return BadValue(path + ".type", "tool_use is only allowed on assistant");
    // A tool loop sets the router's tools feature, as in `triage eval`'s reader, whether or not
    // the request declares its tools.
    acc.req->has_tools = true;
    if (auto e = NeedString(b, "id", path)) return e;
    if (auto e = NeedString(b, "name", path)) return e;
    auto in = b.find("input");
    if (in == b.end()) return Missing(path + ".input");
    if (!in->is_object()) return WrongType(path + ".input", "an object", *in);
    return std::nullopt;
  }
  if (type == "tool_result") {
    if (assistant) return BadValue(path + ".type", "tool_result is only allowed on user");
    if (auto e = NeedString(b, "tool_use_id", path)) return e;
    acc.req->has_tools = true;
    if (auto ie = b.find("is_error"); ie != b.end() && !ie->is_boolean() && !ie->is_null())
      return WrongType(path + ".is_error", "a boolean", *ie);
    auto c = b.find("content");
    if (c == b.end() || c->is_null()) return std::nullopt;
    if (c->is_string()) {
      acc.AddText(c->get_ref<const std::string&>());
      return std::nullopt;
    }
    if (!c->is_array()) return WrongType(path + ".content", "a string or an array", *c);
    return CheckBlocks(*c, path + ".content", false, true, acc, nullptr);
  }
  if (type == "thinking" || type == "redacted_thinking") {
    if (!assistant) return BadValue(path + ".type", type + " is only allowed on assistant");
    return std::nullopt;
  }
  if (type == "web_search_tool_result" || type == "search_result" || type == "container_upload" ||
      type == "web_fetch_tool_result")
    return std::nullopt;
  return BadValue(path + ".type", "unknown content block type '" + type + "'");
}

std::optional<Error> CheckBlocks(const json& content, const std::string& path, bool assistant,
                                 bool in_tool_result, Acc& acc, std::string* user_text) {
  for (size_t k = 0; k < content.size(); ++k)
    if (auto e = CheckBlock(content[k], path + "[" + std::to_string(k) + "]", assistant,
                            in_tool_result, acc, user_text))
      return e;
  return std::nullopt;
}

std::optional<Error> CheckMessage(const json& m, size_t i, Acc& acc) {
  std::string path = "messages[" + std::to_string(i) + "]";
  if (!m.is_object()) return WrongType(path, "an object", m);
  if (auto e = NeedString(m, "role", path)) return e;
  const std::string& role = m["role"].get_ref<const std::string&>();
  if (role != "user" && role != "assistant")
    return BadValue(path + ".role", "unknown role '" + role + "' (expected user or assistant)");
  auto c = m.find("content");
  if (c == m.end()) return Missing(path + ".content");
  bool assistant = role == "assistant";
  std::string user_text;
  // The Messages API refuses a user turn without content; so does triage, whichever upstream.
  // (json::empty() is false for every string, so a string is measured itself.)
  if (!assistant && ((c->is_string() && c->get_ref<const std::string&>().empty()) ||
                     (c->is_array() && c->empty())))
    return BadValue(path + ".content", "must not be empty in a user message");
  if (c->is_string()) {
    acc.AddText(c->get_ref<const std::string&>());
    user_text = c->get<std::string>();
  } else if (c->is_array()) {
    if (auto e = CheckBlocks(*c, path + ".content", assistant, false, acc,
                             assistant ? nullptr : &user_text))
      return e;
  } else {
    return WrongType(path + ".content", "a string or an array of content blocks", *c);
  }
  // A user message without text (only tool results or images: the Messages API's tool loop) leaves
  // the last user text as it was, the question, as an OpenAI tool message does.
  if (!assistant && !user_text.empty()) {
    acc.req->prev_user_text = std::move(acc.req->last_user_text);
    acc.req->last_user_text = std::move(user_text);
  }
  return std::nullopt;
}

// Numeric sampling fields and the ranges the Messages API enforces.
constexpr NumberRule kNumberRules[] = {{"temperature", false, 0, 1},
                                       {"top_p", false, 0, 1},
                                       {"top_k", true, 0, 1e9},
                                       {"max_tokens", true, 1, 1e12}};

// output_config: shapes only; CheckTranslatable refuses values OpenAI has no equivalent for.
std::optional<Error> CheckOutputConfig(const json& b) {
  auto oc = b.find("output_config");
  if (oc == b.end() || oc->is_null()) return std::nullopt;
  if (!oc->is_object()) return WrongType("output_config", "an object", *oc);
  if (auto f = oc->find("format"); f != oc->end() && !f->is_null()) {
    if (!f->is_object()) return WrongType("output_config.format", "an object", *f);
    if (auto e = NeedString(*f, "type", "output_config.format")) return e;
    if ((*f)["type"] == "json_schema") {
      auto s = f->find("schema");
      if (s == f->end()) return Missing("output_config.format.schema");
      if (!s->is_object()) return WrongType("output_config.format.schema", "an object", *s);
    }
  }
  if (auto e = oc->find("effort"); e != oc->end() && !e->is_null() && !e->is_string())
    return WrongType("output_config.effort", "a string", *e);
  return std::nullopt;
}

std::optional<Error> CheckTools(const json& b, ChatRequest& req) {
  auto tools = b.find("tools");
  if (tools != b.end() && !tools->is_null()) {
    if (!tools->is_array()) return WrongType("tools", "an array", *tools);
    for (size_t i = 0; i < tools->size(); ++i) {
      const json& t = (*tools)[i];
      std::string p = "tools[" + std::to_string(i) + "]";
      if (!t.is_object()) return WrongType(p, "an object", t);
      auto ty = t.find("type");
      bool custom = ty == t.end() || ty->is_null() || *ty == "custom";
      if (custom) {
        if (auto e = NeedString(t, "name", p)) return e;
        auto s = t.find("input_schema");
        if (s == t.end()) return Missing(p + ".input_schema");
        if (!s->is_object()) return WrongType(p + ".input_schema", "an object", *s);
        continue;
      }
      // A typed tool (bash_..., web_search_..., and the toolsets, which have no `name`:
      // mcp_toolset, browser_toolset_..., computer_toolset_...) is Anthropic's to check.
      if (!ty->is_string()) return WrongType(p + ".type", "a string", *ty);
      if (auto n = t.find("name"); n != t.end() && !n->is_string())
        return WrongType(p + ".name", "a string", *n);
    }
    req.has_tools = req.has_tools || !tools->empty();
  }
  auto tc = b.find("tool_choice");
  if (tc != b.end() && !tc->is_null()) {
    if (!tc->is_object()) return WrongType("tool_choice", "an object", *tc);
    if (auto e = NeedString(*tc, "type", "tool_choice")) return e;
    const std::string& t = (*tc)["type"].get_ref<const std::string&>();
    if (t == "tool") {
      if (auto e = NeedString(*tc, "name", "tool_choice")) return e;
    } else if (t != "auto" && t != "any" && t != "none") {
      return BadValue("tool_choice.type", "unknown tool_choice type '" + t + "'");
    }
  }
  return std::nullopt;
}

}  // namespace

Result<ChatRequest> ParseAnthropicMessages(std::string_view body, int max_depth,
                                           bool require_max_tokens) {
  auto parsed = ParseJsonBody(body, max_depth);
  if (!parsed) return parsed.error();
  json& b = *parsed;
  if (!b.is_object()) return WrongType("body", "a JSON object", b);
  ChatRequest req;
  req.dialect = Dialect::kAnthropic;
  if (auto bad = CheckModelField(b)) return *bad;
  auto model = b.find("model");
  req.model = model->get<std::string>();
  if (require_max_tokens && (!b.contains("max_tokens") || b["max_tokens"].is_null()))
    return Missing("max_tokens");
  if (auto e = CheckNumberRules(b, kNumberRules)) return *e;

  Acc acc{&req};
  acc.system = true;
  if (auto s = b.find("system"); s != b.end() && !s->is_null()) {
    if (s->is_string()) {
      acc.AddText(s->get_ref<const std::string&>());
    } else if (s->is_array()) {
      for (size_t k = 0; k < s->size(); ++k) {
        std::string p = "system[" + std::to_string(k) + "]";
        const json& blk = (*s)[k];
        if (!blk.is_object()) return WrongType(p, "an object", blk);
        if (auto e = NeedString(blk, "type", p)) return *e;
        if (blk["type"] != "text") return BadValue(p + ".type", "expected 'text'");
        if (auto e = NeedString(blk, "text", p)) return *e;
        acc.AddText(blk["text"].get_ref<const std::string&>());
      }
    } else {
      return WrongType("system", "a string or an array of text blocks", *s);
    }
  }
  acc.system = false;
  auto msgs = b.find("messages");
  if (msgs == b.end()) return Missing("messages");
  if (!msgs->is_array()) return WrongType("messages", "an array", *msgs);
  if (msgs->empty()) return BadValue("messages", "must contain at least one message");
  for (size_t i = 0; i < msgs->size(); ++i)
    if (auto e = CheckMessage((*msgs)[i], i, acc)) return *e;
  req.message_count = static_cast<int>(msgs->size());

  if (auto s = b.find("stream"); s != b.end() && !s->is_null()) {
    if (!s->is_boolean()) return WrongType("stream", "a boolean", *s);
    req.stream = s->get<bool>();
  }
  if (auto s = b.find("stop_sequences"); s != b.end() && !s->is_null()) {
    if (!s->is_array()) return WrongType("stop_sequences", "an array of strings", *s);
    for (size_t i = 0; i < s->size(); ++i)
      if (!(*s)[i].is_string())
        return WrongType("stop_sequences[" + std::to_string(i) + "]", "a string", (*s)[i]);
  }
  if (auto m = b.find("metadata"); m != b.end() && !m->is_null()) {
    if (!m->is_object()) return WrongType("metadata", "an object", *m);
    if (auto u = m->find("user_id"); u != m->end() && !u->is_null() && !u->is_string())
      return WrongType("metadata.user_id", "a string", *u);
  }
  if (auto e = CheckTools(b, req)) return *e;
  if (auto e = CheckOutputConfig(b)) return *e;
  req.body = std::move(b);
  return req;
}

std::string_view AnthropicErrorType(const Error& e) {
  if (e.upstream_status == 529) return "overloaded_error";
  switch (e.kind) {
    case ErrorKind::kInvalidRequest:
    case ErrorKind::kHeadersTooLarge:
    case ErrorKind::kUnsupportedMediaType:
    case ErrorKind::kClientTimeout:
    case ErrorKind::kNotImplemented:
      return "invalid_request_error";
    case ErrorKind::kRequestTooLarge:
      return "request_too_large";
    case ErrorKind::kAuthentication:
      return "authentication_error";
    case ErrorKind::kPermission:
      return "permission_error";
    case ErrorKind::kNotFound:
      return "not_found_error";
    case ErrorKind::kRateLimit:
      return "rate_limit_error";
    case ErrorKind::kUnavailable:
      return "overloaded_error";
    case ErrorKind::kUpstreamTimeout:
      return "timeout_error";
    case ErrorKind::kUpstream:
    case ErrorKind::kInternal:
      return "api_error";
  }
  return "api_error";
}

int AnthropicHttpStatus(const Error& e) {
  if (e.upstream_status == 529) return 529;
  return HttpStatus(e.kind);
}

std::string AnthropicErrorBody(const Error& error, std::string_view request_id) {
  json inner = json::object();
  inner["type"] = AnthropicErrorType(error);
  inner["message"] = error.message;
  json out = json::object();
  out["type"] = "error";
  out["error"] = std::move(inner);
  if (!request_id.empty()) out["request_id"] = request_id;
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace triage::dialect
