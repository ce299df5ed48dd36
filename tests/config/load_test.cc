// Configs that must load, and what they load into.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "test_util.h"

namespace triage::config {
namespace {

using ::testing::HasSubstr;
using testing::kBase;

std::shared_ptr<const Config> MustLoadFile(const std::string& path) {
  auto r = LoadFile(path);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : nullptr;
}

TEST(Load, IssueContractShape) {
  auto c = MustLoadFile(TRIAGE_SOURCE_DIR "/tests/fixtures/config/contract.yaml");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->listen_host, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 8080);
  EXPECT_EQ(c->reference_model, "claude-opus-4.7");
  ASSERT_EQ(c->tiers.size(), 3u);
  EXPECT_EQ(c->tiers[0].name, "open");
  const Deployment& g = c->tiers[0].deployments.at(0);
  EXPECT_EQ(g.name, "gemma-local");
  EXPECT_EQ(g.provider, "openai");
  EXPECT_EQ(g.base_url, "http://127.0.0.1:11434/v1");
  EXPECT_EQ(g.model, "gemma4:31b");
  EXPECT_EQ(g.catalog, "gemma-4-31b");
  EXPECT_EQ(g.api_key_env, "");
  EXPECT_EQ(g.tier, "open");
  const Deployment& s = c->tiers[1].deployments.at(0);
  EXPECT_EQ(s.model, "claude-sonnet-4-6");
  EXPECT_EQ(s.api_key_env, "MID_KEY");
  EXPECT_EQ(s.tier, "mid");
  const Deployment& o = c->tiers[2].deployments.at(0);
  EXPECT_EQ(o.provider, "sim");
  EXPECT_EQ(o.model, "claude-opus-4.7");  // defaults to the catalog id
  EXPECT_EQ(o.tier, "frontier");
  EXPECT_EQ(c->ledger, "sqlite://triage.db");
  EXPECT_EQ(c->DefaultTier().name, "open");  // no routing.default_tier: the first tier
  EXPECT_EQ(c->FindDeployment("sonnet"), &s);
  EXPECT_EQ(c->FindTier("frontier"), &c->tiers[2]);
  EXPECT_EQ(c->FindDeployment("open"), nullptr);
}

TEST(Load, ShippedExamplesLoad) {
  auto example = MustLoadFile(TRIAGE_SOURCE_DIR "/config/example.yaml");
  ASSERT_TRUE(example);
  EXPECT_EQ(example->tiers[0].deployments[0].timeouts.connect, Millis(2000));
  EXPECT_TRUE(MustLoadFile(TRIAGE_SOURCE_DIR "/config/demo.yaml"));
}

TEST(Load, DefaultsWhenKeysAreAbsent) {
  auto r = LoadString(kBase);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = **r;
  const Config defaults;
  EXPECT_EQ(c.listen_host, defaults.listen_host);
  EXPECT_EQ(c.listen_port, defaults.listen_port);
  EXPECT_EQ(c.reference_model, "claude-opus-4.7");
  EXPECT_EQ(c.ledger, "sqlite://triage.db");
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.limits.max_body_bytes, 8 * 1024 * 1024);
  const Deployment& d = c.tiers[0].deployments[0];
  EXPECT_TRUE(d.tls_verify);
  EXPECT_EQ(d.timeouts.total, Millis(300000));
  EXPECT_FALSE(d.price);
}

TEST(Load, PriceOverrideBecomesIntegerMicros) {
  auto r = LoadString(
      testing::BaseWith("catalog: gemma-4-31b",
                        "catalog: gemma-4-31b\n        price: {input: 0.1, output: 0.35, "
                        "cached_input: 0.05, cache_write: 0.125, cache_write_1h: 0.2}"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Deployment& d = (*r)->tiers[0].deployments[0];
  ASSERT_TRUE(d.price);
  EXPECT_EQ(d.price->cache_write_1h_micros_per_mtok, 200'000);
  EXPECT_EQ(d.price->input_micros_per_mtok, 100'000);
  EXPECT_EQ(d.price->output_micros_per_mtok, 350'000);
  EXPECT_EQ(d.price->cached_input_micros_per_mtok, 50'000);
  EXPECT_EQ(d.price->cache_write_micros_per_mtok, 125'000);
  EXPECT_EQ(d.EffectivePrice()->output_micros_per_mtok, 350'000);
}

TEST(Load, WebSearchPriceIsPerThousandSearchesAndBounded) {
  auto r = LoadString(testing::BaseWith(
      "catalog: gemma-4-31b",
      "catalog: gemma-4-31b\n        price: {input: 3, output: 15, web_search_per_1k: 10}"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)->tiers[0].deployments[0].price->web_search_micros_per_1k, 10'000'000);
  auto unset = LoadString(testing::BaseWith(
      "catalog: gemma-4-31b", "catalog: gemma-4-31b\n        price: {input: 3, output: 15}"));
  ASSERT_TRUE(unset.ok()) << unset.error().message;
  EXPECT_FALSE((*unset)->tiers[0].deployments[0].price->web_search_micros_per_1k);
  auto negative = LoadString(testing::BaseWith(
      "catalog: gemma-4-31b",
      "catalog: gemma-4-31b\n        price: {input: 3, output: 15, web_search_per_1k: -1}"));
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.error().message.find("web_search_per_1k: must be between 0 and 1000000 (USD "
                                          "per 1,000 web searches)"),
            std::string::npos)
      << negative.error().message;
}

TEST(Load, EffectivePriceFallsBackToCatalogThenUnknown) {
  auto r = LoadString(testing::BaseWith("catalog: gemma-4-31b", "catalog: glm-5.1"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE((*r)->tiers[0].deployments[0].EffectivePrice());
  EXPECT_EQ((*r)->tiers[1].deployments[0].EffectivePrice()->input_micros_per_mtok, 5'000'000);
  // An override makes a model with no catalog price accountable.
  auto priced = LoadString(testing::BaseWith(
      "catalog: gemma-4-31b", "catalog: glm-5.1\n        price: {input: 1, output: 2}"));
  ASSERT_TRUE(priced.ok()) << priced.error().message;
  EXPECT_EQ((*priced)->tiers[0].deployments[0].EffectivePrice()->output_micros_per_mtok, 2'000'000);
}

TEST(Load, AllOptionalSections) {
  const std::string yaml = std::string(kBase) + R"(
listen: "[::1]:9000"
log_level: debug
routing: {default_tier: frontier, router: "learned:model.bin", thresholds: [0.8]}
storage: {ledger: "sqlite::memory:"}
limits: {max_body_bytes: 1024, max_header_bytes: 2048, max_json_depth: 8,
         header_timeout_ms: 100, body_timeout_ms: 200, keepalive_timeout_ms: 300}
server: {threads: 4, shutdown_grace_ms: 0}
)";
  auto r = LoadString(yaml);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = **r;
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 9000);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.DefaultTier().name, "frontier");
  EXPECT_EQ(c.router, "learned:model.bin");
  EXPECT_EQ(c.thresholds, std::vector<double>{0.8});
  EXPECT_EQ(c.ledger, "sqlite::memory:");
  EXPECT_EQ(c.limits.max_body_bytes, 1024);
  EXPECT_EQ(c.limits.max_header_bytes, 2048);
  EXPECT_EQ(c.limits.max_json_depth, 8);
  EXPECT_EQ(c.limits.header_timeout, Millis(100));
  EXPECT_EQ(c.limits.body_timeout, Millis(200));
  EXPECT_EQ(c.limits.keepalive_timeout, Millis(300));
  EXPECT_EQ(c.threads, 4);
  EXPECT_EQ(c.shutdown_grace, Millis(0));
}

TEST(Load, DeploymentOptions) {
  auto r = LoadString(testing::BaseWith("catalog: gemma-4-31b", R"(catalog: gemma-4-31b
        ca_file: /etc/ssl/certs/ca-certificates.crt
        tls_verify: false
        api_key_env: OPEN_KEY_2
        timeouts: {connect_ms: 1, first_byte_ms: 2, idle_ms: 3, total_ms: 4})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Deployment& d = (*r)->tiers[0].deployments[0];
  EXPECT_EQ(d.ca_file, "/etc/ssl/certs/ca-certificates.crt");
  EXPECT_FALSE(d.tls_verify);
  EXPECT_EQ(d.api_key_env, "OPEN_KEY_2");
  EXPECT_EQ(d.timeouts.connect, Millis(1));
  EXPECT_EQ(d.timeouts.first_byte, Millis(2));
  EXPECT_EQ(d.timeouts.idle, Millis(3));
  EXPECT_EQ(d.timeouts.total, Millis(4));
}

TEST(Load, SimParams) {
  auto r = LoadString(testing::BaseWith(
      "catalog: claude-opus-4.7}",
      "catalog: claude-opus-4.7, sim: {latency_ms: 5, ttft_ms: 6, tokens_per_second: 7.5, "
      "output_tokens: 8, error_rate: 0.25, seed: 9}}"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const SimParams& s = (*r)->tiers[1].deployments[0].sim;
  EXPECT_EQ(s.latency, Millis(5));
  EXPECT_EQ(s.ttft, Millis(6));
  EXPECT_DOUBLE_EQ(s.tokens_per_second, 7.5);
  EXPECT_EQ(s.output_tokens, 8);
  EXPECT_DOUBLE_EQ(s.error_rate, 0.25);
  EXPECT_EQ(s.seed, 9u);
}

TEST(Load, MissingFileNamesThePath) {
  auto r = LoadFile("/nonexistent/dir/triage.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kNotFound);
  EXPECT_THAT(r.error().message, HasSubstr("/nonexistent/dir/triage.yaml"));
  EXPECT_FALSE(LoadFile(TRIAGE_SOURCE_DIR "/config").ok());  // a directory is not a file
}

// Regression: every unreadable path said only "cannot read config file 'PATH'", leaving the
// operator to guess between a typo, a directory and a permission.
TEST(Load, UnreadableFileSaysWhy) {
  EXPECT_EQ(LoadFile("/nonexistent/dir/triage.yaml").error().message,
            "cannot read config file '/nonexistent/dir/triage.yaml': No such file or directory");
  EXPECT_EQ(LoadFile(TRIAGE_SOURCE_DIR "/config").error().message,
            "cannot read config file '" TRIAGE_SOURCE_DIR "/config': Is a directory");
}

TEST(Load, FileErrorsNameTheFileAndTheKey) {
  auto r = LoadFile(TRIAGE_SOURCE_DIR "/tests/fixtures/config/bad_provider.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("bad_provider.yaml: tiers[0].deployments[0].provider"));
}

}  // namespace
}  // namespace triage::config
