#include "dialect/stream_translate.h"

#include <cctype>
#include <chrono>
#include <map>
#include <random>
#include <set>

#include "dialect/answer.h"
#include "dialect/anthropic.h"
#include "dialect/canonical.h"
#include "dialect/json_util.h"
#include "dialect/openai.h"
#include "dialect/translate.h"

namespace triage::dialect {

using json = nlohmann::json;

namespace {

// Merges an Anthropic usage report (message_start's, then message_delta's cumulative one) into
// the running totals: Anthropic's own fields present and non-zero win, each on its own. Our
// input_tokens is their sum (input_tokens + cache reads + cache writes), so a message_delta that
// repeats `input_tokens` but not the cache fields keeps the cache counts of message_start.
void Merge(TokenUsage& into, const TokenUsage& u) {
  auto uncached = [](const TokenUsage& t) {
    return t.input_tokens - t.cached_input_tokens - t.cache_creation_input_tokens;
  };
  int64_t input = uncached(into);
  if (uncached(u)) input = uncached(u);
  if (u.output_tokens) into.output_tokens = u.output_tokens;
  if (u.cached_input_tokens) into.cached_input_tokens = u.cached_input_tokens;
  if (u.cache_creation_input_tokens)
    into.cache_creation_input_tokens = u.cache_creation_input_tokens;
  // The 1-hour part of the cache writes (usage.cache_creation): kept like the other cache
  // counts when a later report leaves it out, never more than the writes.
  if (u.cache_creation_1h_input_tokens)
    into.cache_creation_1h_input_tokens = u.cache_creation_1h_input_tokens;
  into.cache_creation_1h_input_tokens =
      std::min(into.cache_creation_1h_input_tokens, into.cache_creation_input_tokens);
  // Cumulative like the token counts: message_delta's count replaces message_start's.
  if (u.web_search_requests) into.web_search_requests = u.web_search_requests;
  into.input_tokens = input + into.cached_input_tokens + into.cache_creation_input_tokens;
}

// At message_stop: message_start's `output_tokens` (1 from the API) is a running count, final
// only when a message_delta reports the count. Without one the output is unknown (0), for the
// gateway to estimate from the text (CompleteUsage) rather than bill 1 token for an answer.
void EndOutputCount(TokenUsage& usage, bool delta_output) {
  if (!delta_output) usage.output_tokens = 0;
}

// An event nested deeper than kMaxAnswerJsonDepth: refused (step.error) before any reader
// builds, copies or dumps a tree of it. Every translator's Feed starts with it.
bool TooDeep(const SseEvent& ev, StreamTranslator::Step& step) {
  std::optional<std::string> deep = AnswerTooDeep(ev.data);
  if (deep) step.error = std::move(*deep);
  return deep.has_value();
}

// A content_block_delta frame, written without a JSON tree: the per-token event of every
// translated stream: a text_delta (`text`) or an input_json_delta (`partial_json`).
void AppendAnthropicDelta(std::string& out, int64_t index, bool text, std::string_view value) {
  out += "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":";
  out += std::to_string(index);
  out += text ? R"(,"delta":{"type":"text_delta","text":)"
              : R"(,"delta":{"type":"input_json_delta","partial_json":)";
  AppendJsonString(out, value);
  out += "}}\n\n";
}

std::string OpenAIErrorFrame(const Error& e) { return SseFrame(OpenAIErrorBody(e)); }
std::string AnthropicErrorFrame(const Error& e) { return SseFrame(AnthropicErrorBody(e), "error"); }

// The message_stop that ends an Anthropic stream, carrying triage's cost object.
std::string AnthropicTail(const json& triage, const std::string& comment) {
  std::string out = comment;
  out += "event: message_stop\ndata: {\"type\":\"message_stop\"";
  if (!triage.is_null()) {
    out += ",\"triage\":";
    out += triage.dump();
  }
  out += "}\n\n";
  return out;
}

// `object` (the text of a JSON object, as read from the upstream) with `"key":value` added as
// its last member, its other bytes unchanged: the held usage chunk gets its `triage` object
// without being parsed into an nlohmann tree and written again, which also kept the upstream's
// member order rather than nlohmann's sorted one. nullopt when that cannot be done safely, for
// the tree to do it: the text is not an object, or it may already have the key (it contains
// `"key"`, or a backslash, which an escaped spelling of the key would need).
std::optional<std::string> WithMember(std::string_view object, std::string_view key,
                                      const json& value) {
  constexpr std::string_view kSpace = " \t\n\r";
  const size_t first = object.find_first_not_of(kSpace);
  const size_t last = object.find_last_not_of(kSpace);
  if (first == std::string_view::npos || object[first] != '{' || object[last] != '}' ||
      last == first || object.find('\\') != std::string_view::npos) {
    return std::nullopt;
  }
  std::string quoted = "\"";
  quoted.append(key);
  quoted += '"';
  if (object.find(quoted) != std::string_view::npos) return std::nullopt;
  const size_t before = object.find_last_not_of(kSpace, last - 1);
  std::string out(object.substr(0, last));
  if (object[before] != '{') out += ',';
  out += quoted;
  out += ':';
  out += value.dump();
  out += '}';
  return out;
}

// ---- OpenAI upstream, OpenAI client: pass through; hold the usage chunk for the end.
class OpenAIPassThrough final : public StreamTranslator {
 public:
  Step Feed(const SseEvent& ev) override {
    Step step;
    if (ended_ || TooDeep(ev, step)) return step;
    if (ev.data == "[DONE]") {
      complete_ = ended_ = true;
      return step;
    }
    if (ev.data.empty()) return step;
    ChunkInfo info = InspectOpenAIChunk(ev.data);
    if (info.is_error) {
      step.error =
          info.error_message.empty() ? "upstream sent a malformed chunk" : info.error_message;
      step.upstream_error = info.error_object;
      return step;
    }
    if (info.usage) {
      usage_ = *info.usage;
      reported_ = true;
      if (!info.has_choices) {  // the pure usage chunk: emitted last, or dropped
        usage_chunk_ = ev.data;
        return step;
      }
    }
    if (info.finish_reason) complete_ = true;
    step.content = info.has_content || info.finish_reason.has_value();
    step.text_chars = info.text_chars;
    if (first_chunk_.empty()) first_chunk_ = ev.data;  // for a usage chunk written here
    step.frames = SseFrame(ev.data);
    return step;
  }
  bool complete() const override { return complete_; }
  bool ended() const override { return ended_; }
  const TokenUsage& usage() const override { return usage_; }
  bool usage_reported() const override { return reported_; }
  std::string Finish(const json& triage, bool include_usage, const std::string& comment,
                     const TokenUsage* billed) override {
    std::string out;
    if (include_usage) {
      const TokenUsage& usage = billed ? *billed : usage_;
      const bool as_reported = usage == usage_;
      if (as_reported) {
        if (std::optional<std::string> spliced = WithMember(usage_chunk_, "triage", triage))
          return SseFrame(*spliced) + comment + SseFrame("[DONE]");
      }
      json u = json::parse(usage_chunk_, nullptr, false);
      if (!u.is_discarded() && u.is_object() && !as_reported) {
        // The upstream's counts were not believable (0, negative, not numbers) and the row
        // bills an estimate: the chunk says the billed counts, its other members kept.
        if (!u["usage"].is_object()) u["usage"] = json::object();
        json& o = u["usage"];
        o["prompt_tokens"] = usage.input_tokens;
        o["completion_tokens"] = usage.output_tokens;
        o["total_tokens"] = usage.input_tokens + usage.output_tokens;
      }
      if (u.is_discarded() || !u.is_object()) {
        // The upstream sent no usage chunk: written here, with the head every chunk of the
        // stream has (id, created, model), taken from its first chunk.
        u = json::object();
        json first = json::parse(first_chunk_, nullptr, false);
        for (const char* k : {"id", "created", "model", "system_fingerprint"})
          if (first.is_object() && first.contains(k)) u[k] = first[k];
        u["object"] = "chat.completion.chunk";
        u["choices"] = json::array();
        u["usage"] = OpenAIUsageJson(usage);
      }
      u["triage"] = triage;
      out += SseFrame(u.dump());
    }
    return out + comment + SseFrame("[DONE]");
  }
  std::string ErrorFrame(const Error& e) const override { return OpenAIErrorFrame(e); }

 private:
  TokenUsage usage_;
  bool reported_ = false;
  bool complete_ = false, ended_ = false;
  std::string usage_chunk_;
  std::string first_chunk_;  // the first chunk passed on, whose head a written usage chunk takes
};

// ---- Anthropic upstream, Anthropic client: pass through; hold message_stop for the end.
class AnthropicPassThrough final : public StreamTranslator {
 public:
  Step Feed(const SseEvent& ev) override {
    Step step;
    if (complete_ || TooDeep(ev, step)) return step;
    AnthropicEventInfo info = InspectAnthropicEvent(ev.data);
    if (!info.is_object) {
      step.error = "upstream sent a malformed event";
      return step;
    }
    const std::string& type = ev.event.empty() ? info.type : ev.event;
    if (type == "error") {
      step.error = info.error_message.empty() ? "upstream error event" : info.error_message;
      step.upstream_error = true;
      step.error_type = info.error_type;
      return step;
    }
    if (type == "message_start" && info.has_message) {
      Merge(usage_, info.message_usage);
      reported_ = true;
    } else if (type == "message_delta") {
      Merge(usage_, info.usage);
      reported_ = true;
      delta_output_ = delta_output_ || info.usage.output_tokens != 0;
      // Held for Finish: its usage is restated there when the row bills other counts.
      held_delta_ = ev.data;
      return step;
    } else if (type == "content_block_delta") {
      step.content = true;
      step.text_chars = info.text_chars;
    } else if (type == "content_block_start") {
      step.content = info.content_block_type == "tool_use";
    } else if (type == "message_stop") {
      complete_ = true;
      EndOutputCount(usage_, delta_output_);
      return step;  // sent by Finish, after accounting
    }
    step.frames = SseFrame(ev.data, type);
    return step;
  }
  bool complete() const override { return complete_; }
  bool ended() const override { return complete_; }  // message_stop
  const TokenUsage& usage() const override { return usage_; }
  bool usage_reported() const override { return reported_; }
  // The upstream's message_delta, as it came when the row bills the counts it reported; else
  // with the billed counts in its usage (the estimate where it left them out), its other
  // members kept.
  std::string Finish(const json& triage, bool, const std::string& comment,
                     const TokenUsage* billed) override {
    std::string out;
    if (!held_delta_.empty()) {
      json d;
      if (billed && *billed != usage_) d = json::parse(held_delta_, nullptr, false);
      if (d.is_object()) {
        if (!d["usage"].is_object()) d["usage"] = json::object();
        const json usage = AnthropicUsageJson(*billed);
        for (const auto& [k, v] : usage.items()) d["usage"][k] = v;
        out = SseFrame(d.dump(), "message_delta");
      } else {
        out = SseFrame(held_delta_, "message_delta");
      }
    }
    return out + AnthropicTail(triage, comment);
  }
  std::string ErrorFrame(const Error& e) const override { return AnthropicErrorFrame(e); }

 private:
  TokenUsage usage_;
  bool reported_ = false;
  bool complete_ = false;
  bool delta_output_ = false;  // a message_delta reported output_tokens
  std::string held_delta_;     // the last message_delta's data
};

// "toolu_triage_" and 20 random characters of [A-Za-z0-9]: the id of a streamed tool call the
// upstream sent none for. Unique across answers, since a conversation sent back to Anthropic
// must not repeat a tool_use id.
std::string SyntheticToolId() {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id = "toolu_triage_";
  for (int i = 0; i < 20; ++i) id += kChars[rng() % (sizeof(kChars) - 1)];
  return id;
}

// ---- OpenAI upstream, Anthropic client: chunks become the Anthropic event sequence.
class OpenAIToAnthropic final : public StreamTranslator {
 public:
  explicit OpenAIToAnthropic(std::string model) : model_(std::move(model)) {}

  Step Feed(const SseEvent& ev) override {
    Step step;
    if (done_ || TooDeep(ev, step)) return step;
    if (ev.data == "[DONE]") {
      done_ = true;
      return step;
    }
    if (ev.data.empty()) return step;
    const OpenAIChunkView c = ReadOpenAIChunk(ev.data);
    if (!c.is_object) {
      step.error = "upstream sent a malformed chunk";
      return step;
    }
    if (c.error) {
      step.error = *c.error;
      step.upstream_error = true;
      return step;
    }
    Start(c.id, c.model, step.frames);
    if (c.usage) {
      usage_ = *c.usage;
      reported_ = true;
    }
    if (!c.has_choice) return step;
    for (const std::string* text : {&c.content, &c.refusal}) {
      if (text->empty()) continue;
      if (open_type_ != "text") OpenBlock("text", R"({"type":"text","text":""})", step.frames);
      AppendAnthropicDelta(step.frames, index_, true, *text);
      step.text_chars += Utf8Chars(*text);
      step.content = true;
      refused_ = refused_ || text == &c.refusal;
    }
    for (size_t p = 0; p < c.tool_calls.size(); ++p) {
      const ToolCallDelta& tc = c.tool_calls[p];
      // Without an `index` (Gemini's and GLM's streams), a call is known by its place in the
      // delta: several calls sent together are several calls, not one.
      const int64_t k = tc.has_index ? tc.index : static_cast<int64_t>(p);
      auto known = tools_.find(k);
      // A delta naming another id than its index's call is a new call: Ollama numbers every
      // call of a parallel answer 0 (and some servers send no index), each call whole in one
      // delta with its own id. Appending it to the first would join two argument objects into
      // one invalid input.
      if (known == tools_.end() ||
          (!tc.id.empty() && !known->second.id.empty() && tc.id != known->second.id)) {
        if (known != tools_.end() && known->second.block < 0)
          OpenToolBlock(known->second, "", step.frames);  // never named: sent as it is
        known = tools_.insert_or_assign(k, ToolBlock{-1, tc.id, std::string()}).first;
      }
      ToolBlock& call = known->second;
      if (call.id.empty()) call.id = tc.id;  // an id sent after the call's first delta
      if (call.block < 0) {
        // The block opens once the call has a name (SGLang names it in a later delta than the
        // first); fragments that come before wait for it.
        call.pending += tc.arguments;
        if (!tc.name.empty()) OpenToolBlock(call, tc.name, step.frames);
      } else if (!tc.arguments.empty()) {
        AppendAnthropicDelta(step.frames, call.block, false, tc.arguments);
      }
      step.text_chars += Utf8Chars(tc.arguments);
      step.content = true;
    }
    step.text_chars += c.reasoning_chars;  // not sent (no signed thinking to give), but billed
    if (!c.finish_reason.empty()) {
      stop_ = StopFromOpenAI(c.finish_reason);
      stop_sequence_ = c.stop_sequence;  // vLLM and SGLang name the stop string that matched
      if (!stop_sequence_.empty()) stop_ = StopReason::kStopSequence;
      // OpenAI ends a refusal with "stop"; the unary translation calls it a refusal too.
      if (refused_ && (stop_ == StopReason::kEndTurn || stop_ == StopReason::kStopSequence)) {
        stop_ = StopReason::kRefusal;
        stop_sequence_.clear();
      }
      finished_ = true;
      step.content = true;
    }
    return step;
  }
  bool complete() const override { return done_ || finished_; }
  bool ended() const override { return done_; }
  const TokenUsage& usage() const override { return usage_; }
  bool usage_reported() const override { return reported_; }
  std::string Finish(const json& triage, bool, const std::string& comment,
                     const TokenUsage* billed) override {
    std::string out;
    Start("", "", out);
    // A call that never got a name still goes out, so its arguments are not lost.
    for (auto& [k, call] : tools_)
      if (call.block < 0) OpenToolBlock(call, "", out);
    CloseBlock(out);
    // OpenAI ends a forced call with "stop" (vLLM a named one): the Messages API says tool_use,
    // as the non-streaming translation does (ToolCallsStopWithToolUse).
    if (!tools_.empty() && (stop_ == StopReason::kEndTurn || stop_ == StopReason::kStopSequence)) {
      stop_ = StopReason::kToolUse;
      stop_sequence_.clear();
    }
    if (tools_.empty() && stop_ == StopReason::kToolUse) stop_ = StopReason::kEndTurn;
    out +=
        "event: message_delta\n"
        R"(data: {"type":"message_delta","delta":{"stop_reason":)";
    AppendJsonString(out, AnthropicStopReason(stop_));
    out += R"(,"stop_sequence":)";
    if (stop_sequence_.empty())
      out += "null";
    else
      AppendJsonString(out, stop_sequence_);
    out += R"(},"usage":)";
    out += AnthropicUsageJson(billed ? *billed : usage_).dump();
    out += "}\n\n";
    return out + AnthropicTail(triage, comment);
  }
  std::string ErrorFrame(const Error& e) const override { return AnthropicErrorFrame(e); }

 private:
  // message_start and a ping before the first event; id and model from the first chunk.
  void Start(const std::string& id, const std::string& model, std::string& out) {
    if (started_) return;
    started_ = true;
    // Written without a JSON tree, in the Messages API's member order, like the deltas.
    out +=
        "event: message_start\n"
        R"(data: {"type":"message_start","message":{"id":)";
    AppendJsonString(out, "msg_" + (id.empty() ? std::string("triage") : id));
    out += R"(,"type":"message","role":"assistant","model":)";
    AppendJsonString(out, model.empty() ? model_ : model);
    out += R"(,"content":[],"stop_reason":null,"stop_sequence":null,)"
           R"("usage":{"input_tokens":0,"output_tokens":0}}})"
           "\n\n";
    out += "event: ping\ndata: {\"type\":\"ping\"}\n\n";  // as the Messages API sends one
  }
  // `block`: the content block's JSON text.
  void OpenBlock(const char* type, std::string_view block, std::string& out) {
    CloseBlock(out);
    index_ = next_index_++;
    open_type_ = type;
    out += "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":";
    out += std::to_string(index_);
    out += ",\"content_block\":";
    out += block;
    out += "}\n\n";
  }
  struct ToolBlock {
    int64_t block;        // Anthropic content block index; -1 until the call has a name
    std::string id;       // the call's id as the upstream sent it ("" while it sent none)
    std::string pending;  // argument fragments received before the block opened
  };
  // Opens the tool_use block of `call` and sends the arguments it held back. The id is the
  // upstream's, prefixed toolu_ and limited to [A-Za-z0-9_-] as the Messages API requires of
  // ids a client sends back; a call the upstream gave no id gets a random one.
  void OpenToolBlock(ToolBlock& call, const std::string& name, std::string& out) {
    std::string id = call.id.empty() ? SyntheticToolId() : call.id;
    if (!id.starts_with("toolu_")) id.insert(0, "toolu_");
    for (char& ch : id)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-') ch = '_';
    std::string block = R"({"type":"tool_use","id":)";
    AppendJsonString(block, id);
    block += R"(,"name":)";
    AppendJsonString(block, name);
    block += R"(,"input":{}})";
    OpenBlock("tool_use", block, out);
    call.block = index_;
    if (!call.pending.empty()) AppendAnthropicDelta(out, call.block, false, call.pending);
    call.pending.clear();
    call.pending.shrink_to_fit();
  }
  void CloseBlock(std::string& out) {
    if (open_type_.empty()) return;
    out += "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":";
    out += std::to_string(index_);
    out += "}\n\n";
    open_type_.clear();
  }

  std::string model_;
  bool started_ = false, done_ = false, finished_ = false, reported_ = false;
  bool refused_ = false;  // a delta.refusal arrived
  int64_t index_ = -1, next_index_ = 0;
  std::string open_type_;
  std::map<int64_t, ToolBlock> tools_;  // OpenAI tool_calls index -> its current call
  StopReason stop_ = StopReason::kEndTurn;
  std::string stop_sequence_;  // the matched stop string, when the upstream named it
  TokenUsage usage_;
};

// ---- Anthropic upstream, OpenAI client: events become chat.completion.chunk objects.
class AnthropicToOpenAI final : public StreamTranslator {
 public:
  explicit AnthropicToOpenAI(std::string model) : model_(std::move(model)) {
    created_ = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  }

  Step Feed(const SseEvent& ev) override {
    Step step;
    if (complete_ || TooDeep(ev, step)) return step;
    const AnthropicEventView e = ReadAnthropicEvent(ev.data);
    if (!e.is_object) {
      step.error = "upstream sent a malformed event";
      return step;
    }
    const std::string& type = ev.event.empty() ? e.type : ev.event;
    if (type == "error") {
      step.error = e.error_message.empty() ? "upstream error event" : e.error_message;
      step.upstream_error = true;
      step.error_type = e.error_type;
    } else if (type == "message_start") {
      if (!e.message_id.empty()) id_ = e.message_id;
      if (!e.message_model.empty()) model_ = e.message_model;
      prefix_.clear();
      Merge(usage_, e.message_usage);
      reported_ = true;
      step.frames = Chunk(json{{"role", "assistant"}, {"content", ""}}, nullptr);
    } else if (type == "content_block_start") {
      if (e.block_type == "tool_use") {
        const int64_t tool = next_tool_++;
        tools_[e.index] = tool;
        no_arguments_.insert(e.index);
        json call = json{{"index", tool},
                         {"id", e.block_id},
                         {"type", "function"},
                         {"function", json{{"name", e.block_name}, {"arguments", ""}}}};
        step.frames = Chunk(json{{"tool_calls", json::array({std::move(call)})}}, nullptr);
        step.content = true;
      }
    } else if (type == "content_block_delta") {
      if (e.delta_type == "text_delta") {
        std::string delta = R"({"content":)";
        AppendJsonString(delta, e.delta_text);
        step.frames = DeltaFrame(delta += '}');
        step.content = true;
        step.text_chars = Utf8Chars(e.delta_text);
      } else if (e.delta_type == "input_json_delta") {
        step.text_chars = Utf8Chars(e.delta_partial_json);
        // Only a tool_use block is a tool call: a server tool's block (server_tool_use,
        // mcp_tool_use) streams its input too, but is not shown to OpenAI clients, like the
        // non-streaming translation; its input must not land in another call's arguments.
        if (!tools_.count(e.index)) return step;
        if (!e.delta_partial_json.empty()) no_arguments_.erase(e.index);
        std::string delta = R"({"tool_calls":[{"index":)";
        delta += std::to_string(tools_[e.index]);
        delta += R"(,"function":{"arguments":)";
        AppendJsonString(delta, e.delta_partial_json);
        step.frames = DeltaFrame(delta += "}}]}");
        step.content = true;
      } else if (e.delta_type == "thinking_delta") {
        step.text_chars = e.delta_thinking_chars;  // not sent (no OpenAI equivalent), but billed
      }  // signature deltas have no OpenAI equivalent either
    } else if (type == "content_block_stop") {
      // A tool without input streams no JSON (or only ""): OpenAI sends "{}" for such a call,
      // and clients JSON.parse the joined arguments ("" is not JSON).
      if (no_arguments_.erase(e.index)) {
        step.frames = DeltaFrame(R"({"tool_calls":[{"index":)" + std::to_string(tools_[e.index]) +
                                 R"(,"function":{"arguments":"{}"}}]})");
        step.content = true;
      }
    } else if (type == "message_delta") {
      if (!e.delta_stop_reason.empty()) stop_ = StopFromAnthropic(e.delta_stop_reason);
      Merge(usage_, e.usage);
      reported_ = true;
      delta_output_ = delta_output_ || e.usage.output_tokens != 0;
    } else if (type == "message_stop") {
      complete_ = true;
      EndOutputCount(usage_, delta_output_);
    }
    return step;
  }
  bool complete() const override { return complete_; }
  bool ended() const override { return complete_; }  // message_stop
  const TokenUsage& usage() const override { return usage_; }
  bool usage_reported() const override { return reported_; }
  std::string Finish(const json& triage, bool include_usage, const std::string& comment,
                     const TokenUsage* billed) override {
    std::string out = Chunk(json::object(), json(OpenAIFinishReason(stop_)));
    if (include_usage) {
      out += Head();
      out += R"(,"choices":[],"usage":)";
      out += OpenAIUsageJson(billed ? *billed : usage_).dump();
      out += R"(,"triage":)";
      out += triage.dump();
      out += "}\n\n";
    }
    return out + comment + SseFrame("[DONE]");
  }
  std::string ErrorFrame(const Error& e) const override { return OpenAIErrorFrame(e); }

 private:
  // `data: {"id":...,"object":...,"created":...,"model":...`, the start of every chunk, in
  // OpenAI's member order: built once per id and model.
  const std::string& Head() {
    if (prefix_.empty()) {
      prefix_ = R"(data: {"id":)";
      AppendJsonString(prefix_, "chatcmpl-" + id_);
      prefix_ += R"(,"object":"chat.completion.chunk","created":)";
      prefix_ += std::to_string(created_);
      prefix_ += R"(,"model":)";
      AppendJsonString(prefix_, model_);
    }
    return prefix_;
  }
  // A chunk of `delta` and `finish` (the finish reason, or null): only the delta is a tree,
  // the rest is written as DeltaFrame writes it.
  std::string Chunk(const json& delta, const json& finish) {
    return DeltaFrame(delta.dump(), finish.dump());
  }
  // The chunk of a delta already written as JSON, without a tree: the per-token chunk (its
  // finish reason null). The part before the delta is built once per id and model, in OpenAI's
  // member order.
  std::string DeltaFrame(std::string_view delta, std::string_view finish = "null") {
    const std::string& head = Head();
    std::string out;
    out.reserve(head.size() + delta.size() + 80);
    out += head;
    out += R"(,"choices":[{"index":0,"delta":)";
    out += delta;
    out += ",\"logprobs\":null,\"finish_reason\":";
    out += finish;
    out += "}]}\n\n";
    return out;
  }

  std::string model_;
  std::string prefix_;  // Head(); cleared when id or model change
  std::string id_ = "triage";
  int64_t created_ = 0;
  int64_t next_tool_ = 0;
  std::map<int64_t, int64_t> tools_;  // Anthropic block index -> OpenAI tool_calls index
  std::set<int64_t> no_arguments_;    // tool blocks that have streamed no input JSON yet
  StopReason stop_ = StopReason::kEndTurn;
  bool delta_output_ = false;  // a message_delta reported output_tokens
  TokenUsage usage_;
  bool reported_ = false, complete_ = false;
};

}  // namespace

std::unique_ptr<StreamTranslator> MakeStreamTranslator(Dialect upstream, Dialect client,
                                                       const std::string& model) {
  if (upstream == Dialect::kOpenAI && client == Dialect::kOpenAI)
    return std::make_unique<OpenAIPassThrough>();
  if (upstream == Dialect::kAnthropic && client == Dialect::kAnthropic)
    return std::make_unique<AnthropicPassThrough>();
  if (upstream == Dialect::kOpenAI) return std::make_unique<OpenAIToAnthropic>(model);
  return std::make_unique<AnthropicToOpenAI>(model);
}

}  // namespace triage::dialect
