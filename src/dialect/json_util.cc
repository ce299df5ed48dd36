#include "dialect/json_util.h"

#include <simdjson.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "dialect/fast_json.h"

namespace triage::dialect {

using json = nlohmann::json;

int JsonDepthExceeds(std::string_view body, int limit) {
  int depth = 0;
  int max_seen = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_seen) {
          max_seen = depth;
          if (max_seen > limit) return max_seen;
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return max_seen > limit ? max_seen : 0;
}

std::optional<std::string> AnswerTooDeep(std::string_view data) {
  // Deeper than the bound takes more opening brackets than that: a stream's ordinary events
  // (a few hundred bytes) are not scanned.
  if (data.size() <= static_cast<size_t>(kMaxAnswerJsonDepth)) return std::nullopt;
  if (!JsonDepthExceeds(data, kMaxAnswerJsonDepth)) return std::nullopt;
  return "upstream sent a malformed answer: JSON nested deeper than " +
         std::to_string(kMaxAnswerJsonDepth) + " levels";
}

namespace {

// DOM builder that remembers where the first syntax error was; sax_parse dispatches
// statically, so shadowing parse_error is enough.
class OffsetSax : public nlohmann::detail::json_sax_dom_parser<json> {
 public:
  explicit OffsetSax(json& root) : json_sax_dom_parser(root, /*allow_exceptions=*/false) {}
  template <class Exception>
  bool parse_error(std::size_t position, const std::string& token, const Exception& ex) {
    position_ = position;
    std::string what = ex.what();
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix: callers name the cause.
    if (auto p = what.find("] "); p != std::string::npos && what.starts_with("[json."))
      what.erase(0, p + 2);
    message_ = std::move(what);
    return json_sax_dom_parser::parse_error(position, token, ex);
  }
  std::size_t position_ = 0;
  std::string message_;
};

}  // namespace

Error BadRequest(std::string code, std::string message) {
  return Error::Make(ErrorKind::kInvalidRequest, std::move(code), std::move(message));
}

Result<json> ParseJsonBody(std::string_view body, int max_depth) {
  if (auto tree = fast_json::ParseBody(body, max_depth)) return std::move(*tree);
  return ParseJsonBodyTree(body, max_depth);
}

Result<json> ParseJsonBodyTree(std::string_view body, int max_depth) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return BadRequest("empty_body", "body: empty");
  if (JsonDepthExceeds(body, max_depth))
    return BadRequest("json_too_deep",
                      "body: JSON nested deeper than " + std::to_string(max_depth) + " levels");
  json root;
  OffsetSax sax(root);
  bool ok = json::sax_parse(body.begin(), body.end(), &sax, json::input_format_t::json,
                            /*strict=*/true);
  if (!ok || sax.is_errored()) {
    // nlohmann counts the offending character as read; report the 0-based byte offset.
    size_t at = sax.position_ > 0 ? sax.position_ - 1 : 0;
    return BadRequest("invalid_json",
                      "body: invalid JSON at byte " + std::to_string(at) + ": " + sax.message_);
  }
  // nlohmann's lexer reads a NUL byte as the end of the input, so a NUL after the value, and
  // whatever followed it, parsed as if it were not there. A NUL is valid nowhere in JSON text (in
  // a string it must be escaped, and there the parse above already failed).
  if (const size_t nul = body.find('\0'); nul != std::string_view::npos)
    return BadRequest("invalid_json", "body: invalid JSON at byte " + std::to_string(nul) +
                                          ": NUL byte after the JSON value");
  return root;
}

int64_t Utf8Chars(std::string_view s) {
  int64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::optional<Error> CheckModelField(const json& body) {
  auto model = body.find("model");
  if (model == body.end()) return Missing("model");
  if (!model->is_string()) return WrongType("model", "a string", *model);
  const auto& name = model->get_ref<const std::string&>();
  if (name.empty()) return BadValue("model", "must not be empty");
  if (name.size() > kMaxModelBytes)
    return BadValue("model", "is " + std::to_string(name.size()) + " bytes long; at most " +
                                 std::to_string(kMaxModelBytes) + " are accepted");
  return std::nullopt;
}

int64_t JsonInteger(const json& obj, const char* key) {
  if (!obj.is_object()) return 0;
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

namespace {

// Whether any of the eight bytes at p needs escaping (a control byte, '"' or '\\'), with the
// word-at-a-time tests of "Bit Twiddling Hacks" (hasless, haszero): exact as to whether such a
// byte exists, which is all the caller asks.
bool AnyToEscape(const char* p) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  uint64_t v;
  std::memcpy(&v, p, 8);
  const uint64_t control = (v - kOnes * 0x20) & ~v;
  const uint64_t q = v ^ (kOnes * '"');
  const uint64_t quote = (q - kOnes) & ~q;
  const uint64_t b = v ^ (kOnes * '\\');
  const uint64_t backslash = (b - kOnes) & ~b;
  return ((control | quote | backslash) & kHighs) != 0;
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  if (!simdjson::validate_utf8(s.data(), s.size())) {
    out += json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < s.size(); ++i) {
    while (i + 8 <= s.size() && !AnyToEscape(s.data() + i)) i += 8;  // prose: 8 bytes a step
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s, run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
  }
  out.append(s, run, s.size() - run);
  out += '"';
}

std::string JsonStr(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json& JsonObj(const json& obj, const char* key) {
  static const json kEmpty = json::object();
  if (!obj.is_object()) return kEmpty;
  auto it = obj.find(key);
  return it != obj.end() && it->is_object() ? *it : kEmpty;
}

std::string_view TypeName(const nlohmann::json& v) {
  using T = nlohmann::json::value_t;
  switch (v.type()) {
    case T::null:
      return "null";
    case T::object:
      return "an object";
    case T::array:
      return "an array";
    case T::string:
      return "a string";
    case T::boolean:
      return "a boolean";
    case T::number_integer:
    case T::number_unsigned:
      return "an integer";
    case T::number_float:
      return "a number";
    default:
      return "an invalid value";
  }
}

namespace {
// The path as OpenAI's error.param; the whole body is no parameter.
Error WithParam(Error e, std::string path) {
  if (path != "body") e.param = std::move(path);
  return e;
}
}  // namespace

Error WrongType(const std::string& path, std::string_view expected, const nlohmann::json& got) {
  return WithParam(BadRequest("invalid_type", path + ": expected " + std::string(expected) +
                                                  ", got " + std::string(TypeName(got))),
                   path);
}

Error Missing(const std::string& path) {
  return WithParam(BadRequest("missing_field", path + ": required"), path);
}

Error BadValue(const std::string& path, const std::string& why) {
  return WithParam(BadRequest("invalid_value", path + ": " + why), path);
}

namespace {
// 128 rather than 128.0; 1e15 as 1000000000000000. Fractions as JSON writes them.
std::string BoundText(double d) {
  if (d == std::trunc(d) && std::fabs(d) < 9.2e18) return std::to_string(static_cast<long long>(d));
  return nlohmann::json(d).dump();
}
}  // namespace

std::optional<Error> CheckNumberRules(const nlohmann::json& body,
                                      std::span<const NumberRule> rules) {
  for (const auto& r : rules) {
    auto it = body.find(r.key);
    if (it == body.end() || it->is_null()) continue;
    if (r.integer ? !it->is_number_integer() : !it->is_number())
      return WrongType(r.key, r.integer ? "an integer" : "a number", *it);
    double d = it->get<double>();
    if (!(d >= r.lo && d <= r.hi))
      return BadValue(r.key, "must be between " + BoundText(r.lo) + " and " + BoundText(r.hi));
  }
  return std::nullopt;
}

}  // namespace triage::dialect
