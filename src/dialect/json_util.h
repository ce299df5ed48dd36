#pragma once
// Shared helpers for the wire-format parsers: depth pre-scan and non-throwing JSON parsing
// with a byte offset on failure. Pure; thread-safe.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

namespace triage::dialect {

// Nesting depth of `[`/`{` outside strings. Stops counting once `limit` is exceeded so a
// 100k-deep body costs one linear scan and no recursion.
int JsonDepthExceeds(std::string_view body, int limit);

// The deepest upstream answer read: a non-streamed body, one SSE event's data, a tool call's
// `arguments` string parsed into an object (also a client's: JSON inside a string escapes the
// limits.max_json_depth scan of the request body). Upstream bodies are parsed without a depth limit
// (nlohmann's parser and destructor are iterative), but copying and dumping a tree recurse once
// per level, about 150 bytes of stack each (measured: a copy overflowed a 2 MiB thread stack at
// 14,000 levels, dump() at 21,000): 512 levels take under 80 KiB, a small fraction of the
// smallest default thread stack (glibc's 2 MiB when `ulimit -s` is unlimited).
// Real answers nest a few levels; the sim's sampled tool arguments at most 8. A deeper answer
// is refused as malformed (AnswerTooDeep) before anything walks it.
inline constexpr int kMaxAnswerJsonDepth = 512;
// "upstream sent a malformed answer: JSON nested deeper than 512 levels" when `data` nests
// deeper than kMaxAnswerJsonDepth (JsonDepthExceeds: one linear scan, no tree); else nullopt.
std::optional<std::string> AnswerTooDeep(std::string_view data);

// Parses `body` as one JSON value without throwing. Errors are kInvalidRequest naming the byte
// offset: "body: invalid JSON at byte 17: ...". Checks emptiness and depth first. A NUL byte
// anywhere is refused (nlohmann would stop reading at one after the value).
// REQUIRES: max_depth > 0. Reads through simdjson (fast_json::ParseBody) when it can promise
// the tree ParseJsonBodyTree makes, else is ParseJsonBodyTree.
Result<nlohmann::json> ParseJsonBody(std::string_view body, int max_depth);
// ParseJsonBody with nlohmann's parser alone: every error's wording and offset come from here.
Result<nlohmann::json> ParseJsonBodyTree(std::string_view body, int max_depth);

// kInvalidRequest error with `code` and `message`.
Error BadRequest(std::string code, std::string message);

// "a string", "an object", ... for messages like "messages[0].role: expected a string, got null".
std::string_view TypeName(const nlohmann::json& v);
// The parsers' three ways to refuse a field: wrong type, missing, bad value (codes
// invalid_type, missing_field, invalid_value).
Error WrongType(const std::string& path, std::string_view expected, const nlohmann::json& got);
Error Missing(const std::string& path);
Error BadValue(const std::string& path, const std::string& why);

// A numeric request field and the range the provider accepts.
struct NumberRule {
  const char* key;
  bool integer;  // JSON integers only (1.5 and 1.0 are refused as "expected an integer")
  double lo, hi;
};
// Checks each rule's member of `body` that is present and not null: a number (an integer
// where the rule says so) within [lo, hi]. The first failure is invalid_type or
// invalid_value ("n: must be between 1 and 128"; whole bounds print without a fraction).
std::optional<Error> CheckNumberRules(const nlohmann::json& body,
                                      std::span<const NumberRule> rules);

// Longest `model` a request may name: model names are short, and the name is echoed in errors,
// logged and stored in every ledger row, so a multi-megabyte one must not get that far.
inline constexpr size_t kMaxModelBytes = 256;
// The `model` member of a request body: present, a string, not empty, at most kMaxModelBytes.
std::optional<Error> CheckModelField(const nlohmann::json& body);

// Number of UTF-8 code points in `s` (bytes that are not continuation bytes).
int64_t Utf8Chars(std::string_view s);

// An integer member of obj (a float or any other type reads 0); never throws.
int64_t JsonInteger(const nlohmann::json& obj, const char* key);

// Appends `s` as a JSON string literal, quotes included, escaped byte for byte as nlohmann's
// dump() escapes it (`"`, `\\`, \b \f \n \r \t, other control bytes as \u00xx, UTF-8
// as is). Invalid UTF-8 is replaced by U+FFFD, as dump() with error_handler_t::replace does.
// For frames written straight into a string, without building a tree.
void AppendJsonString(std::string& out, std::string_view s);

// A string member of obj, or "" (absent, another type, or obj not an object); never throws.
std::string JsonStr(const nlohmann::json& obj, const char* key);
// An object member of obj, or an empty object. json::value() throws when the holder is not an
// object or the member has another type; upstream bodies are untrusted, so a wrong shape must
// read as absent instead. A reference, not a copy: nlohmann's copy recurses, and an upstream's
// member nested 100000 levels deep (a tool call's input) would overflow the stack. It lives as
// long as `obj` (the empty object, for ever).
const nlohmann::json& JsonObj(const nlohmann::json& obj, const char* key);

}  // namespace triage::dialect
