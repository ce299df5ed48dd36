#include "dialect/openai.h"

#include <algorithm>
#include <array>

#include "dialect/canonical.h"
#include "dialect/fast_json.h"
#include "dialect/json_util.h"

namespace triage::dialect {

using json = nlohmann::json;

namespace {

// Optional field present and not null.
const json* Opt(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

struct Acc {
  ChatRequest* req;
  bool system = false;  // the text being added is system instructions
  void AddText(std::string_view text) {
    AppendPromptText(&req->prompt_text, &req->system_bytes, text, system);
    req->prompt_chars += Utf8Chars(text);
  }
};

// Validates one content part and accumulates its text; `user_text` collects text parts.
std::optional<Error> CheckPart(const json& part, const std::string& path, Acc& acc,
                               std::string* user_text) {
  if (!part.is_object()) return WrongType(path, "an object", part);
  auto t = part.find("type");
  if (t == part.end()) return Missing(path + ".type");
  if (!t->is_string()) return WrongType(path + ".type", "a string", *t);
  const std::string& type = t->get_ref<const std::string&>();
  if (type == "text" || type == "refusal") {
    const char* key = type == "text" ? "text" : "refusal";
    auto x = part.find(key);
    if (x == part.end()) return Missing(path + "." + key);
    if (!x->is_string()) return WrongType(path + "." + key, "a string", *x);
    const auto& s = x->get_ref<const std::string&>();
    acc.AddText(s);
    if (user_text) {
      if (!user_text->empty()) *user_text += '\n';
      *user_text += s;
    }
    return std::nullopt;
  }
  if (type == "image_url") {
    auto x = part.find("image_url");
    if (x == part.end()) return Missing(path + ".image_url");
    if (!x->is_object()) return WrongType(path + ".image_url", "an object", *x);
    auto u = x->find("url");
    if (u == x->end()) return Missing(path + ".image_url.url");
    if (!u->is_string()) return WrongType(path + ".image_url.url", "a string", *u);
    acc.req->has_image = true;
    return std::nullopt;
  }
  if (type == "input_audio") {
    auto x = part.find("input_audio");
    if (x == part.end()) return Missing(path + ".input_audio");
    if (!x->is_object()) return WrongType(path + ".input_audio", "an object", *x);
    for (const char* k : {"data", "format"}) {
      auto f = x->find(k);
      if (f == x->end()) return Missing(path + ".input_audio." + k);
      if (!f->is_string()) return WrongType(path + ".input_audio." + k, "a string", *f);
    }
    acc.req->has_audio = true;
    return std::nullopt;
  }
  if (type == "file") {
    auto x = part.find("file");
    if (x == part.end()) return Missing(path + ".file");
    if (!x->is_object()) return WrongType(path + ".file", "an object", *x);
    return std::nullopt;
  }
  return BadValue(path + ".type", "unknown content part type '" + type +
                                      "' (expected text, image_url, input_audio, file or refusal)");
}

std::optional<Error> CheckToolCalls(const json& calls, const std::string& path) {
  if (!calls.is_array()) return WrongType(path, "an array", calls);
  for (size_t i = 0; i < calls.size(); ++i) {
    const json& c = calls[i];
    std::string p = path + "[" + std::to_string(i) + "]";
    if (!c.is_object()) return WrongType(p, "an object", c);
    auto id = c.find("id");
    if (id == c.end()) return Missing(p + ".id");
    if (!id->is_string()) return WrongType(p + ".id", "a string", *id);
    auto fn = c.find("function");
    if (fn == c.end()) return Missing(p + ".function");
    if (!fn->is_object()) return WrongType(p + ".function", "an object", *fn);
    auto name = fn->find("name");
    if (name == fn->end()) return Missing(p + ".function.name");
    if (!name->is_string()) return WrongType(p + ".function.name", "a string", *name);
    auto args = fn->find("arguments");
    if (args != fn->end() && !args->is_string())
      return WrongType(p + ".function.arguments", "a string", *args);
  }
  return std::nullopt;
}

constexpr std::array<std::string_view, 6> kRoles = {"system",    "developer", "user",
                                                    "assistant", "tool",      "function"};

std::optional<Error> CheckMessage(const json& m, size_t i, Acc& acc) {
  std::string path = "messages[" + std::to_string(i) + "]";
  if (!m.is_object()) return WrongType(path, "an object", m);
  auto r = m.find("role");
  if (r == m.end()) return Missing(path + ".role");
  if (!r->is_string()) return WrongType(path + ".role", "a string", *r);
  const std::string& role = r->get_ref<const std::string&>();
  bool known = false;
  for (auto k : kRoles) known |= role == k;
  if (!known)
    return BadValue(path + ".role", "unknown role '" + role +
                                        "' (expected system, developer, user, assistant, "
                                        "tool or function)");
  const json* tool_calls = Opt(m, "tool_calls");
  if (tool_calls) {
    if (role != "assistant") return BadValue(path + ".tool_calls", "only allowed on assistant");
    if (auto e = CheckToolCalls(*tool_calls, path + ".tool_calls")) return e;
  }
  // A tool loop sets the router's tools feature, as in `triage eval`'s reader, whether or not
  // the request declares its tools.
  if (tool_calls || Opt(m, "function_call") || role == "tool" || role == "function")
    acc.req->has_tools = true;
  if (role == "tool") {
    auto id = m.find("tool_call_id");
    if (id == m.end()) return Missing(path + ".tool_call_id");
    if (!id->is_string()) return WrongType(path + ".tool_call_id", "a string", *id);
  }
  if (auto n = m.find("name"); n != m.end() && !n->is_null() && !n->is_string())
    return WrongType(path + ".name", "a string", *n);
  bool is_user = role == "user";
  acc.system = role == "system" || role == "developer";
  acc.req->system_messages += acc.system;
  std::string user_text;
  auto c = m.find("content");
  if (c == m.end() || c->is_null()) {
    bool may_omit = role == "assistant" &&
                    (tool_calls || Opt(m, "function_call") || Opt(m, "refusal") || Opt(m, "audio"));
    if (!may_omit) {
      if (c == m.end()) return Missing(path + ".content");
      return BadValue(path + ".content",
                      "null is only allowed on assistant messages with tool_calls");
    }
  } else if (c->is_string()) {
    acc.AddText(c->get_ref<const std::string&>());
    if (is_user) user_text = c->get_ref<const std::string&>();
  } else if (c->is_array()) {
    for (size_t k = 0; k < c->size(); ++k) {
      if (auto e = CheckPart((*c)[k], path + ".content[" + std::to_string(k) + "]", acc,
                             is_user ? &user_text : nullptr))
        return e;
    }
  } else {
    return WrongType(path + ".content", "a string, an array of content parts or null", *c);
  }
  // A user message without text (only images or audio) leaves the last user text as it was.
  if (is_user && !user_text.empty()) {
    acc.req->prev_user_text = std::move(acc.req->last_user_text);
    acc.req->last_user_text = std::move(user_text);
  }
  acc.system = false;
  return std::nullopt;
}

// Numeric sampling fields: type, integrality and the ranges OpenAI enforces.
constexpr NumberRule kNumberRules[] = {
    {"temperature", false, 0, 2},
    {"top_p", false, 0, 1},
    {"frequency_penalty", false, -2, 2},
    {"presence_penalty", false, -2, 2},
    {"max_tokens", true, 1, 1e15},
    {"max_completion_tokens", true, 1, 1e15},
    {"n", true, 1, 128},
    {"seed", true, -9.2e18, 9.2e18},
    {"top_logprobs", true, 0, 20},
};

std::optional<Error> CheckTools(const json& b, ChatRequest& req) {
  if (const json* tools = Opt(b, "tools")) {
    if (!tools->is_array()) return WrongType("tools", "an array", *tools);
    for (size_t i = 0; i < tools->size(); ++i) {
      const json& t = (*tools)[i];
      std::string p = "tools[" + std::to_string(i) + "]";
      if (!t.is_object()) return WrongType(p, "an object", t);
      auto ty = t.find("type");
      if (ty != t.end() && !ty->is_string()) return WrongType(p + ".type", "a string", *ty);
      if (ty == t.end() || *ty == "function") {
        auto fn = t.find("function");
        if (fn == t.end()) return Missing(p + ".function");
        if (!fn->is_object()) return WrongType(p + ".function", "an object", *fn);
        auto name = fn->find("name");
        if (name == fn->end()) return Missing(p + ".function.name");
        if (!name->is_string()) return WrongType(p + ".function.name", "a string", *name);
        if (auto ps = fn->find("parameters"); ps != fn->end() && !ps->is_object())
          return WrongType(p + ".function.parameters", "an object", *ps);
      }
    }
    req.has_tools = req.has_tools || !tools->empty();
  }
  if (const json* fns = Opt(b, "functions")) {  // deprecated spelling of tools
    if (!fns->is_array()) return WrongType("functions", "an array", *fns);
    req.has_tools = req.has_tools || !fns->empty();
  }
  if (const json* tc = Opt(b, "tool_choice")) {
    if (!tc->is_string() && !tc->is_object())
      return WrongType("tool_choice", "a string or an object", *tc);
    const std::string* s = tc->is_string() ? &tc->get_ref<const std::string&>() : nullptr;
    if (s && *s != "none" && *s != "auto" && *s != "required")
      return BadValue("tool_choice",
                      "unknown value '" + *s + "' (expected none, auto or required)");
  }
  if (const json* user = Opt(b, "user"); user && !user->is_string())
    return WrongType("user", "a string", *user);
  return std::nullopt;
}

// Structured output and effort. Only shapes are checked here: values another server may know
// (vLLM's response_format structural_tag) pass through; CheckTranslatable refuses what
// Anthropic cannot take.
std::optional<Error> CheckOutputParams(const json& b) {
  if (const json* rf = Opt(b, "response_format")) {
    if (!rf->is_object()) return WrongType("response_format", "an object", *rf);
    auto t = rf->find("type");
    if (t == rf->end()) return Missing("response_format.type");
    if (!t->is_string()) return WrongType("response_format.type", "a string", *t);
    if (*t == "json_schema") {
      auto js = rf->find("json_schema");
      if (js == rf->end()) return Missing("response_format.json_schema");
      if (!js->is_object()) return WrongType("response_format.json_schema", "an object", *js);
      if (const json* schema = Opt(*js, "schema"); schema && !schema->is_object())
        return WrongType("response_format.json_schema.schema", "an object", *schema);
    }
  }
  if (const json* re = Opt(b, "reasoning_effort"); re && !re->is_string())
    return WrongType("reasoning_effort", "a string", *re);
  return std::nullopt;
}

}  // namespace

Result<ChatRequest> ParseOpenAIChat(std::string_view body, int max_depth) {
  auto parsed = ParseJsonBody(body, max_depth);
  if (!parsed) return parsed.error();
  json& b = *parsed;
  if (!b.is_object()) return WrongType("body", "a JSON object", b);

  ChatRequest req;
  req.dialect = Dialect::kOpenAI;
  if (auto bad = CheckModelField(b)) return *bad;
  auto model = b.find("model");
  req.model = model->get<std::string>();

  auto msgs = b.find("messages");
  if (msgs == b.end()) return Missing("messages");
  if (!msgs->is_array()) return WrongType("messages", "an array", *msgs);
  if (msgs->empty()) return BadValue("messages", "must contain at least one message");
  Acc acc{&req};
  for (size_t i = 0; i < msgs->size(); ++i)
    if (auto e = CheckMessage((*msgs)[i], i, acc)) return *e;
  req.message_count = static_cast<int>(msgs->size());

  if (const json* s = Opt(b, "stream")) {
    if (!s->is_boolean()) return WrongType("stream", "a boolean", *s);
    req.stream = s->get<bool>();
  }
  if (const json* so = Opt(b, "stream_options")) {
    if (!so->is_object()) return WrongType("stream_options", "an object", *so);
    if (const json* iu = Opt(*so, "include_usage")) {
      if (!iu->is_boolean()) return WrongType("stream_options.include_usage", "a boolean", *iu);
      req.include_usage = iu->get<bool>();
    }
  }
  if (auto e = CheckNumberRules(b, kNumberRules)) return *e;
  if (auto e = CheckTools(b, req)) return *e;
  if (auto e = CheckOutputParams(b)) return *e;
  if (const json* stop = Opt(b, "stop")) {
    if (!stop->is_string() && !stop->is_array())
      return WrongType("stop", "a string or an array of strings", *stop);
    if (stop->is_array())
      for (size_t i = 0; i < stop->size(); ++i)
        if (!(*stop)[i].is_string())
          return WrongType("stop[" + std::to_string(i) + "]", "a string", (*stop)[i]);
  }
  req.body = std::move(b);
  return req;
}

std::string_view OpenAIErrorType(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidRequest:
    case ErrorKind::kRequestTooLarge:
    case ErrorKind::kHeadersTooLarge:
    case ErrorKind::kUnsupportedMediaType:
    case ErrorKind::kNotImplemented:
      return "invalid_request_error";
    case ErrorKind::kAuthentication:
      return "authentication_error";
    case ErrorKind::kPermission:
      return "permission_error";
    case ErrorKind::kNotFound:  // as OpenAI's own 404s (model_not_found) are typed
      return "invalid_request_error";
    case ErrorKind::kRateLimit:
      return "rate_limit_error";
    case ErrorKind::kClientTimeout:
    case ErrorKind::kUpstreamTimeout:
      return "timeout_error";
    case ErrorKind::kUpstream:
      return "api_error";
    case ErrorKind::kUnavailable:
    case ErrorKind::kInternal:
      return "server_error";
  }
  return "server_error";
}

std::string OpenAIErrorBody(const Error& error) {
  json inner = json::object();
  inner["message"] = error.message;
  inner["type"] = OpenAIErrorType(error.kind);
  if (error.param.empty())
    inner["param"] = nullptr;
  else
    inner["param"] = error.param;
  if (error.code.empty())
    inner["code"] = nullptr;
  else
    inner["code"] = error.code;
  json out = json::object();
  out["error"] = std::move(inner);
  // Messages may quote client bytes; never let invalid UTF-8 turn into an exception.
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

TokenUsage UsageFrom(const json& u) {
  TokenUsage t;
  t.input_tokens = fast_json::JsonTokenCount(u, "prompt_tokens");
  t.output_tokens = fast_json::JsonTokenCount(u, "completion_tokens");
  if (auto d = u.find("prompt_tokens_details"); d != u.end() && d->is_object())
    t.cached_input_tokens = fast_json::JsonTokenCount(*d, "cached_tokens");
  // Cached tokens are part of prompt_tokens: a report of more is capped (the row stays whole).
  t.cached_input_tokens = std::min(t.cached_input_tokens, t.input_tokens);
  return t;
}

bool NonEmptyString(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() && !it->get_ref<const std::string&>().empty();
}

// Characters (UTF-8 code points) of a string member, 0 for anything else.
int64_t StringChars(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? Utf8Chars(it->get_ref<const std::string&>()) : 0;
}

}  // namespace

ChunkInfo InspectOpenAIChunkTree(std::string_view data) {
  ChunkInfo info;
  if (data == "[DONE]") return info;
  json j = json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    info.is_error = true;
    return info;
  }
  if (auto e = j.find("error"); e != j.end() && !e->is_null()) {
    info.is_error = true;
    info.error_object = true;
    if (e->is_object()) {
      if (auto m = e->find("message"); m != e->end() && m->is_string())
        info.error_message = m->get<std::string>();
    } else if (e->is_string()) {
      info.error_message = e->get<std::string>();
    }
    if (info.error_message.empty()) info.error_message = "upstream stream error";
    return info;
  }
  if (auto c = j.find("choices"); c != j.end() && c->is_array()) {
    info.has_choices = !c->empty();
    for (const auto& ch : *c) {
      if (!ch.is_object()) continue;
      if (auto d = ch.find("delta"); d != ch.end() && d->is_object()) {
        auto tc = d->find("tool_calls");
        // reasoning_content is what DeepSeek/vLLM servers stream before the answer.
        info.text_chars += StringChars(*d, "content") + StringChars(*d, "refusal") +
                           StringChars(*d, "reasoning_content") + StringChars(*d, "reasoning");
        if (tc != d->end() && tc->is_array())
          for (const auto& call : *tc)
            if (call.is_object())
              info.text_chars += StringChars(JsonObj(call, "function"), "arguments");
        if (auto fc = d->find("function_call"); fc != d->end() && fc->is_object())
          info.text_chars += StringChars(*fc, "arguments");
        if (NonEmptyString(*d, "content") || NonEmptyString(*d, "refusal") ||
            NonEmptyString(*d, "reasoning_content") || NonEmptyString(*d, "reasoning") ||
            (tc != d->end() && tc->is_array() && !tc->empty()) ||
            (d->contains("function_call") && (*d)["function_call"].is_object()))
          info.has_content = true;
      }
      if (auto f = ch.find("finish_reason"); f != ch.end() && f->is_string())
        info.finish_reason = f->get<std::string>();
    }
  }
  if (auto u = j.find("usage"); u != j.end() && u->is_object()) info.usage = UsageFrom(*u);
  return info;
}

namespace {

namespace sj = simdjson::dom;
using fast_json::Last;
using fast_json::LastOf;
using fast_json::NonEmptyString;
using fast_json::StringOr;

// The message of a non-null `error`: error.message, or the error itself when a string, or
// "upstream stream error".
std::string StreamErrorMessage(sj::element error) {
  sj::object e;
  std::string message = error.get_object().get(e) == simdjson::SUCCESS
                            ? StringOr(Last(e, "message"))
                            : StringOr(error);
  return message.empty() ? "upstream stream error" : message;
}

// Characters of the `arguments` string of obj[key] (tool_calls[i].function, function_call).
int64_t ArgumentChars(sj::element holder) {
  sj::object o;
  return holder.get_object().get(o) == simdjson::SUCCESS
             ? fast_json::StringChars(Last(o, "arguments"))
             : 0;
}

// Whether the delta carries content; *chars += the characters of its generated text.
bool DeltaHasContent(sj::object delta, int64_t* chars) {
  // One pass over the fields; each key's last occurrence decides.
  bool text[4] = {false, false, false, false}, tools = false, function_call = false;
  int64_t n[6] = {0, 0, 0, 0, 0, 0};
  for (auto f : delta) {
    if (f.key == "content") {
      text[0] = NonEmptyString(f.value);
      n[0] = fast_json::StringChars(f.value);
    } else if (f.key == "refusal") {
      text[1] = NonEmptyString(f.value);
      n[1] = fast_json::StringChars(f.value);
    } else if (f.key == "reasoning_content") {  // DeepSeek / vLLM reasoning before the answer
      text[2] = NonEmptyString(f.value);
      n[2] = fast_json::StringChars(f.value);
    } else if (f.key == "reasoning") {
      text[3] = NonEmptyString(f.value);
      n[3] = fast_json::StringChars(f.value);
    } else if (f.key == "tool_calls") {
      sj::array a;
      tools = f.value.get_array().get(a) == simdjson::SUCCESS && a.begin() != a.end();
      n[4] = 0;
      if (tools) {
        for (sj::element call : a) {
          sj::object tc;
          if (call.get_object().get(tc) != simdjson::SUCCESS) continue;
          if (auto fn = Last(tc, "function")) n[4] += ArgumentChars(*fn);
        }
      }
    } else if (f.key == "function_call") {
      function_call = f.value.is_object();
      n[5] = ArgumentChars(f.value);
    }
  }
  *chars += n[0] + n[1] + n[2] + n[3] + n[4] + n[5];
  return text[0] || text[1] || text[2] || text[3] || tools || function_call;
}

// simdjson's reading into info; false when simdjson refuses the payload.
bool InspectWithSimdjson(std::string_view data, ChunkInfo& info) {
  sj::object top;
  const fast_json::Parsed parsed = fast_json::ParseObject(data, &top);
  if (parsed == fast_json::Parsed::kRefused) return false;
  if (parsed == fast_json::Parsed::kNotObject) {
    info.is_error = true;
    return true;
  }
  const auto [error, choices, usage] = LastOf<3>(top, {"error", "choices", "usage"});
  if (error && !error->is_null()) {
    info.is_error = true;
    info.error_object = true;
    info.error_message = StreamErrorMessage(*error);
    return true;
  }
  sj::array choice_list;
  if (choices && choices->get_array().get(choice_list) == simdjson::SUCCESS) {
    for (sj::element ch : choice_list) {
      info.has_choices = true;
      sj::object choice;
      if (ch.get_object().get(choice) != simdjson::SUCCESS) continue;
      const auto [delta, finish] = LastOf<2>(choice, {"delta", "finish_reason"});
      sj::object d;
      if (delta && delta->get_object().get(d) == simdjson::SUCCESS &&
          DeltaHasContent(d, &info.text_chars))
        info.has_content = true;
      std::string_view reason;
      if (finish && finish->get_string().get(reason) == simdjson::SUCCESS)
        info.finish_reason = std::string(reason);
    }
  }
  sj::object u;
  if (usage && usage->get_object().get(u) == simdjson::SUCCESS)
    info.usage = fast_json::OpenAIUsage(u);
  return true;
}

}  // namespace

ChunkInfo InspectOpenAIChunk(std::string_view data) {
  ChunkInfo info;
  if (data == "[DONE]") return info;
  if (InspectWithSimdjson(data, info)) return info;
  return InspectOpenAIChunkTree(data);
}

std::optional<ChunkInfo> InspectOpenAIChunkSimdjson(std::string_view data) {
  ChunkInfo info;
  if (data == "[DONE]") return info;
  if (!InspectWithSimdjson(data, info)) return std::nullopt;
  return info;
}

namespace {

// Int() of the translators: an integer member (unsigned ones cast), else 0.
// The translator's message for a chunk with an `error` key: InspectOpenAIChunk's message, or
// "upstream error" when that is empty (a null error).
std::string TranslatorError(const std::string& inspected) {
  return inspected.empty() ? "upstream error" : inspected;
}

}  // namespace

std::optional<OpenAIChunkView> ReadOpenAIChunkSimdjson(std::string_view data) {
  sj::object top;
  const fast_json::Parsed parsed = fast_json::ParseObject(data, &top);
  if (parsed == fast_json::Parsed::kRefused) return std::nullopt;
  OpenAIChunkView v;
  v.is_object = parsed == fast_json::Parsed::kObject;
  if (!v.is_object) return v;
  const auto [error, id, model, usage, choices] =
      LastOf<5>(top, {"error", "id", "model", "usage", "choices"});
  if (error) {  // InspectOpenAIChunk's reading of the error
    v.error = TranslatorError(error->is_null() ? "" : StreamErrorMessage(*error));
    return v;
  }
  v.id = StringOr(id);
  v.model = StringOr(model);
  sj::object u;
  if (usage && usage->get_object().get(u) == simdjson::SUCCESS) v.usage = fast_json::OpenAIUsage(u);
  sj::array list;
  if (!choices || choices->get_array().get(list) != simdjson::SUCCESS || list.begin() == list.end())
    return v;
  v.has_choice = true;
  sj::object choice;
  if ((*list.begin()).get_object().get(choice) != simdjson::SUCCESS) return v;
  const auto [delta, finish, stop_reason, matched_stop] =
      LastOf<4>(choice, {"delta", "finish_reason", "stop_reason", "matched_stop"});
  v.finish_reason = StringOr(finish);
  v.stop_sequence =
      OpenAIMatchedStop(v.finish_reason, StringOr(stop_reason), StringOr(matched_stop));
  sj::object d;
  if (!delta || delta->get_object().get(d) != simdjson::SUCCESS) return v;
  const auto [content, refusal, tool_calls, reasoning_content, reasoning] =
      LastOf<5>(d, {"content", "refusal", "tool_calls", "reasoning_content", "reasoning"});
  v.content = StringOr(content);
  v.refusal = StringOr(refusal);
  v.reasoning_chars = fast_json::StringChars(reasoning_content) + fast_json::StringChars(reasoning);
  sj::array calls;
  if (!tool_calls || tool_calls->get_array().get(calls) != simdjson::SUCCESS) return v;
  for (sj::element call : calls) {
    sj::object tc;
    if (call.get_object().get(tc) != simdjson::SUCCESS) continue;
    ToolCallDelta t;
    const auto [index, call_id, function] = LastOf<3>(tc, {"index", "id", "function"});
    t.index = fast_json::IntegerOr0(index);
    t.has_index = index && !index->is_null();
    t.id = StringOr(call_id);
    sj::object fn;
    if (function && function->get_object().get(fn) == simdjson::SUCCESS) {
      const auto [name, arguments] = LastOf<2>(fn, {"name", "arguments"});
      t.name = StringOr(name);
      t.arguments = StringOr(arguments);
    }
    v.tool_calls.push_back(std::move(t));
  }
  return v;
}

OpenAIChunkView ReadOpenAIChunkTree(std::string_view data) {
  OpenAIChunkView v;
  json j = json::parse(data, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return v;
  v.is_object = true;
  if (j.contains("error")) {
    v.error = TranslatorError(InspectOpenAIChunkTree(data).error_message);
    return v;
  }
  v.id = JsonStr(j, "id");
  v.model = JsonStr(j, "model");
  if (j.contains("usage") && j["usage"].is_object()) v.usage = InspectOpenAIChunkTree(data).usage;
  if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) return v;
  v.has_choice = true;
  const json& choice = j["choices"][0];
  const json& delta = JsonObj(choice, "delta");
  v.content = JsonStr(delta, "content");
  v.refusal = JsonStr(delta, "refusal");
  v.reasoning_chars = StringChars(delta, "reasoning_content") + StringChars(delta, "reasoning");
  if (delta.contains("tool_calls") && delta["tool_calls"].is_array()) {
    for (const auto& tc : delta["tool_calls"]) {
      if (!tc.is_object()) continue;
      ToolCallDelta t;
      t.index = JsonInteger(tc, "index");
      t.has_index = tc.contains("index") && !tc["index"].is_null();
      t.id = JsonStr(tc, "id");
      const json& fn = JsonObj(tc, "function");
      t.name = JsonStr(fn, "name");
      t.arguments = JsonStr(fn, "arguments");
      v.tool_calls.push_back(std::move(t));
    }
  }
  v.finish_reason = JsonStr(choice, "finish_reason");
  v.stop_sequence = OpenAIMatchedStop(v.finish_reason, JsonStr(choice, "stop_reason"),
                                      JsonStr(choice, "matched_stop"));
  return v;
}

OpenAIChunkView ReadOpenAIChunk(std::string_view data) {
  if (auto fast = ReadOpenAIChunkSimdjson(data)) return std::move(*fast);
  return ReadOpenAIChunkTree(data);
}

Result<TokenUsage> OpenAIResponseUsage(const json& response) {
  const json* u = nullptr;
  if (response.is_object()) {
    auto it = response.find("usage");
    if (it != response.end() && it->is_object()) u = &*it;
  }
  if (!u || !u->contains("prompt_tokens") || !u->contains("completion_tokens"))
    return Error::Make(ErrorKind::kUpstream, "upstream_no_usage", "upstream response has no usage");
  return UsageFrom(*u);
}

}  // namespace triage::dialect
