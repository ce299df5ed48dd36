#pragma once
// Helpers shared by the unary and streaming attempt loops.
#include <string>
#include <string_view>

#include "catalog/catalog.h"
#include "common/error.h"
#include "common/result.h"
#include "config/config.h"
#include "dialect/types.h"
#include "pipeline/client_writer.h"
#include "upstream/http_client.h"

namespace triage::routing {
struct RouteInput;
}

namespace triage::pipeline {
struct RequestContext;
}

namespace triage::pipeline {

// Error body and status in the client's dialect (OpenAI or Anthropic shapes; Anthropic uses
// 529 for an overloaded upstream, and its body carries `request_id` when one is given).
std::string ErrorBody(dialect::Dialect d, const Error& e, std::string_view request_id = {});
// Parses a client body in its dialect (a plain function: no conditional expressions of class
// type inside coroutines, which g++ 12 mishandles).
Result<dialect::ChatRequest> ParseRequest(dialect::Dialect d, std::string_view body, int depth);
int ErrorStatus(dialect::Dialect d, const Error& e);

// Upstream statuses worth trying the next deployment for (the request itself was fine).
bool RetryableStatus(int status);
// Upstream statuses that fault the deployment's own setup, not the request: 401 / 403 (its API
// key is wrong, revoked or lacks access) and 404 (its model or path does not exist there).
// Another deployment may serve the request, so the plan goes on, but this one is not asked again
// within the request: the same call would get the same answer.
bool DeploymentFault(int status);
// An upstream 400 / 413 / 422 saying that the prompt (with the room asked for the answer) does
// not fit the model's context window: the limit of that deployment's model, not a fault of the
// request, so a deployment of a model with a larger window may still take it. Recognised by the
// machine-readable code or type (`context_length_exceeded`, `context_window_exceeded`,
// llama.cpp's `exceed_context_size_error`) or, case-insensitively, by the phrases the servers
// write: "maximum context length" (OpenAI, vLLM, Mistral), "prompt is too long" and "exceed
// context limit" (Anthropic), "exceeds the available context size" (llama.cpp), "maximum model
// length" (vLLM's decoder prompt check), "exceeds the context window" (OpenAI Responses),
// "exceeds the context length" (Ollama), "context length of only" (LM Studio). Only in what the
// server says (a JSON body's error message, type and code), never in the parts that quote the
// request; a mere mention of "context window" or "context length" is not enough, as a
// validation message may quote the client's prompt.
bool ContextOverflow(int status, std::string_view body);

// The Error for an upstream non-2xx answer: message names the deployment, the status and the
// upstream's own message (from an OpenAI or Anthropic error body, else the body's start),
// with anything that looks like a credential masked. 4xx statuses other than 408/429 keep
// their status class (the request was at fault), except a context overflow, always 400 (some
// servers say 413); others become 502. `code` is triage's code for
// the status ("upstream_rejected_request", ...), except for a request the upstream refused
// (400/413/422) with a reason of its own: its OpenAI error.code, or "context_length_exceeded"
// for Anthropic's, vLLM's and llama.cpp's context overflow (docs/dialects.md, Errors).
Error UpstreamStatusError(const config::Deployment& d, int status, std::string_view body);

// Masks the configured API keys by value (MaskSecrets), then credential-looking words ("sk-...",
// "Bearer ...", long key-like tokens).
std::string Redact(std::string_view text);

// The wait an upstream asked for, when its status means "come back later" (429, 503, 529).
std::optional<std::chrono::milliseconds> ServerWait(const upstream::Head& head);

// What a router sees of a request. The views point into `req`.
routing::RouteInput RouteInputOf(const dialect::ChatRequest& req);

// Whether an attempt's upstream accepted the call and began to answer: a 2xx head, unless a
// 204 (no answer) or an HTML page (content-type text/html: a proxy's or portal's page, not the
// API). A stream whose first event is an error event was refused, not answered (AttemptStream). Its
// provider bills such an attempt even when it fails later (cut, stalled, malformed, too big), so a
// failed one is billed into the row (AddFailedAttemptUsage, estimated where nothing was reported).
// An attempt refused before that (a non-2xx status, a connect failure, a timeout before the head)
// is not billed by providers, and adds nothing.
bool AnswerStarted(const upstream::Head& head);

// Rough token count of a text: ceil(chars / 4). Used only when an upstream reports no usage.
int64_t EstimateTokens(int64_t chars);

// Prefixes a transport error's message with the deployment's name.
Error WithDeployment(Error e, const config::Deployment& d);

// The request was cancelled because the gateway's shutdown grace period ran out (503).
Error ShutdownError();

// What an attempt is billed when its upstream's usage report is missing or partial: `reported`
// (zeros when none came), with triage's estimates (EstimateTokens) where it falls short. Input
// tokens: the prompt's estimate when none were reported. Output tokens: the estimate of the
// `text_chars` generated text received when none were reported, or, for an answer cut before
// its end (`complete` false), when that estimate exceeds the running count reported so far
// (Anthropic's message_start says `output_tokens: 1`). `estimated`: some of the tokens are
// estimates.
struct BilledUsage {
  dialect::TokenUsage usage;
  bool estimated = false;
};
BilledUsage CompleteUsage(const dialect::TokenUsage& reported, bool complete, int64_t prompt_chars,
                          int64_t text_chars);

// A request's (or attempt's) token usage as the catalog prices it: every billed count, the
// cache writes' 1-hour part included.
catalog::Usage PricedUsage(const dialect::TokenUsage& u);

// The x-triage-usage-estimated header's value: the ledger row's usage_estimated ("true" when
// some of the request's tokens, the answer's or a failed attempt's, are triage's estimate).
const char* UsageEstimatedHeader(const RequestContext& ctx);

// The HTTP trailers that end a stream, announced in its head (`Trailer`): what the row bills,
// x-triage-cost-usd, x-triage-reference-cost-usd and x-triage-usage-estimated (the header a
// non-streamed answer carries).
const std::vector<std::string>& CostTrailerNames();
Headers CostTrailers(const RequestContext& ctx);

// Adds a failed attempt's usage to ctx.failed_usage, priced at `d` (ctx.failed_cost_micros):
// what its upstream reported, or, `estimated`, what CompleteUsage made of it for an attempt
// whose upstream had begun to answer (ctx.failed_usage_estimated). All zero: nothing to add.
void AddFailedAttemptUsage(RequestContext& ctx, const config::Deployment& d,
                           const dialect::TokenUsage& u, bool estimated = false);
// A hedged attempt cancelled before it answered (the other attempt produced its first token
// first, or the client left while both ran; tiers[].hedge): its upstream had the prompt, so it
// is billed as a failed attempt, the prompt's estimate (estimated).
void AddCancelledAttemptUsage(RequestContext& ctx, const config::Deployment& d);
// Moves `from`'s failed-attempt usage and cost into `to` (the cascade's cheap step into its
// request).
void CarryFailedAttemptUsage(RequestContext& to, const RequestContext& from);

// Logs a failed upstream attempt (warn level).
void LogAttemptFailure(const RequestContext& ctx, const config::Deployment& d, const Error& e);

}  // namespace triage::pipeline
