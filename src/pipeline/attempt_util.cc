#include "pipeline/attempt_util.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "common/secrets.h"
#include "dialect/anthropic.h"
#include "dialect/json_util.h"
#include "dialect/openai.h"
#include "observe/log.h"
#include "pipeline/context.h"
#include "routing/router.h"

namespace triage::pipeline {

std::string ErrorBody(dialect::Dialect d, const Error& e, std::string_view request_id) {
  return d == dialect::Dialect::kAnthropic ? dialect::AnthropicErrorBody(e, request_id)
                                           : dialect::OpenAIErrorBody(e);
}

Result<dialect::ChatRequest> ParseRequest(dialect::Dialect d, std::string_view body, int depth) {
  if (d == dialect::Dialect::kAnthropic) return dialect::ParseAnthropicMessages(body, depth);
  return dialect::ParseOpenAIChat(body, depth);
}

int ErrorStatus(dialect::Dialect d, const Error& e) {
  return d == dialect::Dialect::kAnthropic ? dialect::AnthropicHttpStatus(e) : HttpStatus(e.kind);
}

bool RetryableStatus(int status) {
  return status == 408 || status == 409 || status == 425 || status == 429 || status >= 500;
}

bool DeploymentFault(int status) { return status == 401 || status == 403 || status == 404; }

namespace {

// An upstream error body as a tree; one nested deeper than kMaxAnswerJsonDepth is not parsed
// (reads as no JSON, so its start is quoted instead of a message).
nlohmann::json ParseErrorBody(std::string_view body) {
  if (dialect::JsonDepthExceeds(body, dialect::kMaxAnswerJsonDepth))
    return nlohmann::json(nlohmann::json::value_t::discarded);
  return nlohmann::json::parse(body, nullptr, false);
}

void AppendLower(std::string_view s, std::string* out) {
  for (char c : s.substr(0, 8192))
    out->push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  out->push_back('\n');
}

// What the server itself says about its refusal, lowercased: of a JSON body, the error's
// message, type and code ({"error": {...}}, vLLM's top-level {"object": "error", ...}, a string
// "error", a FastAPI "detail" string), never the members that quote the request (a FastAPI 422's
// detail list with its "input"); anything else, the body's start.
std::string RefusalText(std::string_view body) {
  std::string out;
  auto j = ParseErrorBody(body);
  if (j.is_discarded() || !j.is_object()) {
    AppendLower(body, &out);
    return out;
  }
  const nlohmann::json* err = nullptr;
  if (auto it = j.find("error"); it != j.end() && it->is_object()) err = &*it;
  if (auto o = j.find("object"); !err && o != j.end() && *o == "error") err = &j;
  const auto add = [&out](const nlohmann::json& obj, const char* key) {
    if (auto it = obj.find(key); it != obj.end() && it->is_string())
      AppendLower(it->get_ref<const std::string&>(), &out);
  };
  if (err) {
    for (const char* key : {"message", "type", "code"}) add(*err, key);
  } else {
    for (const char* key : {"error", "message", "detail"}) add(j, key);
  }
  return out;
}

}  // namespace

bool ContextOverflow(int status, std::string_view body) {
  if (status != 400 && status != 413 && status != 422) return false;
  const std::string said = RefusalText(body);
  // Only the words a server uses to say the window is exceeded: a validation message may quote
  // the client's own prompt (vLLM puts pydantic's input_value in it), and the prompt may well
  // talk about a "context window" or "context length".
  static constexpr std::string_view kSigns[] = {
      // codes and types
      "context_length_exceeded",
      "context_window_exceeded",
      "exceed_context_size",
      // OpenAI, vLLM, Mistral, DeepSeek: "This model's maximum context length is 8192 tokens"
      "maximum context length",
      // Anthropic: "prompt is too long: 208310 tokens > 200000 maximum", "input length and
      // `max_tokens` exceed context limit: ..."
      "prompt is too long",
      "exceed context limit",
      // llama.cpp: "the request exceeds the available context size"
      "available context size",
      // vLLM: "The decoder prompt (length 9000) is longer than the maximum model length of 8192"
      "maximum model length",
      // OpenAI Responses: "Your input exceeds the context window of this model"
      "exceeds the context window",
      // Ollama: "the input length exceeds the context length"
      "exceeds the context length",
      // LM Studio: "the model is loaded with context length of only 4096 tokens"
      "context length of only",
  };
  for (std::string_view s : kSigns)
    if (said.find(s) != std::string::npos) return true;
  return false;
}

std::string Redact(std::string_view raw) {
  return MaskWords(raw, [](std::string_view word) {
    bool digits = false, alpha = false;
    for (char c : word) {
      digits |= std::isdigit(static_cast<unsigned char>(c)) != 0;
      alpha |= std::isalpha(static_cast<unsigned char>(c)) != 0;
    }
    return word.starts_with("sk-") || word.starts_with("sk_") ||
           (word.size() >= 32 && digits && alpha);
  });
}

namespace {

// The object holding an upstream error: {"error": {...}} (OpenAI, Anthropic, llama.cpp, current
// vLLM) or the body itself when it is {"object": "error", ...} (older vLLM).
const nlohmann::json* ErrorObject(const nlohmann::json& j) {
  if (!j.is_object()) return nullptr;
  if (auto it = j.find("error"); it != j.end() && it->is_object()) return &*it;
  if (auto o = j.find("object"); o != j.end() && *o == "error") return &j;
  return nullptr;
}

std::string StringMember(const nlohmann::json* obj, const char* key) {
  if (!obj) return {};
  auto it = obj->find(key);
  return it != obj->end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A code fit to show a client: a short identifier that Redact leaves alone.
bool CleanCode(const std::string& code) {
  if (code.empty() || code.size() > 64) return false;
  for (char c : code)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
      return false;
  return Redact(code) == code;
}

// The upstream's machine-readable reason for refusing a request, for OpenAI clients' error.code
// (the openai SDK's APIError.code, which user code branches on): the error object's `code` when
// it is a string identifier (OpenAI), else "context_length_exceeded" for the same fault in other
// servers' words; "" otherwise. `err` is the upstream's error object (may be null).
std::string UpstreamRequestCode(const nlohmann::json* err, int status, std::string_view body) {
  // A prompt too long for the model's window, in any server's words or code (ContextOverflow:
  // Anthropic "prompt is too long: 210000 tokens > 200000 maximum", vLLM "This model's maximum
  // context length is 4096 tokens. ...", llama.cpp error.type "exceed_context_size_error", a
  // `context_window_exceeded` code), is OpenAI's `context_length_exceeded`, the one code
  // clients check for it.
  if (ContextOverflow(status, body)) return "context_length_exceeded";
  // Otherwise OpenAI names the reason in error.code ("invalid_value", ...). vLLM and llama.cpp
  // put the HTTP status there as an integer: not a reason.
  if (std::string code = StringMember(err, "code"); CleanCode(code)) return code;
  return {};
}

// triage's own code for an upstream status.
std::string TriageStatusCode(int status) {
  if (status == 429) return "upstream_rate_limited";
  if (status == 408 || status == 504) return "upstream_timeout";
  if (status == 400 || status == 422) return "upstream_rejected_request";
  if (status == 401 || status == 403) return "upstream_auth_failed";
  if (status == 413) return "upstream_request_too_large";
  return "upstream_error";
}

}  // namespace

Error UpstreamStatusError(const config::Deployment& d, int status, std::string_view body) {
  auto j = ParseErrorBody(body);
  const nlohmann::json* err = j.is_discarded() ? nullptr : ErrorObject(j);
  std::string detail = StringMember(err, "message");  // OpenAI and Anthropic both nest it here
  if (detail.empty() && !j.is_discarded() && j.is_object()) detail = StringMember(&j, "error");
  const bool request_fault = status == 400 || status == 413 || status == 422;
  std::string upstream_code =
      request_fault ? UpstreamRequestCode(err, status, body) : std::string();
  // Masked before it is cut, so a key straddling the cut cannot leave a visible part.
  detail = detail.empty() ? Redact(body).substr(0, 200) : Redact(detail);
  if (detail.size() > 500) detail = detail.substr(0, 500) + "...";
  std::string msg = "deployment " + d.name + ": upstream returned " + std::to_string(status) +
                    (detail.empty() ? "" : ": " + detail);
  ErrorKind kind = ErrorKind::kUpstream;  // 401/403: our credentials, a gateway problem
  if (status == 429) kind = ErrorKind::kRateLimit;
  if (status == 408 || status == 504) kind = ErrorKind::kUpstreamTimeout;
  if (status == 400 || status == 422) kind = ErrorKind::kInvalidRequest;
  if (status == 413) kind = ErrorKind::kRequestTooLarge;
  // A prompt too long for the window is a 400 `context_length_exceeded` whatever status the
  // server used for it (some say 413): the one answer clients branch on.
  if (upstream_code == "context_length_exceeded") kind = ErrorKind::kInvalidRequest;
  // A request the upstream refused keeps the upstream's own reason, which OpenAI clients read as
  // error.code; triage's code for the status goes to the log (LogAttemptFailure). Never for
  // 401/403/404: those are the deployment's key and model, not the client's.
  Error e =
      Error::Make(kind, upstream_code.empty() ? TriageStatusCode(status) : upstream_code, msg);
  e.upstream_status = status;
  // The member the upstream named (OpenAI's error.param), for a request it refused: an OpenAI
  // client sent that member under the same name. Masked and bounded like the message.
  if (request_fault && err != nullptr)
    if (std::string param = StringMember(err, "param"); !param.empty())
      e.param = Redact(param).substr(0, 200);
  return e;
}

std::optional<std::chrono::milliseconds> ServerWait(const upstream::Head& head) {
  if (head.status == 429 || head.status == 503 || head.status == 529) return head.server_wait;
  return std::nullopt;
}

routing::RouteInput RouteInputOf(const dialect::ChatRequest& req) {
  routing::RouteInput in;
  in.prompt_text = req.prompt_text;
  in.last_user_text = req.last_user_text;
  in.prev_user_text = req.prev_user_text;
  in.message_count = req.message_count;
  in.system_messages = req.system_messages;
  in.system_bytes = req.system_bytes;
  in.has_tools = req.has_tools;
  in.has_image = req.has_image;
  return in;
}

bool AnswerStarted(const upstream::Head& head) {
  if (head.status < 200 || head.status >= 300 || head.status == 204) return false;
  std::string type;
  AppendLower(head.content_type, &type);
  return type.find("text/html") == std::string::npos;
}

int64_t EstimateTokens(int64_t chars) { return (chars + 3) / 4; }

Error WithDeployment(Error e, const config::Deployment& d) {
  e.message = "deployment " + d.name + ": " + e.message;
  return e;
}

void LogAttemptFailure(const RequestContext& ctx, const config::Deployment& d, const Error& e) {
  nlohmann::json f = nlohmann::json::object();
  f["id"] = ctx.id;
  f["deployment"] = d.name;
  f["attempt"] = ctx.attempts;
  f["committed"] = ctx.committed;
  f["error"] = e.message;
  f["code"] = e.code;
  if (e.upstream_status) {
    f["upstream_status"] = e.upstream_status;
    f["triage_code"] = TriageStatusCode(e.upstream_status);
  }
  observe::Log(observe::Level::kWarn, "upstream attempt failed", std::move(f));
}

Error ShutdownError() {
  return Error::Make(ErrorKind::kUnavailable, "shutting_down",
                     "triage is shutting down: the request did not finish within the shutdown "
                     "grace period; retry it");
}

BilledUsage CompleteUsage(const dialect::TokenUsage& reported, bool complete, int64_t prompt_chars,
                          int64_t text_chars) {
  BilledUsage b{reported, false};
  if (b.usage.input_tokens == 0) {
    b.usage.input_tokens = EstimateTokens(prompt_chars);
    b.estimated = true;
  }
  if (text_chars == 0) return b;
  const int64_t estimate = EstimateTokens(text_chars);
  if (b.usage.output_tokens == 0 || (!complete && estimate > b.usage.output_tokens)) {
    b.usage.output_tokens = estimate;
    b.estimated = true;
  }
  return b;
}

catalog::Usage PricedUsage(const dialect::TokenUsage& u) {
  return catalog::Usage{u.input_tokens,
                        u.output_tokens,
                        u.cached_input_tokens,
                        u.cache_creation_input_tokens,
                        u.cache_creation_1h_input_tokens,
                        u.web_search_requests};
}

const char* UsageEstimatedHeader(const RequestContext& ctx) {
  return ctx.usage_estimated || ctx.failed_usage_estimated ? "true" : "false";
}

const std::vector<std::string>& CostTrailerNames() {
  static const std::vector<std::string> names = {"x-triage-cost-usd", "x-triage-reference-cost-usd",
                                                 "x-triage-usage-estimated"};
  return names;
}

Headers CostTrailers(const RequestContext& ctx) {
  Headers h;
  h.emplace_back("x-triage-cost-usd", catalog::FormatUsd(ctx.cost_micros));
  h.emplace_back("x-triage-reference-cost-usd", catalog::FormatUsd(ctx.reference_cost_micros));
  h.emplace_back("x-triage-usage-estimated", UsageEstimatedHeader(ctx));
  return h;
}

void AddFailedAttemptUsage(RequestContext& ctx, const config::Deployment& d,
                           const dialect::TokenUsage& u, bool estimated) {
  if (u == dialect::TokenUsage{}) return;
  ctx.failed_usage += u;
  ctx.failed_usage_estimated = ctx.failed_usage_estimated || estimated;
  auto price = d.EffectivePrice();
  if (!price) {
    ctx.failed_price_known = false;
    return;
  }
  ctx.failed_cost_micros += catalog::CostMicros(*price, PricedUsage(u));
}

void AddCancelledAttemptUsage(RequestContext& ctx, const config::Deployment& d) {
  dialect::TokenUsage u;
  u.input_tokens = EstimateTokens(ctx.req.prompt_chars);
  AddFailedAttemptUsage(ctx, d, u, true);
}

void CarryFailedAttemptUsage(RequestContext& to, const RequestContext& from) {
  to.failed_usage += from.failed_usage;
  to.failed_cost_micros += from.failed_cost_micros;
  to.failed_price_known = to.failed_price_known && from.failed_price_known;
  to.failed_usage_estimated = to.failed_usage_estimated || from.failed_usage_estimated;
}

}  // namespace triage::pipeline
