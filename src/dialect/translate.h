#pragma once
// Request and non-streaming response translation between the two dialects through the canonical
// types. Pure functions, no I/O; thread-safe. Mapping rules: docs/dialects.md.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "dialect/canonical.h"
#include "dialect/shape.h"
#include "dialect/types.h"

namespace triage::dialect {

// Anthropic requires max_tokens; OpenAI clients often omit it.
inline constexpr int64_t kDefaultAnthropicMaxTokens = 4096;

// A clear 400 when `req` uses something the `target` wire format cannot express at all
// (OpenAI n>1, audio input or file_id towards Anthropic). nullopt when translatable.
std::optional<Error> CheckTranslatable(const ChatRequest& req, Dialect target);

// A clear 400 when `req` (either dialect) has more than `max` stop sequences (OpenAI `stop`,
// Anthropic `stop_sequences`): OpenAI's own API takes at most 4 and refuses more, and dropping
// some would change the answer. nullopt within the limit or when `max` is 0 (no known limit).
std::optional<Error> CheckStopLimit(const ChatRequest& req, size_t max);

// Upstream request bodies, as the bytes to send. A request already in the upstream's dialect is
// passed through with only `model` replaced (and, when streaming to OpenAI,
// stream_options.include_usage forced on so usage is known: accounting needs it), written
// straight from req.body without copying it; other requests are translated by the functions
// below. The bytes equal dump(-1, ' ', false, error_handler_t::replace) of the tree those
// functions build (plus, for OpenAI streams, stream_options.include_usage = true). Names of
// parameters that could not be carried are appended to `dropped` (for a warning header);
// nothing is dropped on a pass-through without a shape. Call CheckTranslatable first.
// With a `shape` (the deployment's `request:` section) the body is then shaped as ApplyShape
// does (what it removes or clamps is appended to `dropped` too); the pass-through is still
// written without a copy. Without one (nullptr) nothing more is allocated.
std::string OpenAIRequestBody(const ChatRequest& req, std::string_view upstream_model,
                              std::vector<std::string>* dropped = nullptr,
                              const RequestShape* shape = nullptr);
std::string AnthropicRequestBody(const ChatRequest& req, std::string_view upstream_model,
                                 std::vector<std::string>* dropped = nullptr,
                                 const RequestShape* shape = nullptr);

// The same bodies as trees. Same-dialect requests are a deep copy of req.body with `model`
// replaced (ToOpenAIRequest also forces stream_options.include_usage on streams); the
// ...RequestBody functions above are checked byte for byte against these.
nlohmann::json ToOpenAIRequest(const ChatRequest& req, std::string_view upstream_model,
                               std::vector<std::string>* dropped = nullptr);
nlohmann::json ToAnthropicRequest(const ChatRequest& req, std::string_view upstream_model,
                                  std::vector<std::string>* dropped = nullptr);

// Non-streaming responses. Parse errors are kUpstream ("upstream response ...").
Result<CanonicalResponse> ParseOpenAIResponse(const nlohmann::json& response);
Result<CanonicalResponse> ParseAnthropicResponse(const nlohmann::json& response);
// chat.completion; `created` is unix seconds.
nlohmann::json RenderOpenAIResponse(const CanonicalResponse& r, int64_t created);
// Anthropic "message" object.
nlohmann::json RenderAnthropicResponse(const CanonicalResponse& r);
// The same answers written straight into the body, without a tree: parsing the result gives
// exactly the Render...() tree. Members come in the providers' documented order, strings are
// escaped as dump() escapes them, except that invalid UTF-8 (which no parsed upstream answer
// holds) becomes U+FFFD where dump() would throw. Tool inputs are still dumped by nlohmann.
std::string WriteOpenAIResponse(const CanonicalResponse& r, int64_t created);
std::string WriteAnthropicResponse(const CanonicalResponse& r);
// An OpenAI tool call's `arguments` string as the canonical input object: {} when empty, and
// {"_raw": args} when it is not a JSON object or nests deeper than kMaxAnswerJsonDepth, so
// nothing is silently lost (and no tree too deep to copy or dump is built).
nlohmann::json ParseToolArguments(const std::string& args);

// Anthropic usage <-> TokenUsage. Anthropic's input_tokens excludes cache reads and cache
// writes; TokenUsage.input_tokens includes both.
TokenUsage UsageFromAnthropic(const nlohmann::json& usage);
nlohmann::json AnthropicUsageJson(const TokenUsage& u);
nlohmann::json OpenAIUsageJson(const TokenUsage& u);
// Usage of a non-streaming Anthropic message; missing usage -> kUpstream error.
Result<TokenUsage> AnthropicResponseUsage(const nlohmann::json& response);

// Prompt-token estimate for /v1/messages/count_tokens and pre-routing: ceil(chars/4) over text,
// tool inputs and tool schemas, + 1600 per image or document, + 3 per message + 3. Within
// ~20% of real tokenizers on English prose; never zero for a non-empty request.
int64_t EstimateTokens(const ChatRequest& req);

}  // namespace triage::dialect
