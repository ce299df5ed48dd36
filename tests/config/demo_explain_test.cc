#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "config/config.h"
#include "test_util.h"

namespace triage::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Demo, ThreeSimTiersWithCatalogPrices) {
  auto c = Demo("sqlite::memory:");
  ASSERT_EQ(c->tiers.size(), 3u);
  const std::vector<std::tuple<std::string, std::string, std::string>> want = {
      {"open", "gemma-sim", "gemma-4-31b"},
      {"mid", "sonnet-sim", "claude-sonnet-4.6"},
      {"frontier", "opus-sim", "claude-opus-4.7"}};
  for (size_t i = 0; i < 3; ++i) {
    const Tier& t = c->tiers[i];
    EXPECT_EQ(t.name, std::get<0>(want[i]));
    ASSERT_EQ(t.deployments.size(), 1u);
    const Deployment& d = t.deployments[0];
    EXPECT_EQ(d.name, std::get<1>(want[i]));
    EXPECT_EQ(d.catalog, std::get<2>(want[i]));
    EXPECT_EQ(d.provider, "sim");
    EXPECT_EQ(d.tier, t.name);
    EXPECT_FALSE(d.price);
    EXPECT_EQ(d.EffectivePrice()->input_micros_per_mtok,
              catalog::Find(d.catalog)->price->input_micros_per_mtok);
    EXPECT_EQ(d.sim.error_rate, 0.0);
  }
  // The cheap tier answers first.
  EXPECT_LT(c->tiers[0].deployments[0].sim.ttft, c->tiers[1].deployments[0].sim.ttft);
  EXPECT_LT(c->tiers[1].deployments[0].sim.ttft, c->tiers[2].deployments[0].sim.ttft);
  EXPECT_EQ(c->DefaultTier().name, "open");
  EXPECT_EQ(c->ledger, "sqlite::memory:");
  EXPECT_EQ(Demo()->ledger, "sqlite://triage-demo.db");
}

// config/demo.yaml passes the loader's validation and is exactly Demo(): the demo obeys
// every rule a user's config does.
TEST(Demo, MatchesValidatedDemoYaml) {
  auto loaded = LoadFile(TRIAGE_SOURCE_DIR "/config/demo.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const Config& y = **loaded;
  auto demo = Demo();
  EXPECT_EQ(y.listen_host, demo->listen_host);
  EXPECT_EQ(y.listen_port, demo->listen_port);
  EXPECT_EQ(y.reference_model, demo->reference_model);
  EXPECT_EQ(y.default_tier, demo->default_tier);
  EXPECT_EQ(y.ledger, demo->ledger);
  EXPECT_EQ(y.router, demo->router);
  EXPECT_EQ(y.thresholds, demo->thresholds);
  ASSERT_EQ(y.tiers.size(), demo->tiers.size());
  for (size_t i = 0; i < y.tiers.size(); ++i) {
    ASSERT_EQ(y.tiers[i].deployments.size(), demo->tiers[i].deployments.size());
    EXPECT_EQ(y.tiers[i].name, demo->tiers[i].name);
    const Deployment& a = y.tiers[i].deployments[0];
    const Deployment& b = demo->tiers[i].deployments[0];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.provider, b.provider);
    EXPECT_EQ(a.model, b.model);
    EXPECT_EQ(a.catalog, b.catalog);
    EXPECT_EQ(a.tier, b.tier);
    EXPECT_EQ(a.sim.latency, b.sim.latency) << a.name;
    EXPECT_EQ(a.sim.ttft, b.sim.ttft) << a.name;
    EXPECT_EQ(a.sim.tokens_per_second, b.sim.tokens_per_second) << a.name;
    EXPECT_EQ(a.sim.output_tokens, b.sim.output_tokens) << a.name;
    EXPECT_EQ(a.sim.error_rate, b.sim.error_rate) << a.name;
    EXPECT_EQ(a.sim.seed, b.sim.seed) << a.name;
  }
}

TEST(Explain, ShowsPricesKeysAndEverySection) {
  auto r =
      LoadString(testing::BaseWith("catalog: gemma-4-31b",
                                   "catalog: glm-5.1\n        api_key_env: TRIAGE_TEST_SET_KEY") +
                 "routing: {router: length, thresholds: [0.6]}\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ::setenv("TRIAGE_TEST_SET_KEY", "super-secret-value-42", 1);
  const std::string text = Explain(**r);
  ::unsetenv("TRIAGE_TEST_SET_KEY");
  EXPECT_THAT(text, HasSubstr("listen: 127.0.0.1:8080"));
  EXPECT_THAT(text, HasSubstr("claude-opus-4.7, $5.00/$25.00 per Mtok"));
  EXPECT_THAT(text, HasSubstr("open (default)"));
  EXPECT_THAT(text, HasSubstr("local: provider openai, url http://127.0.0.1:11434/v1"));
  EXPECT_THAT(text, HasSubstr("unknown (cost counted as 0)"));  // glm-5.1 has no price
  EXPECT_THAT(text, HasSubstr("$TRIAGE_TEST_SET_KEY (set)"));
  EXPECT_THAT(text, Not(HasSubstr("super-secret-value-42")));
  EXPECT_THAT(text, HasSubstr("timeouts: connect 5000 ms"));
  EXPECT_THAT(text, HasSubstr("router length, thresholds [0.6]"));
  EXPECT_THAT(text, HasSubstr("ledger: sqlite://triage.db"));
  EXPECT_THAT(text, HasSubstr("limits: body 8388608 bytes"));
  EXPECT_THAT(text, HasSubstr("log level info"));
  // Only the cascade says how it treats tool calls.
  EXPECT_THAT(text, Not(HasSubstr("cascade_tool_calls")));
}

TEST(Explain, CascadeSaysHowItTreatsToolCalls) {
  for (const char* mode : {"check", "escalate"}) {
    auto r = LoadString(std::string(testing::kBase) +
                        "routing: {router: \"cascade:m.model\", thresholds: [0.5], "
                        "cascade_tool_calls: " +
                        mode + "}\n");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_THAT(Explain(**r), HasSubstr("(routing.cascade_tool_calls " + std::string(mode) + ")"));
  }
}

TEST(Explain, CascadeSaysWhetherAHeldStreamIsKeptAlive) {
  const std::string base =
      std::string(testing::kBase) + "routing: {router: \"cascade:m.model\", thresholds: [0.5]";
  auto on = LoadString(base + "}\n");
  ASSERT_TRUE(on.ok()) << on.error().message;
  EXPECT_THAT(Explain(**on),
              HasSubstr("; a stream held 15000 ms begins with `: keep-alive` comments, one per "
                        "interval, until the decision (routing.cascade_keepalive_ms 15000)"));
  auto off = LoadString(base + ", cascade_keepalive_ms: 0}\n");
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_THAT(Explain(**off), HasSubstr("(routing.cascade_keepalive_ms 0)"));
  EXPECT_THAT(Explain(*Demo()), Not(HasSubstr("cascade_keepalive_ms")));
}

// One tier leaves the cascade nothing to escalate to: the gateway sends `auto` to that tier
// without a cheap call to judge, and `check` used to describe the cascade as running.
TEST(Explain, CascadeWithOneTierSaysItIsOff) {
  const std::string one =
      "tiers:\n  - name: open\n    deployments:\n      - {name: o, provider: sim, catalog: "
      "gemma-4-31b}\nrouting: {router: \"cascade:m.model\", thresholds: []}\n";
  auto r = LoadString(one);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const std::string text = Explain(**r);
  EXPECT_THAT(text, HasSubstr("; with one tier the live cascade has no tier to escalate to and "
                              "is off: model \"auto\" -> tier open, no answer judged\n"));
  EXPECT_THAT(text, Not(HasSubstr("cascade_keepalive_ms")));
  EXPECT_THAT(text, Not(HasSubstr("cascade_tool_calls")));
}

TEST(Explain, Cors) {
  EXPECT_THAT(Explain(*Demo()), HasSubstr("cors: off"));
  auto r = LoadString(std::string(testing::kBase) +
                      "server:\n  cors: {allow_origins: [\"https://a.example\", "
                      "\"http://localhost:5173\"], allow_headers: [x-tenant]}\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_THAT(Explain(**r), HasSubstr("cors: origins https://a.example, http://localhost:5173; "
                                      "request headers: the SDKs' and x-tenant; preflights "
                                      "cached 600 s"));
}

TEST(Explain, UnsetKeyAndOverridePrice) {
  ::unsetenv("TRIAGE_TEST_UNSET_KEY");
  auto r = LoadString(
      testing::BaseWith("catalog: gemma-4-31b",
                        "catalog: gemma-4-31b\n        api_key_env: TRIAGE_TEST_UNSET_KEY\n"
                        "        price: {input: 0.1, output: 0.3, cached_input: 0.05, "
                        "cache_write: 0.125}"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const std::string text = Explain(**r);
  EXPECT_THAT(text, HasSubstr("$TRIAGE_TEST_UNSET_KEY (NOT set)"));
  EXPECT_THAT(text, HasSubstr("$0.10/$0.30 per Mtok, cached input $0.05, cache write $0.125 "
                              "(config override)"));
  EXPECT_THAT(text, HasSubstr("model \"auto\" -> tier open (no router)"));
}

// An empty variable is set, but the gateway then sends no key (upstream/provider.cc): `check`
// said "(set)" for it, as for a real key.
TEST(Explain, EmptyKeyVariableSaysNoKeyIsSent) {
  auto r = LoadString(testing::BaseWith(
      "catalog: gemma-4-31b", "catalog: gemma-4-31b\n        api_key_env: TRIAGE_TEST_EMPTY_KEY"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ::setenv("TRIAGE_TEST_EMPTY_KEY", "", 1);
  const std::string text = Explain(**r);
  ::unsetenv("TRIAGE_TEST_EMPTY_KEY");
  EXPECT_THAT(text, HasSubstr("$TRIAGE_TEST_EMPTY_KEY (set but empty: no key is sent)"));
  EXPECT_THAT(text, Not(HasSubstr("$TRIAGE_TEST_EMPTY_KEY (set)")));
}

// The gateway prices the all-frontier counterfactual at the first price override of a
// deployment of reference_model (docs/config.md, reference_model); `check` showed the catalog's.
TEST(Explain, ReferencePriceIsTheDeploymentOverride) {
  auto r = LoadString(testing::BaseWith(
      "{name: opus, provider: sim, catalog: claude-opus-4.7}",
      "{name: opus, provider: sim, catalog: claude-opus-4.7, price: {input: 4, output: 20, "
      "cached_input: 0.4}}"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const std::string text = Explain(**r);
  EXPECT_THAT(text, HasSubstr("reference model (all-frontier cost): claude-opus-4.7, $4.00/$20.00 "
                              "per Mtok, cached input $0.40 (price of deployment opus)"));
  EXPECT_THAT(text, Not(HasSubstr("$5.00/$25.00")));
  // Without an override: the catalog's.
  EXPECT_THAT(Explain(**LoadString(testing::kBase)),
              HasSubstr("claude-opus-4.7, $5.00/$25.00 per Mtok (catalog)"));
}

// `check` explains every section: retry, breaker, spillover, routing.fallback, the upstream
// answer limit and a deployment's balancing keys used to be validated but never shown.
TEST(Explain, ShowsRetryBreakerSpilloverFallbackAndBalancing) {
  const std::string defaults = Explain(**LoadString(testing::kBase));
  EXPECT_THAT(defaults, HasSubstr("fallback: up (routing.fallback)\n"));
  EXPECT_THAT(defaults, HasSubstr("retry: at most 3 attempts per request, backoff 100-2000 ms, "
                                  "server waits up to 10000 ms, cool-down up to 60000 ms (share "
                                  "0.5), budget 0.2 per request + 10\n"));
  EXPECT_THAT(defaults, HasSubstr("breaker: opens after 5 failures in a row, or 50% of at least "
                                  "20 attempts in 10000 ms; open 5000 ms, then 1 probe(s)\n"));
  EXPECT_THAT(defaults, HasSubstr("spillover: off\n"));
  EXPECT_THAT(defaults, HasSubstr(", upstream answers 67108864 bytes\n"));
  EXPECT_THAT(defaults, Not(HasSubstr("balancing:")));  // all at their defaults

  auto r = LoadString(
      testing::BaseWith("catalog: gemma-4-31b",
                        "catalog: gemma-4-31b\n        weight: 2\n        max_concurrency: 8\n"
                        "        max_queue: 16\n        queue_timeout_ms: 500") +
      "routing: {fallback: both}\n"
      "retry: {max_attempts: 2, cooldown_max_ms: 0}\n"
      "spillover: {ttft_target_ms: 2000, max_price_out: 30}\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const std::string text = Explain(**r);
  EXPECT_THAT(text, HasSubstr("      balancing: weight 2, at most 8 in flight, 16 queued for up "
                              "to 500 ms\n"));
  EXPECT_THAT(text, HasSubstr("fallback: both (routing.fallback)\n"));
  EXPECT_THAT(text, HasSubstr("retry: at most 2 attempts per request"));
  EXPECT_THAT(text, HasSubstr("cool-down off"));
  EXPECT_THAT(text, HasSubstr("spillover: model \"auto\" for open goes to frontier while every "
                              "deployment of open is at max_concurrency with 1 queued, or its "
                              "first-byte latency is above 2000 ms; only if every deployment of "
                              "frontier has a price of at most $30.00 per Mtok output\n"));
}

TEST(Explain, DemoMentionsEachSimTier) {
  const std::string text = Explain(*Demo());
  for (const char* s : {"gemma-sim", "sonnet-sim", "opus-sim", "$0.20/$0.20 per Mtok",
                        "$3.00/$15.00 per Mtok", "sim: latency 1040 ms, ttft 40 ms"}) {
    EXPECT_THAT(text, HasSubstr(s));
  }
}

}  // namespace
}  // namespace triage::config
