#pragma once
// The cascade's check of a tool call's argument values against the tool's JSON Schema (OpenAI
// `function.parameters`, Anthropic `input_schema`): the part of JSON Schema that tool schemas
// use, read leniently. Pure functions; thread-safe.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace triage::pipeline {

// A name for a reason or a log: at most 64 characters of [A-Za-z0-9_.:/-], others as '?' (a
// header value must stay one printable line), "..." after a longer one.
std::string ShownName(std::string_view name);

// Why `args` (a tool call's parsed arguments) does not fit `schema`, or "" when it does or when
// the checker cannot tell. Read: `type` (a name or a list; `integer` takes 3.0, `number` takes
// integers; OpenAPI's `nullable: true` also takes null), `enum`, `const`, `required`,
// `properties`, `additionalProperties` (false: no other key; a schema: the other keys' values),
// `items` (one schema; the tuple form is not read), `minItems`/`maxItems`,
// `minLength`/`maxLength` (in code points), `minimum`/`maximum`/`exclusiveMinimum`/
// `exclusiveMaximum` (numbers), `anyOf`/`oneOf` (valid when any branch is: oneOf is read as
// anyOf), `allOf` (every branch, whose `additionalProperties` is not read: split object schemas
// would refuse every call), and local `$ref`s (`#`, `#/$defs/X`, `#/definitions/X`, any
// JSON pointer into `schema`). Everything else (format, pattern, not, if/then, remote refs, a
// schema that is not an object, ...) is accepted: only what the schema plainly rules out is
// invalid. Depth and work are bounded (a self-referencing $ref, deeply nested arguments, enum
// entries compared): past the bounds the rest is accepted. Reasons name the path (keys shown like
// ShownName, joined by
// '.', array positions as [N]) and the expectation, never a value: `city: expected string`,
// `unit: not one of the enum`, `location: missing required "lat"`, `unexpected key "foo"`; at
// the top level `missing required "KEY"` as before.
std::string CheckArguments(const nlohmann::json& schema, const nlohmann::json& args);

// Whether `v` nests arrays and objects more than `limit` levels deep. Iterative: nlohmann's
// parser and destructor are, but dump() and copies recurse, and a tree 100000 levels deep (a
// few hundred KB of an upstream's answer) overflows the stack there.
bool NestedDeeperThan(const nlohmann::json& v, int limit);

}  // namespace triage::pipeline
