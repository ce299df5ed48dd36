#include "dialect/fast_json.h"

#include <algorithm>
#include <string>

#include "dialect/json_util.h"

namespace triage::dialect::fast_json {

namespace sj = simdjson::dom;

namespace {

// data's root element in this thread's parser (valid until the thread's next parse); false
// when simdjson refuses it or it is larger than kMaxBytes.
bool ParseElement(std::string_view data, sj::element* out) {
  if (data.size() > kMaxBytes) return false;
  thread_local sj::parser parser(kMaxBytes);
  thread_local std::string padded;  // simdjson reads up to SIMDJSON_PADDING bytes past the end
  padded.assign(data);
  padded.resize(data.size() + simdjson::SIMDJSON_PADDING);
  return parser.parse(padded.data(), data.size(), /*realloc_if_needed=*/false).get(*out) ==
         simdjson::SUCCESS;
}

// ToTree, counting the levels from `depth` (1 for the root's own container).
bool ToTreeAt(sj::element e, int depth, int max_depth, bool* zero, nlohmann::json* out) {
  using json = nlohmann::json;
  switch (e.type()) {
    case sj::element_type::OBJECT: {
      if (depth > max_depth) return false;
      *out = json::object();
      auto& members = out->get_ref<json::object_t&>();
      const sj::object object = e.get_object().value_unsafe();
      for (auto field : object) {
        // operator[] then assignment: the last of duplicate keys wins, as in nlohmann's parse.
        json& slot = members[std::string(field.key)];
        slot = nullptr;
        if (!ToTreeAt(field.value, depth + 1, max_depth, zero, &slot)) return false;
      }
      return true;
    }
    case sj::element_type::ARRAY: {
      if (depth > max_depth) return false;
      *out = json::array();
      auto& items = out->get_ref<json::array_t&>();
      const sj::array array = e.get_array().value_unsafe();
      for (sj::element item : array)
        if (!ToTreeAt(item, depth + 1, max_depth, zero, &items.emplace_back())) return false;
      return true;
    }
    case sj::element_type::STRING:
      *out = std::string(e.get_string().value_unsafe());
      return true;
    case sj::element_type::INT64: {
      const int64_t n = e.get_int64().value_unsafe();
      if (n == 0) *zero = true;
      if (n < 0)
        *out = n;
      else
        *out = static_cast<uint64_t>(n);
      return true;
    }
    case sj::element_type::UINT64:
      *out = e.get_uint64().value_unsafe();
      return true;
    case sj::element_type::DOUBLE:
      *out = e.get_double().value_unsafe();
      return true;
    case sj::element_type::BOOL:
      *out = e.get_bool().value_unsafe();
      return true;
    case sj::element_type::NULL_VALUE:
      return true;
  }
  return false;
}

}  // namespace

bool ToTree(sj::element e, int max_depth, bool* zero, nlohmann::json* out) {
  return ToTreeAt(e, 1, max_depth, zero, out);
}

bool MayHaveMinusZero(std::string_view text) {
  for (size_t at = text.find("-0"); at != std::string_view::npos; at = text.find("-0", at + 2)) {
    if (at + 2 == text.size()) return true;
    const char next = text[at + 2];
    if (!(next >= '0' && next <= '9') && next != '.' && next != 'e' && next != 'E') return true;
  }
  return false;
}

Parsed ParseObject(std::string_view data, sj::object* out) {
  sj::element doc;
  if (!ParseElement(data, &doc)) return Parsed::kRefused;
  return doc.get_object().get(*out) == simdjson::SUCCESS ? Parsed::kObject : Parsed::kNotObject;
}

std::optional<nlohmann::json> ParseBody(std::string_view body, int max_depth) {
  sj::element doc;
  // A body over kMaxBytes gets a parser of its own, freed on return: a thread keeps no buffers
  // for its largest request. Its pages cost far less than nlohmann's parse of the same body.
  std::optional<sj::parser> large;
  std::optional<simdjson::padded_string> large_copy;
  if (body.size() <= kMaxBytes) {
    if (!ParseElement(body, &doc)) return std::nullopt;
  } else {
    if (body.size() > kMaxBodyBytes) return std::nullopt;
    large.emplace(body.size());
    large_copy.emplace(body);
    if (large->parse(*large_copy).get(doc) != simdjson::SUCCESS) return std::nullopt;
  }
  nlohmann::json tree;
  bool zero = false;
  if (!ToTree(doc, max_depth, &zero, &tree)) return std::nullopt;
  if (zero && MayHaveMinusZero(body)) return std::nullopt;
  return tree;
}

int64_t JsonTokenCount(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return 0;
  auto it = obj.find(key);
  if (it == obj.end()) return 0;
  if (it->is_number_unsigned()) {
    const uint64_t n = it->get<uint64_t>();
    return n <= static_cast<uint64_t>(kMaxReportedTokens) ? static_cast<int64_t>(n) : 0;
  }
  if (it->is_number_integer()) {
    const int64_t n = it->get<int64_t>();
    return n >= 0 && n <= kMaxReportedTokens ? n : 0;
  }
  if (it->is_number_float()) {
    const double d = it->get<double>();
    if (d >= 0 && d <= static_cast<double>(kMaxReportedTokens)) return static_cast<int64_t>(d);
  }
  return 0;
}

int64_t TokenCountOr0(sj::element e) {
  switch (e.type()) {
    case sj::element_type::INT64: {
      const int64_t n = e.get_int64().value_unsafe();
      return n >= 0 && n <= kMaxReportedTokens ? n : 0;
    }
    case sj::element_type::UINT64: {
      const uint64_t n = e.get_uint64().value_unsafe();
      return n <= static_cast<uint64_t>(kMaxReportedTokens) ? static_cast<int64_t>(n) : 0;
    }
    case sj::element_type::DOUBLE: {
      const double d = e.get_double().value_unsafe();
      return d >= 0 && d <= static_cast<double>(kMaxReportedTokens) ? static_cast<int64_t>(d) : 0;
    }
    default:
      return 0;
  }
}

int64_t IntegerOr0(std::optional<simdjson::dom::element> e) {
  if (!e) return 0;
  if (e->type() == simdjson::dom::element_type::INT64) return e->get_int64().value_unsafe();
  if (e->type() == simdjson::dom::element_type::UINT64)
    return static_cast<int64_t>(e->get_uint64().value_unsafe());
  return 0;
}

int64_t StringChars(std::optional<simdjson::dom::element> e) {
  std::string_view s;
  return e && e->get_string().get(s) == simdjson::SUCCESS ? Utf8Chars(s) : 0;
}

bool NonEmptyString(sj::element e) {
  std::string_view s;
  return e.get_string().get(s) == simdjson::SUCCESS && !s.empty();
}

std::optional<sj::element> Last(sj::object obj, std::string_view key) {
  std::optional<sj::element> out;
  for (auto field : obj)
    if (field.key == key) out = field.value;
  return out;
}

std::string StringOr(std::optional<sj::element> e) {
  std::string_view s;
  return e && e->get_string().get(s) == simdjson::SUCCESS ? std::string(s) : std::string();
}

TokenUsage OpenAIUsage(sj::object u, bool* complete) {
  TokenUsage t;
  bool prompt = false, completion = false;
  for (auto f : u) {
    if (f.key == "prompt_tokens") {
      prompt = true;
      t.input_tokens = TokenCountOr0(f.value);
    } else if (f.key == "completion_tokens") {
      completion = true;
      t.output_tokens = TokenCountOr0(f.value);
    } else if (f.key == "prompt_tokens_details") {
      sj::object details;
      t.cached_input_tokens = 0;
      if (f.value.get_object().get(details) == simdjson::SUCCESS)
        if (auto c = Last(details, "cached_tokens")) t.cached_input_tokens = TokenCountOr0(*c);
    }
  }
  if (complete) *complete = prompt && completion;
  // Cached tokens are part of prompt_tokens: a report of more is capped (the row stays whole).
  t.cached_input_tokens = std::min(t.cached_input_tokens, t.input_tokens);
  return t;
}

TokenUsage AnthropicUsage(sj::object u) {
  int64_t input = 0, output = 0, read = 0, created = 0, created_1h = 0, searches = 0;
  for (auto f : u) {
    if (f.key == "input_tokens") {
      input = TokenCountOr0(f.value);
    } else if (f.key == "output_tokens") {
      output = TokenCountOr0(f.value);
    } else if (f.key == "cache_read_input_tokens") {
      read = TokenCountOr0(f.value);
    } else if (f.key == "cache_creation_input_tokens") {
      created = TokenCountOr0(f.value);
    } else if (f.key == "cache_creation") {
      sj::object split;
      created_1h = 0;
      if (f.value.get_object().get(split) == simdjson::SUCCESS)
        if (auto h = Last(split, "ephemeral_1h_input_tokens")) created_1h = TokenCountOr0(*h);
    } else if (f.key == "server_tool_use") {
      sj::object tools;
      searches = 0;
      if (f.value.get_object().get(tools) == simdjson::SUCCESS)
        if (auto n = Last(tools, "web_search_requests")) searches = TokenCountOr0(*n);
    }
  }
  TokenUsage t;
  t.input_tokens = input + read + created;
  t.output_tokens = output;
  t.cached_input_tokens = read;
  t.cache_creation_input_tokens = created;
  // Part of the cache writes: a report of more is capped (billed no more than written).
  t.cache_creation_1h_input_tokens = std::min(created_1h, created);
  t.web_search_requests = searches;
  return t;
}

TokenUsage AnthropicUsageAt(sj::object obj, std::string_view key) {
  sj::object u;
  auto v = Last(obj, key);
  return v && v->get_object().get(u) == simdjson::SUCCESS ? AnthropicUsage(u) : TokenUsage{};
}

}  // namespace triage::dialect::fast_json
