// OpenAIRequestBody / AnthropicRequestBody against the tree path the providers used before
// (ToOpenAIRequest / ToAnthropicRequest, which deep-copy a same-dialect body, then dump()):
// byte for byte, with the same dropped list, on the request fixtures, on hand cases (invalid
// UTF-8, keys around `model` and `stream_options`, bodies the parsers would refuse) and on
// thousands of generated requests that went through the real parsers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "dialect/anthropic.h"
#include "dialect/openai.h"
#include "dialect/translate.h"
#include "differential.h"

namespace triage::dialect {
namespace {

using nlohmann::json;

// The providers' code before the direct writer, kept as the reference.
std::string OldOpenAIBody(const ChatRequest& req, std::string_view model,
                          std::vector<std::string>* dropped = nullptr) {
  json body = ToOpenAIRequest(req, model, dropped);
  if (req.stream) body["stream_options"]["include_usage"] = true;
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}
std::string OldAnthropicBody(const ChatRequest& req, std::string_view model,
                             std::vector<std::string>* dropped = nullptr) {
  return ToAnthropicRequest(req, model, dropped)
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

// Both targets, both paths: the same bytes and the same dropped names.
void ExpectSameBodies(const ChatRequest& req, std::string_view model = "upstream-model") {
  std::vector<std::string> old_dropped, new_dropped;
  EXPECT_EQ(OpenAIRequestBody(req, model, &new_dropped), OldOpenAIBody(req, model, &old_dropped));
  EXPECT_EQ(new_dropped, old_dropped);
  old_dropped.clear();
  new_dropped.clear();
  EXPECT_EQ(AnthropicRequestBody(req, model, &new_dropped),
            OldAnthropicBody(req, model, &old_dropped));
  EXPECT_EQ(new_dropped, old_dropped);
}

Result<ChatRequest> Parse(Dialect d, const std::string& body) {
  return d == Dialect::kOpenAI ? ParseOpenAIChat(body, 64) : ParseAnthropicMessages(body, 64);
}

ChatRequest Parsed(Dialect d, const std::string& body) {
  auto r = Parse(d, body);
  EXPECT_TRUE(r.ok()) << body << "\n" << r.error().message;
  return r.ok() ? std::move(*r) : ChatRequest{};
}

TEST(RequestBody, FixturesAsStreamsAndNot) {
  int n = 0;
  for (const auto& path : test_util::FixtureFiles("requests")) {
    SCOPED_TRACE(path.filename().string());
    std::ifstream in(path);
    const json c = json::parse(in);
    const Dialect from = c.at("from") == "openai" ? Dialect::kOpenAI : Dialect::kAnthropic;
    for (int stream = 0; stream < 3; ++stream) {
      json input = c.at("input");
      if (stream < 2) input["stream"] = stream == 1;  // 2: as the fixture has it
      auto req = Parse(from, input.dump());
      ASSERT_TRUE(req.ok()) << req.error().message;
      ExpectSameBodies(*req);
      ++n;
    }
  }
  EXPECT_GE(n, 30);
}

TEST(RequestBody, PassThroughReplacesOnlyModel) {
  const ChatRequest req =
      Parsed(Dialect::kOpenAI,
             R"({"model":"auto","messages":[{"role":"user","content":"hi"}],"temperature":0.2})");
  EXPECT_EQ(OpenAIRequestBody(req, "gemma"),
            R"({"messages":[{"content":"hi","role":"user"}],"model":"gemma","temperature":0.2})");
  std::vector<std::string> dropped;
  const ChatRequest an = Parsed(
      Dialect::kAnthropic,
      R"({"model":"auto","max_tokens":9,"top_k":3,"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(AnthropicRequestBody(an, "claude", &dropped),
            R"({"max_tokens":9,"messages":[{"content":"hi","role":"user"}],"model":"claude",)"
            R"("top_k":3})");
  EXPECT_TRUE(dropped.empty());
  // The upstream gets nlohmann's normalised body: a duplicate key once, with its last value (as
  // the gateway's checks read it), numbers as dump() writes them.
  const ChatRequest dup =
      Parsed(Dialect::kOpenAI,
             R"({"model":"a","temperature":1,"temperature":0.5,"x":[1.0,1e300,-0.0,1E2,0.10],)"
             R"("messages":[{"role":"user","content":"hi"}],"model":"auto"})");
  EXPECT_EQ(OpenAIRequestBody(dup, "g"),
            R"({"messages":[{"content":"hi","role":"user"}],"model":"g","temperature":0.5,)"
            R"("x":[1.0,1e+300,-0.0,100.0,0.1]})");
  ExpectSameBodies(dup);
}

TEST(RequestBody, OpenAIStreamsAlwaysAskForUsage) {
  const char* cases[] = {
      // absent, null, empty, false, true, with other members around include_usage
      R"({"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]})",
      R"({"model":"m","stream":true,"stream_options":null,"messages":[{"role":"user","content":"x"}]})",
      R"({"model":"m","stream":true,"stream_options":{},"messages":[{"role":"user","content":"x"}]})",
      R"({"model":"m","stream":true,"stream_options":{"include_usage":false},"messages":[{"role":"user","content":"x"}]})",
      R"({"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]})",
      R"({"model":"m","stream":true,"stream_options":{"a":1,"include_usage":false,"z":[null]},"messages":[{"role":"user","content":"x"}]})",
      R"({"model":"m","stream":true,"stream_options":{"a":1},"messages":[{"role":"user","content":"x"}]})",
      R"({"model":"m","stream":true,"stream_options":{"zz":{"include_usage":false}},"messages":[{"role":"user","content":"x"}]})",
      // not a stream: stream_options left as the client sent it
      R"({"model":"m","stream":false,"stream_options":{"include_usage":false},"messages":[{"role":"user","content":"x"}]})",
      // members sorting just before and after the two replaced ones
      R"({"mode":1,"model_":2,"modek":3,"model":"m","stream":true,"stream_option":4,"stream_options_":5,"stream_optionr":6,"":7,"\u00e9":8,"messages":[{"role":"user","content":"x"}]})",
  };
  for (const char* body : cases) {
    SCOPED_TRACE(body);
    const ChatRequest req = Parsed(Dialect::kOpenAI, body);
    ExpectSameBodies(req);
    if (req.stream) {
      const json sent = json::parse(OpenAIRequestBody(req, "up"));
      EXPECT_EQ(sent.at("stream_options").at("include_usage"), true);
      EXPECT_EQ(sent.at("model"), "up");
    }
  }
}

TEST(RequestBody, InvalidUtf8AsDumpReplacesIt) {
  // The parsers refuse invalid UTF-8, but the functions take any ChatRequest: a body built in
  // code, and a configured upstream model name, are written as dump() with replace writes them.
  for (Dialect d : {Dialect::kOpenAI, Dialect::kAnthropic}) {
    ChatRequest req;
    req.dialect = d;
    req.stream = true;
    req.body = {{"model", "x"},
                {"messages", json::array({{{"role", "user"},
                                           {"content",
                                            "a\xff"
                                            "b\xc3"}}})},
                {"k\xed\xa0\x80", {{"\xf0\x9f", "\x80"}}},
                {"stream_options", {{"\xfe", 1}}}};
    ExpectSameBodies(req, "up\xc3(");
  }
}

TEST(RequestBody, UnusualBodiesFallBackToTheTreePath) {
  for (Dialect d : {Dialect::kOpenAI, Dialect::kAnthropic}) {
    ChatRequest req;
    req.dialect = d;
    req.stream = true;
    req.body = nullptr;  // the tree path makes it an object
    if (d == Dialect::kOpenAI)
      EXPECT_EQ(OpenAIRequestBody(req, "up"), OldOpenAIBody(req, "up"));
    else
      EXPECT_EQ(AnthropicRequestBody(req, "up"), OldAnthropicBody(req, "up"));
    req.body = {{"model", "m"}, {"stream_options", "yes"}};  // the parsers refuse this
    if (d == Dialect::kOpenAI) {
      EXPECT_THROW(OldOpenAIBody(req, "up"), json::type_error);
      EXPECT_THROW(OpenAIRequestBody(req, "up"), json::type_error);
    } else {
      ExpectSameBodies(req);
    }
  }
}

// ---- generated requests ----

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}

  size_t Pick(size_t n) { return rng_() % n; }
  bool Coin() { return rng_() & 1; }

  // Text that needs care: escapes, controls, DEL, multi-byte UTF-8, and plain words.
  std::string Text(size_t max_len = 24) {
    static const char* kPieces[] = {"a",
                                    "Z",
                                    " ",
                                    "\"",
                                    "\\",
                                    "/",
                                    "\n",
                                    "\t",
                                    "\r",
                                    "\b",
                                    "\f",
                                    "\x01",
                                    "\x1f",
                                    "\x7f",
                                    "\0",
                                    "\xc3\xa9",
                                    "\xe2\x82\xac",
                                    "word",
                                    "\xf0\x9f\x98\x80",
                                    "\xef\xbf\xbd",
                                    "\xe2\x80\xa8"};
    std::string s;
    const size_t len = Pick(max_len + 1);
    for (size_t i = 0; i < len; ++i) {
      const char* p = kPieces[Pick(std::size(kPieces))];
      if (*p == '\0')
        s.push_back('\0');
      else
        s += p;
    }
    return s;
  }

  json Number() {
    switch (Pick(7)) {
      case 0:
        return static_cast<int64_t>(rng_());
      case 1:
        return rng_();  // unsigned, often above INT64_MAX
      case 2:
        return static_cast<int>(Pick(2001)) - 1000;
      case 3:
        return std::uniform_real_distribution<double>(-1e6, 1e6)(rng_);
      case 4:
        return std::ldexp(std::uniform_real_distribution<double>(-1, 1)(rng_),
                          static_cast<int>(Pick(2000)) - 1000);
      case 5:
        return 0.1 * static_cast<double>(Pick(30));
      default:
        return -0.0;
    }
  }

  json Value(int depth) {
    const size_t kind = depth >= 6 ? Pick(4) : Pick(6);
    switch (kind) {
      case 0:
        return Text();
      case 1:
        return Number();
      case 2:
        return Pick(3) == 0 ? json(nullptr) : json(Coin());
      case 3:
        return Text(4);
      case 4: {
        json a = json::array();
        for (size_t i = Pick(5); i > 0; --i) a.push_back(Value(depth + 1));
        return a;
      }
      default: {
        json o = json::object();
        for (size_t i = Pick(5); i > 0; --i) o[Key()] = Value(depth + 1);
        return o;
      }
    }
  }

  // Keys near the two the writer replaces, and arbitrary ones.
  std::string Key() {
    static const char* kNear[] = {"",
                                  "a",
                                  "mod",
                                  "mode",
                                  "model_",
                                  "modek",
                                  "modem",
                                  "stream",
                                  "stream_option",
                                  "stream_options_",
                                  "stream_optionr",
                                  "zz",
                                  "\xc3\xa9",
                                  "\x7f",
                                  "m\"odel",
                                  "x-foreign"};
    return Coin() ? std::string(kNear[Pick(std::size(kNear))]) : "k_" + Text(6);
  }

  json Messages(Dialect d) {
    json msgs = json::array();
    const size_t n = 1 + Pick(4);
    for (size_t i = 0; i < n; ++i) {
      const char* role = i % 2 == 0 ? "user" : "assistant";
      json content;
      if (Coin()) {
        content = Text(40);
      } else {
        content = json::array();
        for (size_t k = 1 + Pick(3); k > 0; --k)
          content.push_back({{"type", "text"}, {"text", Text(40)}});
      }
      msgs.push_back({{"role", role}, {"content", content}});
    }
    if (d == Dialect::kOpenAI && Coin()) {
      json system = {{"role", "system"}, {"content", Text(20)}};
      msgs.insert(msgs.begin(), std::move(system));
    }
    return msgs;
  }

  json StreamOptions() {
    switch (Pick(6)) {
      case 0:
        return nullptr;
      case 1:
        return json::object();
      case 2:
        return {{"include_usage", Coin()}};
      case 3:
        return {{"include_usage", Coin()}, {Key(), Value(3)}, {Key(), Value(3)}};
      default: {
        json o = json::object();
        o[Key()] = Value(2);
        return o;
      }
    }
  }

  // A request body as text: members in a random order (model anywhere), random whitespace,
  // strings sometimes written with \u escapes, sometimes a member given twice.
  std::string Request(Dialect d) {
    std::vector<std::pair<std::string, json>> members;
    members.emplace_back("model", Coin() ? json("auto") : json("m" + Text(8)));
    members.emplace_back("messages", Messages(d));
    if (d == Dialect::kAnthropic) members.emplace_back("max_tokens", 1 + Pick(4096));
    if (Pick(3) != 0) members.emplace_back("stream", Coin());
    if (d == Dialect::kOpenAI && Pick(3) != 0)
      members.emplace_back("stream_options", StreamOptions());
    if (Coin()) members.emplace_back("temperature", 0.1 * static_cast<double>(Pick(11)));
    if (d == Dialect::kAnthropic && Coin()) members.emplace_back("system", Text(30));
    if (d == Dialect::kAnthropic && Coin()) members.emplace_back("top_k", Pick(100));
    for (size_t i = Pick(6); i > 0; --i) {
      std::string k = Key();
      if (k == "stream" || k == "stream_options" || k == "model") continue;
      members.emplace_back(k, Value(1));
    }
    if (Pick(10) == 0) members.push_back(members[Pick(members.size())]);  // a duplicate key
    std::shuffle(members.begin(), members.end(), rng_);
    static const char* kSpace[] = {"", " ", "\n  ", "\t"};
    std::string out = "{";
    for (size_t i = 0; i < members.size(); ++i) {
      if (i) out += ',';
      out += kSpace[Pick(4)];
      const bool ascii = Coin();
      out += json(members[i].first).dump(-1, ' ', ascii);
      out += kSpace[Pick(4)];
      out += ':';
      out += members[i].second.dump(Coin() ? -1 : 1, ' ', ascii);
    }
    out += kSpace[Pick(4)];
    out += '}';
    return out;
  }

 private:
  std::mt19937_64 rng_;
};

TEST(RequestBody, GeneratedRequestsMatchTheTreePath) {
  Gen gen(20261203);
  for (Dialect d : {Dialect::kOpenAI, Dialect::kAnthropic}) {
    int accepted = 0;
    int streams = 0;
    const int kRequests = 4000;
    for (int i = 0; i < kRequests; ++i) {
      const std::string text = gen.Request(d);
      auto req = Parse(d, text);
      if (!req.ok()) {
        if (std::getenv("SHOW_REFUSED")) std::fprintf(stderr, "%s\n", req.error().message.c_str());
        continue;
      }
      ++accepted;
      streams += req->stream;
      SCOPED_TRACE(text);
      ExpectSameBodies(*req, gen.Coin() ? std::string("gemma-4-31b") : gen.Text(6));
      if (HasFailure()) return;
    }
    // Nearly every generated request is valid.
    EXPECT_GE(accepted, kRequests * 9 / 10) << DialectName(d);
    EXPECT_GE(streams, kRequests / 4) << DialectName(d);
  }
}

}  // namespace
}  // namespace triage::dialect
