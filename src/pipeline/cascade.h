#pragma once
// Helpers of the cascade: a ClientWriter that holds a response instead of sending it, and the
// answer text of a held response. Single-threaded, like every ClientWriter.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dialect/types.h"
#include "pipeline/client_writer.h"
#include "pipeline/context.h"

namespace triage::pipeline {

class HoldingWriter final : public ClientWriter {
 public:
  boost::asio::awaitable<bool> Respond(int status, const Headers& headers,
                                       std::string body) override;
  boost::asio::awaitable<bool> BeginStream(const Headers& headers,
                                           const std::vector<std::string>& trailers) override;
  boost::asio::awaitable<bool> Write(std::string_view data) override;
  boost::asio::awaitable<bool> EndStream(const Headers& trailers) override;
  bool RefusedForSize() const override { return too_big; }
  // A held stream that failed is dropped: the next deployment of the cheap tier may answer.
  bool Rewind() override;
  // Sends what was held to `out`, with `headers` replacing the held ones. Returns false when
  // the client is gone.
  boost::asio::awaitable<bool> Release(ClientWriter& out, const Headers& headers,
                                       const Headers& trailers);
  // A held stream's tail (its last write: the `triage` object's "cost_usd" and the `: triage
  // cost_usd=` comment) states the cheap call's cost, `held_cost`; the row may bill more
  // (failed attempts' reported usage, a failed escalation's): restate it as `cost` there. The
  // `triage` object's "usage_estimated" is restated as the row's `usage_estimated` too.
  void RestateCost(const std::string& held_cost, const std::string& cost, bool usage_estimated);

  int status = 0;
  bool streamed = false;
  bool ended = false;
  Headers headers;
  std::vector<std::string> declared_trailers;
  std::string body;       // the whole body, or every stream frame
  size_t last_write = 0;  // where the last stream write begins in `body`
  // A stream write that would make `body` larger than this is refused (Write returns false)
  // and sets too_big.
  size_t max_bytes = SIZE_MAX;
  bool too_big = false;
};

// The trailers a stream the cascade's keep-alive began declares (its route, tier and deployment
// were not known when its head left): the cost ones of every stream, then x-triage-route,
// x-triage-tier and x-triage-deployment.
const std::vector<std::string>& BegunStreamTrailers();
// The SSE comment a held stream's keep-alive sends, once per interval.
inline constexpr std::string_view kKeepAliveComment = ": keep-alive\n\n";

// The keep-alive loop of a held or begun stream (cascade.cc).
struct HoldKeepAlive;

// The client's stream once the cascade's keep-alive has begun it (status 200 and the head sent
// while the cheap answer was held): the decision's writes (the released answer, the
// escalation's stream, an error) go into it. BeginStream sends nothing; the first write is
// preceded by the comment `: triage route=ROUTE` (ctx.route_reason, final by then); EndStream
// adds the trailers x-triage-route, x-triage-tier and x-triage-deployment (from ctx); Respond, a
// refusal (the only Respond of a streaming request), becomes the error event of the client's
// dialect carrying its body, then the end of the stream with the cost trailers. `out` and `ctx`
// must outlive it. Single-threaded, like every ClientWriter.
class BegunStreamWriter final : public ClientWriter {
 public:
  BegunStreamWriter(ClientWriter& out, const RequestContext& ctx) : out_(out), ctx_(ctx) {}
  boost::asio::awaitable<bool> Respond(int status, const Headers& headers,
                                       std::string body) override;
  boost::asio::awaitable<bool> BeginStream(const Headers& headers,
                                           const std::vector<std::string>& trailers) override;
  boost::asio::awaitable<bool> Write(std::string_view data) override;
  boost::asio::awaitable<bool> EndStream(const Headers& trailers) override;
  // A keep-alive loop writing to `out` while the escalation waits for its first bytes: stopped,
  // a write of it in flight finished, before this writer's first write.
  void StopBeforeFirstWrite(std::shared_ptr<HoldKeepAlive> keepalive) {
    keepalive_ = std::move(keepalive);
  }

 private:
  ClientWriter& out_;
  const RequestContext& ctx_;
  bool routed_ = false;  // the route comment went out
  std::shared_ptr<HoldKeepAlive> keepalive_;
};

// One tool call of a held answer, as the client's dialect wrote it.
struct AnswerToolCall {
  std::string name;
  // The arguments as JSON text: OpenAI's `function.arguments` string (a stream's fragments
  // joined in order), Anthropic's `input` object serialised (a stream's input_json_delta
  // partial_json fragments joined). May be empty (= `{}`) or not JSON at all.
  std::string arguments;
  bool custom = false;  // an OpenAI custom tool call (`custom.input`): free text, not JSON
  // An Anthropic tool_use block's `toolset_name`: the call is a member of a toolset
  // (browser_toolset_..., computer_toolset_...); "" otherwise.
  std::string toolset;
  // An Anthropic `input`, or OpenAI `arguments` given as a JSON value rather than a string,
  // nested deeper than kMaxJsonDepthCap: not serialised into `arguments` (that recursion could
  // overflow the stack).
  bool too_deep = false;
};

// One choice of a held answer (OpenAI `n` > 1 has several; Anthropic one).
struct AnswerChoice {
  std::string text;                        // the assistant text (no thinking, no tool calls)
  std::vector<AnswerToolCall> tool_calls;  // in the order the answer gave them
  // finish_reason "length" / stop_reason "max_tokens" or "model_context_window_exceeded": the
  // answer was cut.
  bool cut = false;
};

// The choices of a held answer (OpenAI or Anthropic, JSON or SSE frames), by choice index; at
// least one, possibly empty. A stream's tool calls are assembled from their fragments: OpenAI
// `delta.tool_calls[]` by `index` (the name from its fragments, `function.arguments` joined; a
// head with another `id` than the call at its index starts a new call),
// Anthropic `content_block_start` tool_use blocks and their `input_json_delta` fragments.
std::vector<AnswerChoice> AnswerChoices(dialect::Dialect client, bool stream,
                                        const std::string& body);

// The assistant text of a held answer, one per choice (OpenAI `n` > 1; at least one, possibly
// empty), and all of them joined.
std::vector<std::string> AnswerTexts(dialect::Dialect client, bool stream, const std::string& body);
std::string AnswerText(dialect::Dialect client, bool stream, const std::string& body);

// Why a tool call does not fit the request `req` (in the same dialect), or "" when it does: its
// name is one of the request's tools (`unknown tool "NAME"`; an Anthropic call with a
// `toolset_name` fits a toolset of that family, or any family when the request has an
// mcp_toolset), its arguments parse as a JSON object, empty counting as `{}` (`arguments are
// not a JSON object`; an Anthropic input or OpenAI arguments value nested too deep to read:
// `arguments nested too deep`), they fit the tool's input schema (CheckArguments: `missing required
// "KEY"`, `city: expected string`, ...), and a tool_choice that forces one tool names this one
// (`tool_choice asks for NAME`; tool_choice none: `tool_choice is none`; OpenAI allowed_tools
// without it: `tool_choice does not allow NAME`). Never quotes argument values (they may hold
// user data); names are shown cut to 64 characters of [A-Za-z0-9_.:/-], others as '?'.
std::string CheckToolCall(const dialect::ChatRequest& req, const AnswerToolCall& call);
// The first problem of a choice's tool calls (CheckToolCall), or "" when all are valid. A
// choice with tool calls that was cut at the token limit is not valid even when its calls
// parse (`cut at the token limit`): its last call may be incomplete.
std::string CheckToolCalls(const dialect::ChatRequest& req, const AnswerChoice& choice);

}  // namespace triage::pipeline
