// tiers[i].deployments[j].request: parsing, the exact YAML -> JSON of extra_body, and every
// validation rule with a failing case that names the key at fault.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "test_util.h"

namespace triage::config {
namespace {

using ::testing::HasSubstr;
using testing::Problems;

const char* kR = "tiers[0].deployments[0].request";

// One openai (or `provider`) deployment with `request` as its request: section (flow or block
// YAML, indented under the deployment).
std::string With(const std::string& request, const std::string& provider = "openai") {
  return "tiers:\n"
         "  - name: open\n"
         "    deployments:\n"
         "      - name: local\n"
         "        provider: " +
         provider +
         "\n"
         "        base_url: http://127.0.0.1:8000/v1\n"
         "        catalog: gemma-4-31b\n"
         "        request:\n" +
         request;
}

const Deployment& First(const std::shared_ptr<const Config>& c) {
  return c->tiers[0].deployments[0];
}

TEST(RequestShaping, AbsentOrEmptyIsNone) {
  auto c = LoadString(testing::kBase);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE(First(*c).request.has_value());
  auto e = LoadString(With("          {}\n"));
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_FALSE(First(*e).request.has_value());
}

TEST(RequestShaping, ParsesEveryKey) {
  auto c =
      LoadString(With("          drop_params: [seed, logit_bias, parallel_tool_calls]\n"
                      "          max_tokens_field: max_completion_tokens\n"
                      "          max_output_tokens: 2048\n"
                      "          extra_body:\n"
                      "            chat_template_kwargs: {enable_thinking: false}\n"
                      "            top_k: 20\n"));
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto& r = First(*c).request;
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->drop_params,
            (std::vector<std::string>{"seed", "logit_bias", "parallel_tool_calls"}));
  EXPECT_EQ(r->max_tokens_field, "max_completion_tokens");
  EXPECT_EQ(r->max_output_tokens, 2048);
  EXPECT_EQ(r->extra_body.dump(),
            R"({"chat_template_kwargs":{"enable_thinking":false},"top_k":20})");
  EXPECT_THAT(Explain(**c), HasSubstr("request: drop seed, logit_bias, parallel_tool_calls; extra "
                                      "body {\"chat_template_kwargs\":{\"enable_thinking\":false},"
                                      "\"top_k\":20}; output limit sent as max_completion_tokens; "
                                      "output limit capped at 2048 tokens"));
}

TEST(RequestShaping, ExtraBodyYamlBecomesExactJson) {
  auto c =
      LoadString(With("          extra_body:\n"
                      "            int: 42\n"
                      "            neg: -7\n"
                      "            big: 18446744073709551615\n"
                      "            hex: 0x1F\n"
                      "            float: 1.0\n"
                      "            exp: 1e3\n"
                      "            frac: 0.25\n"
                      "            yes_bool: true\n"
                      "            no_bool: False\n"
                      "            nothing: null\n"
                      "            tilde: ~\n"
                      "            quoted_int: \"42\"\n"
                      "            single_quoted: '1.5'\n"
                      "            quoted_bool: \"true\"\n"
                      "            tagged: !!str 7\n"
                      "            word: yes\n"
                      "            version: 1.2.3\n"
                      "            text: keep me\n"
                      "            list: [1, \"2\", 3.5, [true], {a: b}]\n"
                      "            nested: {deep: {deeper: [0, -0.5]}}\n"
                      "            empty_map: {}\n"
                      "            empty_list: []\n"));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(First(*c).request->extra_body.dump(),
            R"({"big":18446744073709551615,"empty_list":[],"empty_map":{},"exp":1000.0,)"
            R"("float":1.0,"frac":0.25,"hex":31,"int":42,"list":[1,"2",3.5,[true],{"a":"b"}],)"
            R"("neg":-7,"nested":{"deep":{"deeper":[0,-0.5]}},"no_bool":false,"nothing":null,)"
            R"("quoted_bool":"true","quoted_int":"42","single_quoted":"1.5","tagged":"7",)"
            R"("text":"keep me","tilde":null,"version":"1.2.3","word":"yes","yes_bool":true})");
  const auto& b = First(*c).request->extra_body;
  EXPECT_TRUE(b["int"].is_number_integer());
  EXPECT_TRUE(b["float"].is_number_float());
  EXPECT_TRUE(b["quoted_int"].is_string());
}

TEST(RequestShaping, SectionAndKeyShapes) {
  EXPECT_THAT(
      Problems(With("          drop_param: [seed]\n")),
      HasSubstr(std::string(kR) + ".drop_param: unknown key (did you mean 'drop_params'?)"));
  EXPECT_THAT(Problems(With("          [seed]\n")),
              HasSubstr(std::string(kR) + ": expected a map, got a list"));
  EXPECT_THAT(Problems(With("          drop_params: seed\n")),
              HasSubstr(std::string(kR) + ".drop_params: expected a list"));
  EXPECT_THAT(Problems(With("          drop_params: [seed, {a: 1}]\n")),
              HasSubstr(std::string(kR) + ".drop_params[1]: expected a member name"));
  EXPECT_THAT(Problems(With("          drop_params: [seed, seed]\n")),
              HasSubstr(std::string(kR) + ".drop_params[1]: duplicate name 'seed'"));
  EXPECT_THAT(Problems(With("          extra_body: [1]\n")),
              HasSubstr(std::string(kR) + ".extra_body: expected a map"));
  EXPECT_THAT(Problems(With("          extra_body: {a: 1, a: 2}\n")),
              HasSubstr(std::string(kR) + ".extra_body.a: duplicate key"));
  EXPECT_THAT(Problems(With("          extra_body: {x: .inf}\n")),
              HasSubstr(std::string(kR) + ".extra_body.x: '.inf' has no JSON form"));
  EXPECT_THAT(Problems(With("          extra_body: {x: [1, 99999999999999999999999]}\n")),
              HasSubstr(std::string(kR) + ".extra_body.x[1]: integer '99999999999999999999999' "
                                          "is out of range"));
  EXPECT_THAT(Problems(With("          extra_body: {x: !!int 3}\n")),
              HasSubstr(std::string(kR) + ".extra_body.x: the tag"));
}

TEST(RequestShaping, NeverDropsWhatARequestNeeds) {
  for (const char* name : {"model", "messages", "stream", "stream_options"}) {
    SCOPED_TRACE(name);
    EXPECT_THAT(Problems(With(std::string("          drop_params: [seed, ") + name + "]\n")),
                HasSubstr(std::string(kR) + ".drop_params[1]: '" + name +
                          "' cannot be dropped: every request needs it"));
  }
  EXPECT_THAT(Problems(With("          drop_params: [max_tokens]\n", "anthropic")),
              HasSubstr(std::string(kR) + ".drop_params[0]: 'max_tokens' cannot be dropped: the "
                                          "Messages API requires it"));
  // An OpenAI deployment may drop it, unless the section also sets the output limit.
  EXPECT_EQ(Problems(With("          drop_params: [max_tokens]\n")), "OK");
  EXPECT_THAT(Problems(With("          drop_params: [max_completion_tokens]\n"
                            "          max_output_tokens: 100\n")),
              HasSubstr(std::string(kR) + ".drop_params[0]: 'max_completion_tokens' cannot be "
                                          "dropped together with max_tokens_field"));
}

TEST(RequestShaping, ExtraBodyNeverSetsWhatTheGatewaySets) {
  for (const char* name : {"model", "messages", "stream", "stream_options"}) {
    SCOPED_TRACE(name);
    EXPECT_THAT(Problems(With(std::string("          extra_body: {top_k: 1, ") + name + ": x}\n")),
                HasSubstr(std::string(kR) + ".extra_body." + name + ": '" + name +
                          "' cannot be set here: the gateway sets it"));
  }
  EXPECT_THAT(Problems(With("          extra_body: {max_tokens: 5}\n")),
              HasSubstr(std::string(kR) + ".extra_body.max_tokens: 'max_tokens' cannot be set "
                                          "here (use max_output_tokens and max_tokens_field)"));
}

TEST(RequestShaping, MaxTokensFieldAndCap) {
  EXPECT_THAT(Problems(With("          max_tokens_field: max_output\n")),
              HasSubstr(std::string(kR) +
                        ".max_tokens_field: expected max_tokens or max_completion_tokens"));
  EXPECT_THAT(Problems(With("          max_tokens_field: max_tokens\n", "anthropic")),
              HasSubstr(std::string(kR) + ".max_tokens_field: only applies to provider openai"));
  EXPECT_EQ(Problems(With("          max_tokens_field: max_tokens\n")), "OK");
  EXPECT_THAT(Problems(With("          max_output_tokens: 0\n")),
              HasSubstr(std::string(kR) + ".max_output_tokens: must be in [1, 1000000000]"));
  EXPECT_THAT(Problems(With("          max_output_tokens: lots\n")),
              HasSubstr(std::string(kR) + ".max_output_tokens: expected an integer"));
  EXPECT_EQ(Problems(With("          max_output_tokens: 512\n", "anthropic")), "OK");
}

TEST(RequestShaping, NotForTheSimulator) {
  EXPECT_THAT(Problems("tiers:\n  - name: open\n    deployments:\n"
                       "      - {name: s, provider: sim, catalog: gemma-4-31b,"
                       " request: {drop_params: [seed]}}\n"),
              HasSubstr("tiers[0].deployments[0].request: only applies to provider openai or "
                        "anthropic"));
}

}  // namespace
}  // namespace triage::config
