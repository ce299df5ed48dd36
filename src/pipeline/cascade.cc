// The live cascade (FrugalGPT / AutoMix style): the cheapest tier answers first; the answer is
// held, scored, and either released or the request escalates to the next tier.
#include "pipeline/cascade.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "config/config.h"
#include "dialect/sse.h"
#include "observe/log.h"
#include "pipeline/attempt_util.h"
#include "pipeline/gateway.h"
#include "pipeline/tool_schema.h"
#include "routing/router.h"

namespace triage::pipeline {

namespace net = boost::asio;
using nlohmann::json;

net::awaitable<bool> HoldingWriter::Respond(int s, const Headers& h, std::string b) {
  status = s;
  headers = h;
  body = std::move(b);
  co_return true;
}

net::awaitable<bool> HoldingWriter::BeginStream(const Headers& h,
                                                const std::vector<std::string>& trailers) {
  status = 200;
  streamed = true;
  headers = h;
  declared_trailers = trailers;
  co_return true;
}

net::awaitable<bool> HoldingWriter::Write(std::string_view data) {
  if (body.size() + data.size() > max_bytes) {
    too_big = true;
    co_return false;
  }
  last_write = body.size();
  body.append(data);
  co_return true;
}

net::awaitable<bool> HoldingWriter::EndStream(const Headers&) {
  ended = true;
  co_return true;
}

bool HoldingWriter::Rewind() {
  if (!streamed || ended) return false;
  status = 0;
  streamed = false;
  headers.clear();
  declared_trailers.clear();
  body.clear();
  last_write = 0;
  too_big = false;
  return true;
}

void HoldingWriter::RestateCost(const std::string& held_cost, const std::string& cost,
                                bool usage_estimated) {
  if (!streamed) return;
  const std::string flag = "\"usage_estimated\":";
  const std::string was = flag + (usage_estimated ? "false" : "true");
  if (size_t at = body.find(was, last_write); at != std::string::npos)
    body.replace(at, was.size(), flag + (usage_estimated ? "true" : "false"));
  if (held_cost == cost) return;
  for (const std::string& key : {std::string("\"cost_usd\":\""), std::string("triage cost_usd=")}) {
    const std::string from = key + held_cost, to = key + cost;
    for (size_t at = body.find(from, last_write); at != std::string::npos;
         at = body.find(from, at + to.size()))
      body.replace(at, from.size(), to);
  }
}

net::awaitable<bool> HoldingWriter::Release(ClientWriter& out, const Headers& h,
                                            const Headers& trailers) {
  bool ok = false;
  if (!streamed) {
    ok = co_await out.Respond(status, h, std::move(body));
  } else {
    ok = co_await out.BeginStream(h, declared_trailers);
    if (ok) ok = co_await out.Write(body);
    if (ok) ok = co_await out.EndStream(trailers);
  }
  co_return ok;
}

namespace {
// The comment that names a begun stream's route before the decision's first bytes (a route
// reason has no line breaks; one that had would end the comment early).
std::string RouteComment(const std::string& route) {
  std::string line = ": triage route=" + route;
  std::replace(line.begin(), line.end(), '\n', ' ');
  std::replace(line.begin(), line.end(), '\r', ' ');
  return line + "\n\n";
}

// The trailers that say what a begun stream's head could not: route, tier, deployment.
void AppendDecisionTrailers(Headers& t, const RequestContext& ctx) {
  t.emplace_back("x-triage-route", ctx.route_reason);
  t.emplace_back("x-triage-tier", ctx.deployment ? ctx.deployment->tier : "none");
  t.emplace_back("x-triage-deployment", ctx.deployment ? ctx.deployment->name : "none");
}

// An error body of the client's dialect as the event that ends its stream (what a stream that
// fails after its first byte sends: OpenAI `data: {"error":...}`, Anthropic `event: error`).
std::string ErrorEvent(dialect::Dialect d, const std::string& body) {
  if (d == dialect::Dialect::kAnthropic) return dialect::SseFrame(body, "error");
  return dialect::SseFrame(body);
}
}  // namespace

// The keep-alive of a streamed cheap answer held for the cascade (routing.cascade_keepalive_ms).
// Lives on the request's executor; its loop is the only writer to the client until stopped.
struct HoldKeepAlive {
  explicit HoldKeepAlive(const net::any_io_executor& ex)
      : timer(ex), done(ex, net::steady_timer::time_point::max()) {}
  net::steady_timer timer;
  net::steady_timer done;  // cancelled when the loop has ended
  bool running = false;
  bool stop = false;
  bool begun = false;  // the client's stream began (status 200 and the head went out)
};

namespace {

// Every `every` without a decision: begins the client's stream with `head` at the first time,
// then sends `: keep-alive`. A write that fails fires `cancel`, which ends the held cheap call
// as the session's disconnect watch would.
net::awaitable<void> KeepHeldStreamAlive(HoldKeepAlive& ka, ClientWriter& out,
                                         upstream::CancelHook& cancel, Headers head,
                                         std::chrono::milliseconds every) {
  while (!ka.stop) {
    ka.timer.expires_after(every);
    co_await ka.timer.async_wait(net::as_tuple(net::use_awaitable));
    if (ka.stop) break;
    bool ok = true;
    if (!ka.begun) {
      ka.begun = true;
      ok = co_await out.BeginStream(head, BegunStreamTrailers());
    }
    if (ok) ok = co_await out.Write(kKeepAliveComment);
    if (!ok) {
      cancel.Fire();  // the client is gone
      break;
    }
  }
}

// `begun`: the client's stream has begun already (the escalation's wait): comments only.
std::shared_ptr<HoldKeepAlive> StartKeepAlive(const net::any_io_executor& ex, ClientWriter& out,
                                              std::shared_ptr<upstream::CancelHook> cancel,
                                              Headers head, std::chrono::milliseconds every,
                                              bool begun = false) {
  auto ka = std::make_shared<HoldKeepAlive>(ex);
  ka->running = true;
  ka->begun = begun;
  // The completion keeps the state and the cancel hook alive as long as the loop runs.
  net::co_spawn(ex, KeepHeldStreamAlive(*ka, out, *cancel, std::move(head), every),
                [ka, cancel](std::exception_ptr) {
                  ka->running = false;
                  ka->done.cancel();
                });
  return ka;
}

// Stops the loop and waits for a write in flight, so that the decision's writes never overlap
// one of the keep-alive's.
net::awaitable<void> StopKeepAlive(HoldKeepAlive& ka) {
  ka.stop = true;
  ka.timer.cancel();
  if (ka.running) co_await ka.done.async_wait(net::as_tuple(net::use_awaitable));
}

// Stops a keep-alive loop when the request's coroutine leaves by any path, an exception included,
// so that it never writes to a writer that is gone. The normal paths stop it with StopKeepAlive
// first, which also waits for a write in flight.
struct KeepAliveGuard {
  std::shared_ptr<HoldKeepAlive> ka;
  ~KeepAliveGuard() {
    if (!ka) return;
    ka->stop = true;
    ka->timer.cancel();
  }
};
}  // namespace

const std::vector<std::string>& BegunStreamTrailers() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n = CostTrailerNames();
    n.insert(n.end(), {"x-triage-route", "x-triage-tier", "x-triage-deployment"});
    return n;
  }();
  return names;
}

net::awaitable<bool> BegunStreamWriter::Respond(int, const Headers&, std::string body) {
  const std::string frame = ErrorEvent(ctx_.dialect, body);
  if (!co_await Write(frame)) co_return false;
  const Headers trailers = CostTrailers(ctx_);
  co_return co_await EndStream(trailers);
}

net::awaitable<bool> BegunStreamWriter::BeginStream(const Headers&,
                                                    const std::vector<std::string>&) {
  co_return true;  // begun by the keep-alive
}

net::awaitable<bool> BegunStreamWriter::Write(std::string_view data) {
  if (routed_) co_return co_await out_.Write(data);
  routed_ = true;
  if (keepalive_) co_await StopKeepAlive(*keepalive_);
  std::string framed = RouteComment(ctx_.route_reason);
  framed.append(data);
  co_return co_await out_.Write(framed);
}

net::awaitable<bool> BegunStreamWriter::EndStream(const Headers& trailers) {
  if (!routed_ && !co_await Write({})) co_return false;  // a stream that wrote nothing
  Headers t = trailers;
  AppendDecisionTrailers(t, ctx_);
  co_return co_await out_.EndStream(t);
}

namespace {
// o[key] when o is an object and it is a string, else "" (an upstream's answer may hold
// anything; nlohmann's value() throws on a type mismatch).
std::string Str(const json& o, const char* key) {
  if (!o.is_object()) return "";
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}
}  // namespace

std::vector<AnswerChoice> AnswerChoices(dialect::Dialect client, bool stream,
                                        const std::string& body) {
  std::vector<AnswerChoice> choices(1);
  // OpenAI choices by their index (stream deltas of several choices arrive interleaved);
  // an index beyond the 128 `n` allows is read as choice 0's.
  auto choice = [&](const json& c, size_t position) -> size_t {
    size_t i = position;
    if (c.contains("index") && c["index"].is_number_unsigned()) i = c["index"].get<size_t>();
    if (i >= 128) i = 0;
    if (choices.size() <= i) choices.resize(i + 1);
    return i;
  };
  // A stream's OpenAI tool-call fragments: (choice index, tool call index) -> position in the
  // choice's tool_calls and the id of the call there.
  std::map<std::pair<size_t, size_t>, std::pair<size_t, std::string>> openai_calls;
  // `function`, when given, is the call's function object in place of tc's (the deprecated
  // function_call, read where it is: a copy would recurse through its arguments).
  auto add_openai_call = [&](size_t ci, const json& tc, size_t position, bool delta,
                             const json* function = nullptr) {
    if (!tc.is_object()) return;
    AnswerChoice& ch = choices[ci];
    const bool custom = !function && (Str(tc, "type") == "custom" || tc.contains("custom"));
    const json* f = function ? function
                    : custom ? (tc.contains("custom") ? &tc["custom"] : nullptr)
                             : (tc.contains("function") ? &tc["function"] : nullptr);
    AnswerToolCall* call = nullptr;
    if (delta) {
      size_t k = position;
      if (tc.contains("index") && tc["index"].is_number_unsigned()) k = tc["index"].get<size_t>();
      const auto key = std::make_pair(ci, k);
      const std::string id = Str(tc, "id");
      auto it = openai_calls.find(key);
      // A call's head (an id and a name) with another id than the call at this index starts a
      // new call: Gemini's OpenAI-compatible API streams parallel calls whole, each with its
      // own id but no `index` (some gateways put them all at index 0).
      const bool new_head = it != openai_calls.end() && !id.empty() && !it->second.second.empty() &&
                            it->second.second != id && f && f->is_object() &&
                            !Str(*f, "name").empty();
      if (it == openai_calls.end() || new_head) {
        openai_calls[key] = {ch.tool_calls.size(), id};
        ch.tool_calls.emplace_back();
        it = openai_calls.find(key);
      }
      if (it->second.second.empty()) it->second.second = id;
      call = &ch.tool_calls[it->second.first];
    } else {
      call = &ch.tool_calls.emplace_back();
    }
    call->custom = call->custom || custom;
    if (!f || !f->is_object()) return;
    if (auto n = f->find("name"); n != f->end() && n->is_string()) {
      const std::string& name = n->get_ref<const std::string&>();
      // The name comes in the first fragment; a server that repeats it is read once.
      if (call->name != name) call->name += name;
    }
    const char* field = custom ? "input" : "arguments";
    if (auto a = f->find(field); a != f->end()) {
      if (a->is_string()) {
        call->arguments += a->get_ref<const std::string&>();
      } else if (!a->is_null()) {
        // A value rather than a string: serialised, unless nested too deep for dump()'s
        // recursion (as an Anthropic `input`).
        if (NestedDeeperThan(*a, config::kMaxJsonDepthCap))
          call->too_deep = true;
        else
          call->arguments += a->dump();
      }
    }
  };
  auto add_openai = [&](const json& j) {
    if (!j.is_object() || !j.contains("choices") || !j["choices"].is_array()) return;
    size_t position = 0;
    for (const auto& c : j["choices"]) {
      if (!c.is_object()) {
        ++position;
        continue;
      }
      const size_t ci = choice(c, position);
      AnswerChoice& ch = choices[ci];
      const bool delta = !c.contains("message") && c.contains("delta");
      const json* m = c.contains("message") ? &c["message"]
                      : c.contains("delta") ? &c["delta"]
                                            : nullptr;
      if (m && m->is_object()) {
        if (m->contains("content") && (*m)["content"].is_string())
          ch.text += (*m)["content"].get<std::string>();
        if (auto tcs = m->find("tool_calls"); tcs != m->end() && tcs->is_array()) {
          size_t k = 0;
          for (const auto& tc : *tcs) add_openai_call(ci, tc, k++, delta);
        }
        // The deprecated single function_call: one call, under a tool index no tool_calls[]
        // fragment uses.
        if (auto fc = m->find("function_call"); fc != m->end() && fc->is_object())
          add_openai_call(ci, json{{"index", SIZE_MAX}}, 0, delta, &*fc);
      }
      if (auto fr = c.find("finish_reason"); fr != c.end() && fr->is_string())
        ch.cut = *fr == "length";
      ++position;
    }
  };
  // A stream's Anthropic tool_use blocks by content block index: position in tool_calls, and
  // whether input_json_delta fragments came (they replace the start's `input`).
  std::map<int64_t, std::pair<size_t, bool>> anthropic_blocks;
  // Anthropic stop reasons that cut the answer: the token limit, the model's context window.
  auto cut_by = [](const json& sr) {
    return sr == "max_tokens" || sr == "model_context_window_exceeded";
  };
  auto add_anthropic = [&](const json& j) {
    if (!j.is_object()) return;
    AnswerChoice& ch = choices[0];
    auto tool_use = [&](const json& b) {
      AnswerToolCall& call = ch.tool_calls.emplace_back();
      call.name = Str(b, "name");
      call.toolset = Str(b, "toolset_name");
      if (auto in = b.find("input"); in != b.end() && !in->is_null()) {
        call.too_deep = NestedDeeperThan(*in, config::kMaxJsonDepthCap);
        if (!call.too_deep) call.arguments = in->dump();
      }
    };
    if (j.contains("content") && j["content"].is_array())
      for (const auto& b : j["content"]) {
        if (!b.is_object()) continue;
        const std::string type = Str(b, "type");
        if (type == "text") ch.text += Str(b, "text");
        if (type == "tool_use") tool_use(b);
      }
    if (auto sr = j.find("stop_reason"); sr != j.end() && sr->is_string()) ch.cut = cut_by(*sr);
    const std::string type = Str(j, "type");
    if (type == "message_delta" && j.contains("delta") && j["delta"].is_object()) {
      const json& d = j["delta"];
      if (auto sr = d.find("stop_reason"); sr != d.end() && sr->is_string()) ch.cut = cut_by(*sr);
    }
    const int64_t index =
        j.contains("index") && j["index"].is_number_integer() ? j["index"].get<int64_t>() : -1;
    if (type == "content_block_start" && j.contains("content_block") &&
        j["content_block"].is_object() && Str(j["content_block"], "type") == "tool_use") {
      tool_use(j["content_block"]);
      // An empty start input is the usual `{}` placeholder of a streamed block.
      if (ch.tool_calls.back().arguments == "{}") ch.tool_calls.back().arguments.clear();
      anthropic_blocks[index] = {ch.tool_calls.size() - 1, false};
    }
    if (type != "content_block_delta" || !j.contains("delta") || !j["delta"].is_object()) return;
    const json& d = j["delta"];
    const std::string dtype = Str(d, "type");
    if (dtype == "text_delta") ch.text += Str(d, "text");
    if (dtype == "input_json_delta") {
      auto it = anthropic_blocks.find(index);
      if (it == anthropic_blocks.end()) return;
      AnswerToolCall& call = ch.tool_calls[it->second.first];
      if (!it->second.second) call.arguments.clear();
      it->second.second = true;
      call.arguments += Str(d, "partial_json");
    }
  };
  auto add = [&](const json& j) {
    if (client == dialect::Dialect::kOpenAI)
      add_openai(j);
    else
      add_anthropic(j);
  };
  if (!stream) {
    add(json::parse(body, nullptr, false));
    return choices;
  }
  dialect::SseParser parser(body.size() + 1);
  std::vector<dialect::SseEvent> events;
  parser.Feed(body, events);
  for (const auto& ev : events)
    if (!ev.data.empty() && ev.data != "[DONE]") add(json::parse(ev.data, nullptr, false));
  return choices;
}

std::vector<std::string> AnswerTexts(dialect::Dialect client, bool stream,
                                     const std::string& body) {
  std::vector<std::string> texts;
  for (auto& c : AnswerChoices(client, stream, body)) texts.push_back(std::move(c.text));
  return texts;
}

std::string AnswerText(dialect::Dialect client, bool stream, const std::string& body) {
  std::string text;
  for (const auto& t : AnswerTexts(client, stream, body)) text += t;
  return text;
}

namespace {
// A tool the request offers: its name, its input schema (null when it has none) and whether
// it is an OpenAI custom tool (free-text input).
struct OfferedTool {
  std::string name;
  const json* schema = nullptr;
  bool custom = false;
};

std::vector<OfferedTool> OfferedTools(const dialect::ChatRequest& req) {
  std::vector<OfferedTool> out;
  const json& b = req.body;
  if (!b.is_object()) return out;
  auto schema_of = [](const json& o, const char* key) -> const json* {
    if (!o.is_object()) return nullptr;
    auto s = o.find(key);
    return s != o.end() && s->is_object() ? &*s : nullptr;
  };
  const auto tools = b.find("tools");
  const bool listed = tools != b.end() && tools->is_array();
  if (req.dialect == dialect::Dialect::kAnthropic) {
    // Every tool the client runs has a name (custom ones with input_schema; the typed client
    // tools, bash_..., text_editor_..., have a fixed schema of their own), but the toolsets
    // (ToolsetOffered).
    if (listed)
      for (const auto& t : *tools)
        if (std::string name = Str(t, "name"); !name.empty())
          out.push_back({std::move(name), schema_of(t, "input_schema")});
    return out;
  }
  if (listed)
    for (const auto& t : *tools) {
      if (!t.is_object()) continue;
      const std::string type = t.contains("type") ? Str(t, "type") : "function";
      if (type == "function" && t.contains("function"))
        out.push_back({Str(t["function"], "name"), schema_of(t["function"], "parameters")});
      if (type == "custom" && t.contains("custom"))
        out.push_back({Str(t["custom"], "name"), nullptr, true});
    }
  if (auto fns = b.find("functions"); fns != b.end() && fns->is_array())  // deprecated spelling
    for (const auto& f : *fns) out.push_back({Str(f, "name"), schema_of(f, "parameters")});
  return out;
}

// Whether an Anthropic request offers a toolset (a typed tool without a name, whose members
// Anthropic or an MCP server names) of the family `family`: its type up to "_toolset"
// (browser_toolset_... is `browser`); an mcp_toolset stands for any family.
bool ToolsetOffered(const dialect::ChatRequest& req, const std::string& family) {
  if (req.dialect != dialect::Dialect::kAnthropic || family.empty() || !req.body.is_object())
    return false;
  auto tools = req.body.find("tools");
  if (tools == req.body.end() || !tools->is_array()) return false;
  for (const auto& t : *tools) {
    if (!t.is_object() || t.contains("name")) continue;
    const std::string type = Str(t, "type");
    if (type == "mcp_toolset" || type.rfind(family + "_toolset", 0) == 0) return true;
  }
  return false;
}

// The request's tool_choice as (forced tool name or "", none): OpenAI {"type":"function",
// "function":{"name":X}} (custom: "custom":{"name":X}), "none", the deprecated function_call;
// Anthropic {"type":"tool","name":X}, {"type":"none"}.
std::pair<std::string, bool> ForcedTool(const dialect::ChatRequest& req) {
  const json& b = req.body;
  if (!b.is_object()) return {"", false};
  auto name_in = [](const json& o, const char* key) -> std::string {
    if (!o.is_object() || !o.contains(key) || !o[key].is_object()) return "";
    return Str(o[key], "name");
  };
  if (req.dialect == dialect::Dialect::kAnthropic) {
    auto tc = b.find("tool_choice");
    if (tc == b.end() || !tc->is_object()) return {"", false};
    const std::string type = Str(*tc, "type");
    if (type == "none") return {"", true};
    return {type == "tool" ? Str(*tc, "name") : "", false};
  }
  for (const char* key : {"tool_choice", "function_call"}) {
    auto tc = b.find(key);
    if (tc == b.end() || tc->is_null()) continue;
    if (tc->is_string()) return {"", *tc == "none"};
    if (!tc->is_object()) return {"", false};
    if (tc->contains("name") && (*tc)["name"].is_string())  // function_call: {"name": X}
      return {(*tc)["name"].get<std::string>(), false};
    std::string name = name_in(*tc, "function");
    if (name.empty()) name = name_in(*tc, "custom");
    return {name, false};
  }
  return {"", false};
}

// Whether an OpenAI tool_choice {"type":"allowed_tools","allowed_tools":{"mode","tools":[...]}}
// (a subset of `tools`, entries like `tools`' own) lets the model call `call`; true when the
// request has no such tool_choice.
bool AllowedByToolChoice(const dialect::ChatRequest& req, const AnswerToolCall& call) {
  if (req.dialect != dialect::Dialect::kOpenAI || !req.body.is_object()) return true;
  auto tc = req.body.find("tool_choice");
  if (tc == req.body.end() || !tc->is_object() || Str(*tc, "type") != "allowed_tools") return true;
  auto at = tc->find("allowed_tools");
  if (at == tc->end() || !at->is_object()) return true;
  auto tools = at->find("tools");
  if (tools == at->end() || !tools->is_array()) return true;
  for (const auto& t : *tools) {
    const char* key = call.custom ? "custom" : "function";
    if (t.is_object() && t.contains(key) && Str(t[key], "name") == call.name) return true;
  }
  return false;
}
}  // namespace

std::string CheckToolCall(const dialect::ChatRequest& req, const AnswerToolCall& call) {
  const auto [forced, none] = ForcedTool(req);
  if (none) return "tool_choice is none";
  const std::vector<OfferedTool> offered = OfferedTools(req);
  const OfferedTool* tool = nullptr;
  for (const auto& t : offered)
    if (t.name == call.name && t.custom == call.custom) {
      tool = &t;
      break;
    }
  // A member of an Anthropic toolset of the request, by its toolset_name: plausible, with no
  // schema to check its arguments against.
  const bool member = !tool && ToolsetOffered(req, call.toolset);
  if (!tool && !member) return "unknown tool \"" + ShownName(call.name) + "\"";
  const json* schema = tool ? tool->schema : nullptr;
  if (!forced.empty() && forced != call.name) return "tool_choice asks for " + ShownName(forced);
  if (!AllowedByToolChoice(req, call)) return "tool_choice does not allow " + ShownName(call.name);
  if (call.custom) return "";  // free-text input
  if (call.too_deep) return "arguments nested too deep";
  const auto first = call.arguments.find_first_not_of(" \t\r\n");
  const json args =
      first == std::string::npos ? json::object() : json::parse(call.arguments, nullptr, false);
  if (!args.is_object()) return "arguments are not a JSON object";
  // An OpenAI answer translated for an Anthropic client carries arguments that are no JSON
  // object as {"_raw": "..."} (translate_response.cc): still not an object, unless the tool
  // itself takes a `_raw`.
  if (req.dialect == dialect::Dialect::kAnthropic && args.size() == 1 && args.contains("_raw") &&
      args["_raw"].is_string() &&
      !(schema && schema->contains("properties") && (*schema)["properties"].is_object() &&
        (*schema)["properties"].contains("_raw")))
    return "arguments are not a JSON object";
  // The values against the schema (`required` first: `missing required "KEY"`).
  return schema ? CheckArguments(*schema, args) : "";
}

std::string CheckToolCalls(const dialect::ChatRequest& req, const AnswerChoice& choice) {
  for (const auto& call : choice.tool_calls)
    if (std::string why = CheckToolCall(req, call); !why.empty()) return why;
  if (choice.cut && !choice.tool_calls.empty()) return "cut at the token limit";
  return "";
}

namespace {
Headers WithRoute(Headers h, const std::string& route, const RequestContext& ctx, bool cost) {
  Headers out;
  for (auto& kv : h) {
    if (kv.first == "x-triage-route") continue;
    if (cost && kv.first == "x-triage-cost-usd") continue;
    if (cost && kv.first == "x-triage-reference-cost-usd") continue;
    if (cost && kv.first == "x-triage-usage-estimated") continue;
    out.push_back(std::move(kv));
  }
  out.emplace_back("x-triage-route", route);
  if (cost) {
    out.emplace_back("x-triage-cost-usd", catalog::FormatUsd(ctx.cost_micros));
    out.emplace_back("x-triage-reference-cost-usd", catalog::FormatUsd(ctx.reference_cost_micros));
    out.emplace_back("x-triage-usage-estimated", UsageEstimatedHeader(ctx));
  }
  return out;
}

// The cheap answer is released after a failed escalation: the row's usage and cost are the
// cheap call's own, plus what the failed calls' upstreams reported (ctx.failed_usage, kept);
// its attempts count both. A plain function:
// no aggregate temporaries inside coroutines (g++ 12).
void CarryEscalationAttemptsOnly(RequestContext& ctx) {
  ctx.carried_cost_micros = 0;
  ctx.carried_usage = {};
  ctx.carried_attempts = ctx.attempts;
  ctx.attempts = 0;
}

void LogEscalationFailure(const RequestContext& ctx, const Error& e) {
  json f = json::object();
  f["id"] = ctx.id;
  f["error"] = e.message;
  observe::Log(observe::Level::kWarn, "cascade escalation failed; the cheap answer is released",
               std::move(f));
}

// "score=S < T" / "S >= T": S with as many decimals as make the comparison read true against
// every threshold in `all` (T among them), T as configured, with at least as many decimals as
// S (0.999 used to print as 1.00 beside a two-decimal score).
std::string Compared(double score, const char* op, double threshold,
                     const std::vector<double>& all) {
  const int d = routing::ScoreDigits(score, all);
  const std::string exact = routing::FormatScore(threshold, routing::kShortestDigits);
  const size_t dot = exact.find('.');
  const int own = dot == std::string::npos ? 0 : static_cast<int>(exact.size() - dot - 1);
  const bool as_is = d == routing::kShortestDigits || own >= d;
  return routing::FormatScore(score, d) + op + (as_is ? exact : routing::FormatScore(threshold, d));
}

// The head of a stream begun before the decision: the request's own fields, with the route,
// tier and deployment not known yet (they come as trailers and the `: triage route=` comment).
Headers PendingStreamHead(Headers h) {
  for (auto& [k, v] : h) {
    if (k == "x-triage-tier" || k == "x-triage-deployment") v = "pending";
    if (k == "x-triage-route") v = "cascade pending";
  }
  if (std::none_of(h.begin(), h.end(), [](const auto& kv) { return kv.first == "x-triage-route"; }))
    h.emplace_back("x-triage-route", "cascade pending");
  h.emplace_back("content-type", "text/event-stream");
  h.emplace_back("cache-control", "no-cache");
  return h;
}
}  // namespace

Gateway::Verdict Gateway::Decide(const Routing& routing, const RequestContext& cheap,
                                 const std::vector<AnswerChoice>& choices) {
  // Each choice (OpenAI `n` > 1) is judged on its own; the least convincing one decides, as
  // the client gets them all. With routing.cascade_tool_calls "check", a choice's tool calls
  // are checked against the request's tools (the judge, trained on text answers, knows nothing
  // of them): one invalid call escalates; a choice of calls alone, no text, is not judged.
  Verdict v;
  size_t tool_calls = 0;
  std::string invalid;  // the first invalid call's problem
  for (const AnswerChoice& c : choices) {
    if (routing.check_tool_calls && !c.tool_calls.empty()) {
      tool_calls += c.tool_calls.size();
      if (invalid.empty()) invalid = CheckToolCalls(cheap.req, c);
      if (c.text.find_first_not_of(" \t\r\n") == std::string::npos) continue;
    }
    v.judged = true;
    v.score = std::max(v.score, routing.judge(cheap, c.text));
  }
  // The judge's thresholds: the first releases below it; the others (three tiers or more) send
  // the higher scores further up, as the thresholds of `triage calibrate --split 70/25/5` do.
  std::vector<double> th{routing.judge_threshold};
  for (size_t i = 1; i < routing.thresholds.size(); ++i)
    th.push_back(std::max(th.back(), routing.thresholds[i]));
  if (v.judged) {
    v.tier = routing::ChooseTier(v.score, th);
    // The highest threshold the score reaches, or the first when it reaches none.
    const double t = th[v.tier == 0 ? 0 : v.tier - 1];
    v.basis = "score=" + Compared(v.score, v.tier == 0 ? " < " : " >= ", t, th);
  }
  if (!invalid.empty()) v.tier = std::max<size_t>(v.tier, 1);
  v.escalate = v.tier > 0;
  if (tool_calls == 0) return v;
  if (!v.basis.empty()) v.basis += "; ";
  if (!invalid.empty())
    v.basis += "tool call invalid (" + invalid + ")";
  else
    v.basis += tool_calls == 1 ? "tool call checked" : "tool calls checked";
  return v;
}

net::awaitable<void> Gateway::Cascade(RequestContext& ctx, ClientWriter& out,
                                      std::shared_ptr<const Routing> routing) {
  const auto& tiers = config_->tiers;
  // Until the answer is scored no decision is made; a request cut short keeps this reason.
  ctx.route_reason = "cascade \u2192 " + tiers[0].name + " (not scored)";
  ctx.route_decision = observe::RouteDecision::kNone;
  ctx.route_tier = {};
  // Step 1: the cheapest tier answers, held.
  RequestContext cheap;
  cheap.id = ctx.id;
  cheap.start = ctx.start;
  cheap.ts_ms = ctx.ts_ms;
  cheap.dialect = ctx.dialect;
  // The request moves to the cheap attempt and back once its answer is scored (nothing
  // changes a parsed request), rather than being copied: a long conversation's tree and texts.
  cheap.req = std::move(ctx.req);
  cheap.parsed = true;
  cheap.cancel = ctx.cancel;
  cheap.defer_ledger = true;
  AppendTier(cheap, tiers[0]);
  // Only deployments that can take the request (its dialect, modalities, context window); with
  // none in the cheap tier the cascade escalates at once, as when the cheap call fails.
  Status cheap_capable = KeepCapable(cheap);
  HoldingWriter held;
  // A held stream is bounded like an answer that is not streamed.
  held.max_bytes = static_cast<size_t>(config_->limits.max_response_bytes);
  // A streamed answer held long keeps the client's connection busy: its stream begins and
  // comments go out until the decision (routing.cascade_keepalive_ms).
  std::shared_ptr<HoldKeepAlive> keepalive;
  if (cheap_capable.ok() && cheap.req.stream && routing->cascade_keepalive.count() > 0)
    keepalive =
        StartKeepAlive(co_await net::this_coro::executor, out, ctx.cancel,
                       PendingStreamHead(ResponseHeaders(ctx, false)), routing->cascade_keepalive);
  KeepAliveGuard hold_guard{keepalive};
  if (cheap_capable.ok()) co_await Attempt(cheap, held);
  if (keepalive) co_await StopKeepAlive(*keepalive);
  // Once begun, the client's stream takes the decision's writes, an error as an event.
  BegunStreamWriter begun(out, ctx);
  ClientWriter* client = &out;
  if (keepalive && keepalive->begun) {
    ctx.stream_begun = true;
    client = &begun;
  }
  // Refused by the holder (the stream outgrew max_bytes): the cheap call failed, the client
  // is still there.
  if (held.too_big) cheap.client_gone = false;

  const bool answered = held.status == 200 && !cheap.error && (!held.streamed || held.ended);
  // A held stream that failed after its first content is rewound by the attempt and billed as
  // failed there; one left begun (its last write refused for the size) is a failed attempt the
  // client never saw too: its usage is the row's failed part, not an answer's.
  if (!answered && held.streamed && cheap.deployment && !cheap.client_gone &&
      !ctx.cancel->fired()) {
    AddFailedAttemptUsage(cheap, *cheap.deployment, cheap.usage, cheap.usage_estimated);
    cheap.usage = {};
    cheap.cost_micros = 0;
  }
  Verdict verdict;
  if (answered)
    verdict = Decide(*routing, cheap, AnswerChoices(ctx.dialect, held.streamed, held.body));
  const bool escalate = !answered || verdict.escalate;
  const double score = verdict.score;
  ctx.req = std::move(cheap.req);
  // The cheap step's failed attempts (fallbacks within its tier) were billed whatever happens.
  CarryFailedAttemptUsage(ctx, cheap);
  // The cheap call's usage reaches the row (as the answer's, or carried): so does its flag.
  ctx.usage_estimated = cheap.usage_estimated;
  // The attempt failed for the size when the holder refused the answer's content (logged and
  // counted by the breaker there); a refused last write or empty stream is logged here.
  if (held.too_big && !(cheap.error && cheap.error->code == "upstream_response_too_large")) {
    Error e = Error::Make(ErrorKind::kUpstream, "upstream_response_too_large",
                          "the cheap tier's stream grew beyond limits.max_response_bytes (" +
                              std::to_string(held.max_bytes) + " bytes) while held");
    LogAttemptFailure(cheap, *cheap.deployment, e);
  }
  if (cheap.client_gone || ctx.cancel->fired()) {
    ctx.deployment = cheap.deployment;
    ctx.dropped = cheap.dropped;
    ctx.attempts = cheap.attempts;
    ctx.usage = cheap.usage;
    ctx.client_gone = cheap.client_gone;
    co_await EndCancelled(ctx, *client);
    co_return;
  }
  if (escalate) {
    // Step 2: escalate to the next tier, live, carrying the cheap call's cost and tokens.
    ctx.carried_cost_micros = cheap.cost_micros;
    ctx.carried_usage = cheap.usage;
    ctx.carried_attempts = cheap.attempts;
    // The tier the score picked (the second when the cheap call gave no answer or a tool call
    // alone decided), then its fallbacks: the tiers above it (`up`, `both`) and those below it
    // down to the second (`down`, `both`; the cheap tier's answer is the last resort).
    const size_t to = answered ? std::min(verdict.tier, tiers.size() - 1) : 1;
    const config::Tier& target = tiers[to];
    ctx.plan.clear();
    AppendTier(ctx, target);
    const std::string& dir = config_->fallback;
    if (dir == "up" || dir == "both")
      for (size_t i = to + 1; i < tiers.size(); ++i) AppendTier(ctx, tiers[i]);
    if (dir == "down" || dir == "both")
      for (size_t i = to - 1; i >= 1; --i) AppendTier(ctx, tiers[i]);
    // (No conditional expression of class type here: g++ 12 mishandles them in coroutines.)
    ctx.route_tier = target.name;
    if (answered) {
      // A decision of the tool check alone has no judge score (none in the ledger, none for
      // `triage calibrate --ledger` or the score histogram).
      if (verdict.judged) ctx.route_score = score;
      ctx.route_decision = observe::RouteDecision::kCascadeEscalated;
      ctx.route_reason = "cascade " + verdict.basis + " \u2192 " + target.name;
    } else {
      ctx.route_decision = observe::RouteDecision::kCascadeCheapFailed;
      ctx.route_reason = "cascade " + tiers[0].name +
                         (cheap_capable.ok() ? " failed" : " cannot take the request") +
                         " \u2192 " + target.name;
    }
    Status capable = KeepCapable(ctx);
    if (capable.ok()) {
      // While the cheap answer is held, an escalation that fails before its first byte hands
      // its error back (ctx.kept_refusal) rather than answering with it.
      ctx.keep_refusal = answered;
      // A begun stream gets its comments while the escalation waits for its first bytes too.
      std::shared_ptr<HoldKeepAlive> waiting;
      if (ctx.stream_begun) {
        waiting = StartKeepAlive(co_await net::this_coro::executor, out, ctx.cancel, {},
                                 routing->cascade_keepalive, true);
        begun.StopBeforeFirstWrite(waiting);
      }
      KeepAliveGuard waiting_guard{waiting};
      co_await Attempt(ctx, *client);
      if (waiting) co_await StopKeepAlive(*waiting);
      ctx.keep_refusal = false;
      if (!ctx.kept_refusal) co_return;
    } else if (answered) {
      ctx.kept_refusal = capable.error();
    } else {
      // No tier can take it: refused, no tier chosen (not a cascade decision in /metrics).
      ctx.route_decision = observe::RouteDecision::kNone;
      Error e = capable.error();
      co_await Refuse(ctx, std::move(e), *client);
      co_return;
    }
    // The escalation gave no answer, but the cheap one is complete and paid for: release it
    // rather than an error. The decision stays "escalated"; the row says what the client got.
    LogEscalationFailure(ctx, *ctx.kept_refusal);
    ctx.route_reason += "; released " + tiers[0].name + " (" + target.name +
                        (capable.ok() ? " failed)" : " cannot take the request)");
    ctx.kept_refusal.reset();
    CarryEscalationAttemptsOnly(ctx);
  } else {
    if (verdict.judged) ctx.route_score = score;
    ctx.route_decision = observe::RouteDecision::kCascadeReleased;
    ctx.route_tier = tiers[0].name;
    ctx.route_reason = "cascade " + verdict.basis + " \u2192 " + tiers[0].name;
  }
  // Release the cheap answer: its row is committed first, then the held bytes go out.
  ctx.deployment = cheap.deployment;
  ctx.dropped = cheap.dropped;
  ctx.attempts += cheap.attempts;
  ctx.usage = cheap.usage;
  ctx.usage_reported = cheap.usage_reported;
  ctx.ttft_ms = ctx.ElapsedMs();  // the client's first byte leaves now
  ctx.committed = held.streamed;
  ctx.status = 200;
  co_await Account(ctx);
  // The held stream's own cost statement said the cheap call's cost: the row's is final.
  held.RestateCost(catalog::FormatUsd(cheap.cost_micros), catalog::FormatUsd(ctx.cost_micros),
                   ctx.usage_estimated || ctx.failed_usage_estimated);
  Headers h = WithRoute(held.headers, ctx.route_reason, ctx, !held.streamed);
  const Headers trailers = CostTrailers(ctx);
  co_await held.Release(*client, h, trailers);
}

}  // namespace triage::pipeline
