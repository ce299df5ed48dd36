// Table-driven translation tests over tests/fixtures/dialect/{requests,responses,streams}.json:
// every construct in both directions. Expectations are paths into the translated JSON, matched
// as subsets (ids and other generated values may differ); a "(json)" suffix parses a JSON
// string (tool arguments) before comparing, so meaning is compared, not bytes.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "dialect/anthropic.h"
#include "dialect/json_util.h"
#include "dialect/openai.h"
#include "dialect/sse.h"
#include "dialect/stream_translate.h"
#include "dialect/translate.h"

namespace triage::dialect {
namespace {

using json = nlohmann::json;

json Load(const std::string& name) {
  std::ifstream in(std::string(TRIAGE_SOURCE_DIR) + "/tests/fixtures/dialect/" + name);
  std::stringstream s;
  s << in.rdbuf();
  json j = json::parse(s.str(), nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << name;
  return j;
}

Dialect D(const std::string& s) { return s == "openai" ? Dialect::kOpenAI : Dialect::kAnthropic; }

// Resolves "a.b[2].c" in `j`; nullptr when absent.
const json* At(const json& j, const std::string& path) {
  const json* cur = &j;
  size_t i = 0;
  while (i < path.size() && cur) {
    if (path[i] == '.') ++i;
    if (path[i] == '[') {
      size_t close = path.find(']', i);
      size_t idx = std::stoul(path.substr(i + 1, close - i - 1));
      cur = cur->is_array() && idx < cur->size() ? &(*cur)[idx] : nullptr;
      i = close + 1;
      continue;
    }
    size_t end = path.find_first_of(".[", i);
    std::string key = path.substr(i, end == std::string::npos ? std::string::npos : end - i);
    cur = cur->is_object() && cur->contains(key) ? &(*cur)[key] : nullptr;
    i = end == std::string::npos ? path.size() : end;
  }
  return cur;
}

// `want` is contained in `got`: objects by key (recursively), arrays element-wise, same size.
bool Subset(const json& want, const json& got) {
  if (want.is_object()) {
    if (!got.is_object()) return false;
    for (auto& [k, v] : want.items())
      if (!got.contains(k) || !Subset(v, got[k])) return false;
    return true;
  }
  if (want.is_array()) {
    if (!got.is_array() || got.size() != want.size()) return false;
    for (size_t i = 0; i < want.size(); ++i)
      if (!Subset(want[i], got[i])) return false;
    return true;
  }
  if (want.is_number() && got.is_number()) return want.get<double>() == got.get<double>();
  return want == got;
}

void ExpectMatches(const json& expect, const json& got, const std::string& name) {
  for (auto& [path, want] : expect.items()) {
    std::string p = path;
    bool parse = false;
    if (p.ends_with("(json)")) {
      p = p.substr(0, p.size() - 6);
      parse = true;
    }
    const json* v = At(got, p);
    ASSERT_NE(v, nullptr) << name << ": missing " << p << " in " << got.dump();
    json value = parse && v->is_string() ? json::parse(v->get<std::string>(), nullptr, false) : *v;
    EXPECT_TRUE(Subset(want, value))
        << name << ": " << p << "\n want " << want.dump() << "\n got  " << value.dump();
  }
}

Result<ChatRequest> Parse(Dialect d, const json& body) {
  return d == Dialect::kOpenAI ? ParseOpenAIChat(body.dump(), 64)
                               : ParseAnthropicMessages(body.dump(), 64);
}

TEST(FixtureTranslation, Requests) {
  json cases = Load("requests.json");
  ASSERT_GE(cases.size(), 5u);
  for (const auto& c : cases) {
    auto req = Parse(D(c["from"]), c["input"]);
    ASSERT_TRUE(req.ok()) << c["name"] << ": " << req.error().message;
    json out = D(c["to"]) == Dialect::kOpenAI ? ToOpenAIRequest(*req, "up")
                                              : ToAnthropicRequest(*req, "up");
    ExpectMatches(c["expect"], out, c["name"]);
  }
}

TEST(FixtureTranslation, Responses) {
  json cases = Load("responses.json");
  ASSERT_GE(cases.size(), 5u);
  for (const auto& c : cases) {
    auto canon = D(c["from"]) == Dialect::kOpenAI ? ParseOpenAIResponse(c["input"])
                                                  : ParseAnthropicResponse(c["input"]);
    ASSERT_TRUE(canon.ok()) << c["name"] << ": " << canon.error().message;
    json out = D(c["to"]) == Dialect::kOpenAI ? RenderOpenAIResponse(*canon, 1)
                                              : RenderAnthropicResponse(*canon);
    ExpectMatches(c["expect"], out, c["name"]);
  }
}

// What a client reassembles from a translated stream.
struct Reassembled {
  std::string text, stop_reason, first, last;
  json tools = json::array();
  int64_t output_tokens = -1, cached_tokens = -1;
};

Reassembled Reassemble(Dialect client, const std::string& frames) {
  Reassembled r;
  SseParser p(1 << 20);
  std::vector<SseEvent> events;
  EXPECT_TRUE(p.Feed(frames, events));
  EXPECT_FALSE(p.HasPartial()) << "the translated stream ends on an event boundary";
  std::vector<std::string> args;
  for (const auto& ev : events) {
    if (ev.data == "[DONE]") {
      r.last = "[DONE]";
      continue;
    }
    json j = json::parse(ev.data, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << ev.data;
    if (client == Dialect::kOpenAI) {
      r.last = "chunk";
      if (j.contains("usage") && j["usage"].is_object()) {
        r.output_tokens = j["usage"].value("completion_tokens", -1);
        if (j["usage"].contains("prompt_tokens_details"))
          r.cached_tokens = j["usage"]["prompt_tokens_details"].value("cached_tokens", -1);
      }
      for (const auto& ch : j.value("choices", json::array())) {
        const json d = ch.value("delta", json::object());
        if (d.contains("content") && d["content"].is_string())
          r.text += d["content"].get<std::string>();
        for (const auto& tc : d.value("tool_calls", json::array())) {
          size_t k = tc.value("index", 0);
          while (r.tools.size() <= k) {
            r.tools.push_back(json{{"name", ""}});
            args.emplace_back();
          }
          if (tc.contains("function") && tc["function"].contains("name"))
            r.tools[k]["name"] = tc["function"]["name"];
          if (tc.contains("function") && tc["function"].contains("arguments"))
            args[k] += tc["function"]["arguments"].get<std::string>();
        }
        if (ch.contains("finish_reason") && ch["finish_reason"].is_string())
          r.stop_reason = ch["finish_reason"];
      }
    } else {
      const std::string type = j.value("type", "");
      EXPECT_EQ(type, ev.event) << "Anthropic events name their type twice";
      if (r.first.empty()) r.first = type;
      r.last = type;
      if (type == "content_block_start" && j["content_block"].value("type", "") == "tool_use") {
        r.tools.push_back(json{{"name", j["content_block"]["name"]}});
        args.emplace_back();
      }
      if (type == "content_block_delta") {
        const json& d = j["delta"];
        if (d.value("type", "") == "text_delta") r.text += d.value("text", "");
        if (d.value("type", "") == "input_json_delta") args.back() += d.value("partial_json", "");
      }
      if (type == "message_delta") {
        r.stop_reason = j["delta"].value("stop_reason", "");
        r.output_tokens = j["usage"].value("output_tokens", -1);
      }
    }
  }
  for (size_t k = 0; k < args.size(); ++k)
    r.tools[k]["input"] = args[k].empty() ? json::object() : json::parse(args[k], nullptr, false);
  return r;
}

TEST(FixtureTranslation, Streams) {
  json cases = Load("streams.json");
  ASSERT_GE(cases.size(), 4u);
  for (const auto& c : cases) {
    const std::string name = c["name"];
    const Dialect client = D(c["to"]);
    auto t = MakeStreamTranslator(D(c["from"]), client, "m");
    std::string frames;
    bool content = false;
    for (const auto& e : c["events"]) {
      SseEvent ev{e.value("event", ""), e["data"].get<std::string>()};
      auto step = t->Feed(ev);
      ASSERT_FALSE(step.error) << name << ": " << *step.error;
      content |= step.content;
      frames += step.frames;
    }
    EXPECT_TRUE(content) << name;
    EXPECT_TRUE(t->complete()) << name;
    frames += t->Finish(json{{"cost_usd", "0.000001"}}, c["include_usage"].get<bool>(), ": c\n\n");
    Reassembled r = Reassemble(client, frames);
    const json& e = c["expect"];
    EXPECT_EQ(r.text, e["text"]) << name;
    EXPECT_EQ(r.tools, e["tools"]) << name;
    EXPECT_EQ(r.stop_reason, e["stop_reason"]) << name;
    EXPECT_EQ(r.output_tokens, e["output_tokens"].get<int64_t>()) << name;
    if (e.contains("cached_tokens")) {
      EXPECT_EQ(r.cached_tokens, e["cached_tokens"].get<int64_t>()) << name;
    }
    if (e.contains("first")) {
      EXPECT_EQ(r.first, e["first"]) << name;
    }
    EXPECT_EQ(r.last, e["last"]) << name;
    EXPECT_EQ(t->usage().output_tokens, e["output_tokens"].get<int64_t>()) << name;
  }
}

// Same-dialect streams count the generated text's characters too (code points, not bytes).
TEST(FixtureTranslation, PassThroughCountsTextCharacters) {
  auto o = MakeStreamTranslator(Dialect::kOpenAI, Dialect::kOpenAI, "m");
  EXPECT_EQ(o->Feed({"", R"({"choices":[{"index":0,"delta":{"content":"Grüße"}}]})"}).text_chars,
            5);
  EXPECT_EQ(
      o->Feed({"", R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})"}).text_chars,
      0);
  auto a = MakeStreamTranslator(Dialect::kAnthropic, Dialect::kAnthropic, "m");
  EXPECT_EQ(
      a->Feed(
           {"content_block_delta",
            R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Grüße"}})"})
          .text_chars,
      5);
  EXPECT_EQ(
      a->Feed(
           {"message_delta",
            R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}})"})
          .text_chars,
      0);
}

TEST(FixtureTranslation, ErrorEventsInEachDialect) {
  Error e = Error::Make(ErrorKind::kUpstream, "upstream_error", "deployment x: boom");
  auto o = MakeStreamTranslator(Dialect::kOpenAI, Dialect::kOpenAI, "m")->ErrorFrame(e);
  EXPECT_EQ(o.rfind("data: {\"error\":", 0), 0u) << o;
  auto a = MakeStreamTranslator(Dialect::kOpenAI, Dialect::kAnthropic, "m")->ErrorFrame(e);
  EXPECT_EQ(a.rfind("event: error\ndata: ", 0), 0u) << a;
  json j = json::parse(a.substr(a.find("data: ") + 6), nullptr, false);
  EXPECT_EQ(j["type"], "error");
  EXPECT_EQ(j["error"]["message"], "deployment x: boom");
}

TEST(FixtureTranslation, TruncatedStreamIsNotComplete) {
  auto t = MakeStreamTranslator(Dialect::kAnthropic, Dialect::kOpenAI, "m");
  t->Feed({"message_start",
           R"({"type":"message_start","message":{"id":"m","usage":{"input_tokens":1}}})"});
  auto s = t->Feed(
      {"content_block_delta",
       R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}})"});
  EXPECT_TRUE(s.content);
  EXPECT_FALSE(t->complete());
  auto bad = t->Feed({"", "{not json"});
  EXPECT_TRUE(bad.error.has_value());
}

// The per-token frames are written without a JSON tree: random text (quotes, backslashes,
// control characters, multi-byte UTF-8) and tool arguments cut into random fragments must come
// out of both cross-dialect translators, reassembled, exactly as they went in.
TEST(FixtureTranslation, RandomTextSurvivesBothTranslators) {
  std::mt19937_64 rng(11);
  const std::vector<std::string> pieces = {
      "a",      " ",       "\"",   "\\", "\n",       "\r\n",         "\t",
      "\x01",   "\x1f",    "\x7f", "/",  "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
      "\u2028", "data: x", "}]}"};
  auto random_text = [&](size_t n) {
    std::string t;
    for (size_t k = 0; k < n; ++k) t += pieces[rng() % pieces.size()];
    return t;
  };
  auto fragments = [&](const std::string& t) {  // cut at code point boundaries
    std::vector<std::string> out;
    size_t i = 0;
    while (i < t.size()) {
      size_t j = std::min(t.size(), i + 1 + rng() % 6);
      while (j < t.size() && (static_cast<unsigned char>(t[j]) & 0xC0) == 0x80) ++j;
      out.push_back(t.substr(i, j - i));
      i = j;
    }
    return out;
  };
  for (int round = 0; round < 200; ++round) {
    const std::string text = random_text(1 + rng() % 30);
    const json input = json{{"q", random_text(1 + rng() % 10)}};
    const std::string args = input.dump();
    for (const Dialect from : {Dialect::kOpenAI, Dialect::kAnthropic}) {
      const Dialect to = from == Dialect::kOpenAI ? Dialect::kAnthropic : Dialect::kOpenAI;
      auto t = MakeStreamTranslator(from, to, "m");
      std::string frames;
      int64_t chars = 0;  // what a stream without usage is estimated from
      auto feed = [&](const std::string& event, const json& data) {
        auto step = t->Feed(SseEvent{event, data.dump()});
        ASSERT_FALSE(step.error) << *step.error;
        frames += step.frames;
        chars += step.text_chars;
      };
      if (from == Dialect::kOpenAI) {
        auto chunk = [](json delta, json finish) {
          return json{{"id", "c"},
                      {"object", "chat.completion.chunk"},
                      {"model", "m"},
                      {"choices", json::array({json{{"index", 0},
                                                    {"delta", std::move(delta)},
                                                    {"finish_reason", std::move(finish)}}})}};
        };
        feed("", chunk(json{{"role", "assistant"}, {"content", ""}}, nullptr));
        for (const auto& f : fragments(text)) feed("", chunk(json{{"content", f}}, nullptr));
        feed(
            "",
            chunk(json{{"tool_calls",
                        json::array({json{{"index", 0},
                                          {"id", "call_1"},
                                          {"type", "function"},
                                          {"function", json{{"name", "f"}, {"arguments", ""}}}}})}},
                  nullptr));
        for (const auto& f : fragments(args))
          feed(
              "",
              chunk(json{{"tool_calls",
                          json::array({json{{"index", 0}, {"function", json{{"arguments", f}}}}})}},
                    nullptr));
        feed("", chunk(json::object(), "tool_calls"));
      } else {
        feed("message_start",
             json{{"type", "message_start"},
                  {"message",
                   json{{"id", "msg_1"}, {"model", "m"}, {"usage", json{{"input_tokens", 3}}}}}});
        feed("content_block_start", json{{"type", "content_block_start"},
                                         {"index", 0},
                                         {"content_block", json{{"type", "text"}, {"text", ""}}}});
        for (const auto& f : fragments(text))
          feed("content_block_delta", json{{"type", "content_block_delta"},
                                           {"index", 0},
                                           {"delta", json{{"type", "text_delta"}, {"text", f}}}});
        feed("content_block_start", json{{"type", "content_block_start"},
                                         {"index", 1},
                                         {"content_block", json{{"type", "tool_use"},
                                                                {"id", "toolu_1"},
                                                                {"name", "f"},
                                                                {"input", json::object()}}}});
        for (const auto& f : fragments(args))
          feed("content_block_delta",
               json{{"type", "content_block_delta"},
                    {"index", 1},
                    {"delta", json{{"type", "input_json_delta"}, {"partial_json", f}}}});
        feed("message_delta", json{{"type", "message_delta"},
                                   {"delta", json{{"stop_reason", "tool_use"}}},
                                   {"usage", json{{"output_tokens", 9}}}});
        feed("message_stop", json{{"type", "message_stop"}});
      }
      if (HasFatalFailure()) return;
      frames += t->Finish(json::object(), true, "");
      Reassembled r = Reassemble(to, frames);
      EXPECT_EQ(r.text, text) << json(text).dump();
      ASSERT_EQ(r.tools.size(), 1u);
      EXPECT_EQ(r.tools[0]["name"], "f");
      EXPECT_EQ(r.tools[0]["input"], input) << args;
      EXPECT_EQ(chars, Utf8Chars(text) + Utf8Chars(args));
    }
  }
}

}  // namespace
}  // namespace triage::dialect
