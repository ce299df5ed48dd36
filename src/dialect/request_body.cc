// Upstream request bodies as bytes. A request already in the upstream's dialect is written
// straight from the client's parsed tree, without the deep copy the tree path made, with the
// same bytes as that path (ToOpenAIRequest/ToAnthropicRequest, then dump()).
#include <algorithm>
#include <optional>
#include <string_view>

#include "dialect/json_util.h"
#include "dialect/shape.h"
#include "dialect/translate.h"

namespace triage::dialect {

using json = nlohmann::json;

namespace {

using Serializer = nlohmann::detail::serializer<json>;

// Writes v as dump(-1, ' ', false, error_handler_t::replace) would: containers walked here,
// strings through AppendJsonString (the same bytes as dump's, without its per-byte decoder),
// numbers, booleans and null through nlohmann's own serializer (`s` writes into the same
// string as `out`).
void AppendValue(std::string& out, Serializer& s, const json& v) {
  switch (v.type()) {
    case json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, member] : v.get_ref<const json::object_t&>()) {
        if (!first) out += ',';
        first = false;
        AppendJsonString(out, key);
        out += ':';
        AppendValue(out, s, member);
      }
      out += '}';
      return;
    }
    case json::value_t::array: {
      out += '[';
      bool first = true;
      for (const json& item : v.get_ref<const json::array_t&>()) {
        if (!first) out += ',';
        first = false;
        AppendValue(out, s, item);
      }
      out += ']';
      return;
    }
    case json::value_t::string:
      AppendJsonString(out, v.get_ref<const std::string&>());
      return;
    default:
      s.dump(v, /*pretty_print=*/false, /*ensure_ascii=*/false, /*indent_step=*/0);
      return;
  }
}

// A member of the body whose value the gateway sets: written instead of the body's own value, or
// added in its place in the key order when the body has no such member.
struct Override {
  std::string_view key;
  void (*write)(std::string& out, Serializer& s, const json* own, const void* arg);
  const void* arg;
};

// The members of object `obj` in nlohmann's order (its std::map's, by byte), with `overrides`
// (sorted by key, distinct) merged in: the same bytes as dump() of a copy of obj on which each
// override had been assigned (or, when its `write` is null, erased).
void AppendObjectWith(std::string& out, Serializer& s, const json& obj, const Override* overrides,
                      size_t n) {
  out += '{';
  bool first = true;
  size_t k = 0;
  auto add = [&](const Override& o, const json* own) {
    if (o.write == nullptr) return;  // removed
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, o.key);
    out += ':';
    o.write(out, s, own, o.arg);
  };
  for (const auto& [key, member] : obj.get_ref<const json::object_t&>()) {
    for (; k < n && overrides[k].key < std::string_view(key); ++k) add(overrides[k], nullptr);
    if (k < n && overrides[k].key == key) {
      add(overrides[k], &member);
      ++k;
      continue;
    }
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, key);
    out += ':';
    AppendValue(out, s, member);
  }
  for (; k < n; ++k) add(overrides[k], nullptr);
  out += '}';
}

void WriteModel(std::string& out, Serializer&, const json*, const void* model) {
  AppendJsonString(out, *static_cast<const std::string_view*>(model));
}

void WriteTrue(std::string& out, Serializer&, const json*, const void*) { out += "true"; }

void WriteJson(std::string& out, Serializer& s, const json*, const void* value) {
  AppendValue(out, s, *static_cast<const json*>(value));
}

void WriteInt(std::string& out, Serializer&, const json*, const void* n) {
  out += std::to_string(*static_cast<const int64_t*>(n));
}

// stream_options with include_usage forced on, as `o["stream_options"]["include_usage"] = true`
// leaves it: a missing or null member becomes {"include_usage":true}.
void WriteStreamOptions(std::string& out, Serializer& s, const json* own, const void*) {
  static const Override kIncludeUsage[] = {{"include_usage", &WriteTrue, nullptr}};
  if (own == nullptr || own->is_null()) {
    out += R"({"include_usage":true})";
    return;
  }
  AppendObjectWith(out, s, *own, kIncludeUsage, 1);
}

std::string Dumped(const json& body) {
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The client's own body with `model` replaced (and, for OpenAI streams, stream_options forced),
// shaped for the deployment when `shape` is set. nullopt when the body is not the validated
// shape the parsers produce (not an object, or stream_options neither an object nor null): the
// tree path then decides, exceptions included.
std::optional<std::string> PassThrough(const ChatRequest& req, std::string_view upstream_model,
                                       bool force_usage, const RequestShape* shape,
                                       std::vector<std::string>* dropped) {
  const json& body = req.body;
  if (!body.is_object()) return std::nullopt;
  if (force_usage) {
    auto so = body.find("stream_options");
    if (so != body.end() && !so->is_object() && !so->is_null()) return std::nullopt;
  }
  std::string out;
  out.reserve(req.prompt_text.size() + 256);
  Serializer s(nlohmann::detail::output_adapter<char, std::string>(out), ' ',
               json::error_handler_t::replace);
  const Override fixed[] = {{"model", &WriteModel, &upstream_model},
                            {"stream_options", &WriteStreamOptions, nullptr}};
  if (shape == nullptr) {  // the common case: nothing allocated beyond `out`
    AppendObjectWith(out, s, body, fixed, force_usage ? 2 : 1);
    return out;
  }
  // The shape never edits model or stream_options (the config refuses them), so the keys stay
  // distinct.
  const std::vector<ShapeEdit> edits = PlanShape(body, *shape, req.dialect, dropped);
  std::vector<Override> overrides(fixed, fixed + (force_usage ? 2 : 1));
  for (const ShapeEdit& e : edits) {
    if (e.value)
      overrides.push_back({e.key, &WriteJson, e.value});
    else if (e.number)
      overrides.push_back({e.key, &WriteInt, &*e.number});
    else
      overrides.push_back({e.key, nullptr, nullptr});
  }
  std::sort(overrides.begin(), overrides.end(),
            [](const Override& a, const Override& b) { return a.key < b.key; });
  AppendObjectWith(out, s, body, overrides.data(), overrides.size());
  return out;
}

}  // namespace

std::string OpenAIRequestBody(const ChatRequest& req, std::string_view upstream_model,
                              std::vector<std::string>* dropped, const RequestShape* shape) {
  if (req.dialect == Dialect::kOpenAI)
    if (auto out = PassThrough(req, upstream_model, req.stream, shape, dropped))
      return std::move(*out);
  json body = ToOpenAIRequest(req, upstream_model, dropped);
  if (shape) ApplyShape(body, *shape, Dialect::kOpenAI, dropped);
  if (req.stream) body["stream_options"]["include_usage"] = true;
  return Dumped(body);
}

std::string AnthropicRequestBody(const ChatRequest& req, std::string_view upstream_model,
                                 std::vector<std::string>* dropped, const RequestShape* shape) {
  if (req.dialect == Dialect::kAnthropic)
    if (auto out = PassThrough(req, upstream_model, false, shape, dropped)) return std::move(*out);
  json body = ToAnthropicRequest(req, upstream_model, dropped);
  if (shape) ApplyShape(body, *shape, Dialect::kAnthropic, dropped);
  return Dumped(body);
}

}  // namespace triage::dialect
