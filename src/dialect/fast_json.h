#pragma once
// simdjson's DOM for the gateway's hot read paths (every request body, every stream event,
// every passed-through answer): one parser and one padded input buffer per thread. Callers fall
// back to nlohmann for whatever ParseObject or ParseBody refuses, so the two accept the same
// inputs.
#include <simdjson.h>

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "dialect/types.h"

namespace triage::dialect::fast_json {

// Inputs above this go to nlohmann: no thread keeps a parse buffer for a large document
// (simdjson's buffers are about 14 bytes per input byte).
inline constexpr size_t kMaxBytes = 64 * 1024;

// What ParseObject made of the input.
enum class Parsed {
  kRefused,    // simdjson refuses it (malformed, integers beyond 64 bits, a byte-order mark,
               // nesting past 1024) or it is larger than kMaxBytes: read it with nlohmann
  kNotObject,  // well-formed JSON, but not an object
  kObject,     // *out is the top-level object
};
// Parses data, which every hot-path reader wants to be one JSON object. *out points into this
// thread's parser: valid until the thread's next ParseObject.
Parsed ParseObject(std::string_view data, simdjson::dom::object* out);

// e copied into the nlohmann value that nlohmann's parse of the same text gives: non-negative
// integers unsigned, negative ones signed, the last of duplicate keys. *out is null on entry.
// False when e nests deeper than max_depth levels of arrays and objects (e's own counts as 1).
// simdjson reads "-0" as the integer 0, which nlohmann keeps signed: *zero is set when an integer
// 0 was copied, and then the caller checks the text with MayHaveMinusZero.
bool ToTree(simdjson::dom::element e, int max_depth, bool* zero, nlohmann::json* out);
// Whether text has "-0" followed by anything but a digit, '.', 'e' or 'E': the integer -0 (or,
// read conservatively, such text inside a string). Without it no integer of the text is -0.
bool MayHaveMinusZero(std::string_view text);

// A client's request body read through simdjson's DOM into the nlohmann tree that
// ParseJsonBodyTree makes of it, the same value for value and type for type (a non-negative
// integer unsigned, a negative one signed, the last of duplicate keys); about a third of the
// instructions of nlohmann's own parse. nullopt when the fast path cannot promise that tree, and
// the caller parses with ParseJsonBodyTree, which also words every error: simdjson refuses the
// body (malformed, empty, a byte-order mark, an integer beyond 64 bits, nesting past 1024), it is
// larger than kMaxBodyBytes, it nests deeper than max_depth, or it holds an integer 0 and somewhere
// the text "-0" not followed by a digit, '.', 'e' or 'E' (nlohmann keeps -0 signed and 0
// unsigned; simdjson reads both alike).
// A body over kMaxBytes is parsed with a parser of its own (about 14 bytes per body byte
// reserved; only the pages written are resident), freed on return.
std::optional<nlohmann::json> ParseBody(std::string_view body, int max_depth);
// The largest body ParseBody reads: 64 MiB, eight times limits.max_body_bytes' default, so that
// every body a default gateway accepts (a base64 photo of several MB among them) takes the fast
// path; nlohmann's parse held its io thread ~14 ms per MB. It was 4 MiB until 2026-12-07. A
// larger limit reads larger bodies with nlohmann, whose tree costs about what the parser's pages
// do, so that no body reserves more than ~0.9 GB of address space here.
inline constexpr size_t kMaxBodyBytes = 64 * 1024 * 1024;

// The largest token count an upstream report is believed for, per field: 2^32, thousands of
// times any context window. A reported count that is negative, larger, or not a number is read
// as not reported (0), so that triage estimates it instead of billing, summing or wrapping it.
inline constexpr int64_t kMaxReportedTokens = int64_t{1} << 32;

// A reported token count (a usage field) read from a tree: an integer in
// [0, kMaxReportedTokens] as it is, a float in that range truncated; 0 for anything else
// (absent, negative, larger, a string), which callers read as not reported. Never throws.
int64_t JsonTokenCount(const nlohmann::json& obj, const char* key);

// JsonTokenCount's reading of a reported token count: an integer in [0, kMaxReportedTokens]
// as it is, a float in that range truncated, anything else (negative, larger, a string) 0.
int64_t TokenCountOr0(simdjson::dom::element e);

// An integer (unsigned ones cast), else 0: JsonInteger's reading.
int64_t IntegerOr0(std::optional<simdjson::dom::element> e);

// UTF-8 characters of a string element (Utf8Chars), 0 for anything else or nothing.
int64_t StringChars(std::optional<simdjson::dom::element> e);

// A string with at least one byte.
bool NonEmptyString(simdjson::dom::element e);

// The value of the last `key` in obj, the one a parsed nlohmann object keeps; nullopt if none.
std::optional<simdjson::dom::element> Last(simdjson::dom::object obj, std::string_view key);

// Last() of several keys in one pass over obj: element i is the value of keys[i].
template <size_t N>
std::array<std::optional<simdjson::dom::element>, N> LastOf(
    simdjson::dom::object obj, const std::array<std::string_view, N>& keys) {
  std::array<std::optional<simdjson::dom::element>, N> out;
  for (auto field : obj)
    for (size_t i = 0; i < N; ++i)
      if (field.key == keys[i]) {
        out[i] = field.value;
        break;
      }
  return out;
}

// A string element's text, or "" (absent, or another type).
std::string StringOr(std::optional<simdjson::dom::element> e);

// An OpenAI `usage` object as JsonTokenCount reads it: prompt_tokens, completion_tokens and
// prompt_tokens_details.cached_tokens (last occurrences; 0 when absent or not numbers).
// *complete says whether both prompt_tokens and completion_tokens were present.
TokenUsage OpenAIUsage(simdjson::dom::object usage, bool* complete = nullptr);

// An Anthropic `usage` object as UsageFromAnthropic reads it: input_tokens counts the cached
// and cache-writing tokens too.
TokenUsage AnthropicUsage(simdjson::dom::object usage);
// AnthropicUsage of obj[key] when that (last) value is an object; zeros otherwise.
TokenUsage AnthropicUsageAt(simdjson::dom::object obj, std::string_view key);

}  // namespace triage::dialect::fast_json
