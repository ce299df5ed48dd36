// Every validation rule has a failing case whose message names the key at fault.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/secrets.h"
#include "config/config.h"
#include "test_util.h"

namespace triage::config {
namespace {

using testing::BaseWith;
using ::testing::HasSubstr;
using testing::kBase;
using ::testing::Not;
using testing::Problems;

const char* kD0 = "tiers[0].deployments[0]";

TEST(Validate, BaseIsValid) { EXPECT_EQ(Problems(kBase), "OK"); }

TEST(Validate, UnknownKeysWithSuggestion) {
  EXPECT_THAT(Problems(std::string(kBase) + "listn: 127.0.0.1:80\n"),
              HasSubstr("listn: unknown key (did you mean 'listen'?)"));
  EXPECT_THAT(Problems(BaseWith("base_url:", "base_ulr:")),
              HasSubstr(std::string(kD0) + ".base_ulr: unknown key (did you mean 'base_url'?)"));
  EXPECT_THAT(Problems(std::string(kBase) + "storage: {ledgr: sqlite://x.db}\n"),
              HasSubstr("storage.ledgr: unknown key (did you mean 'ledger'?)"));
  // Nothing close: list what is allowed instead.
  EXPECT_THAT(
      Problems(std::string(kBase) + "server: {zzzzzzzz: 1}\n"),
      HasSubstr(
          "server.zzzzzzzz: unknown key (expected one of: threads, shutdown_grace_ms, cors)"));
  EXPECT_THAT(Problems(BaseWith("- name: open", "- name: open\n    weight: 3")),
              HasSubstr("tiers[0].weight: unknown key"));
}

TEST(Validate, DuplicateKey) {
  EXPECT_THAT(Problems(std::string(kBase) + "log_level: info\nlog_level: debug\n"),
              HasSubstr("log_level: duplicate key"));
}

TEST(Validate, WrongTypes) {
  EXPECT_THAT(Problems("tiers: 5\n"), HasSubstr("tiers: expected a non-empty list"));
  EXPECT_THAT(Problems(BaseWith("name: local", "name: [a, b]")),
              HasSubstr(std::string(kD0) + ".name: expected a string, got a list"));
  EXPECT_THAT(
      Problems(BaseWith("catalog: gemma-4-31b", "catalog: gemma-4-31b\n        tls_verify: maybe")),
      HasSubstr(std::string(kD0) + ".tls_verify: expected true or false"));
  EXPECT_THAT(Problems(BaseWith("catalog: gemma-4-31b",
                                "catalog: gemma-4-31b\n        timeouts: {connect_ms: soon}")),
              HasSubstr(std::string(kD0) + ".timeouts.connect_ms: expected an integer"));
  EXPECT_THAT(Problems(BaseWith("catalog: gemma-4-31b",
                                "catalog: gemma-4-31b\n        timeouts: {connect_ms: 1.5}")),
              HasSubstr(std::string(kD0) + ".timeouts.connect_ms: expected an integer"));
  EXPECT_THAT(Problems(BaseWith("catalog: gemma-4-31b", "catalog: gemma-4-31b\n        price: 3")),
              HasSubstr(std::string(kD0) + ".price: expected a map, got a scalar"));
  EXPECT_THAT(Problems(std::string(kBase) + "routing: {thresholds: 0.5}\n"),
              HasSubstr("routing.thresholds: expected a list"));
  EXPECT_THAT(Problems("- a\n- b\n"), HasSubstr("(top level): expected a map"));
}

TEST(Validate, MissingRequiredKeys) {
  EXPECT_THAT(Problems("listen: 127.0.0.1:1\n"), HasSubstr("tiers: required"));
  EXPECT_THAT(Problems(BaseWith("- name: open\n", "- \n")), HasSubstr("tiers[0].name: required"));
  EXPECT_THAT(Problems(BaseWith("name: local", "model: x")),
              HasSubstr(std::string(kD0) + ".name: required"));
  EXPECT_THAT(Problems(BaseWith("provider: openai", "model: x")),
              HasSubstr(std::string(kD0) + ".provider: required"));
  EXPECT_THAT(Problems(BaseWith("catalog: gemma-4-31b", "model: x")),
              HasSubstr(std::string(kD0) + ".catalog: required"));
  EXPECT_THAT(Problems(BaseWith("base_url: http://127.0.0.1:11434/v1", "model: x")),
              HasSubstr(std::string(kD0) + ".base_url: required for provider openai"));
  EXPECT_THAT(Problems(BaseWith("provider: openai\n        base_url: http://127.0.0.1:11434/v1",
                                "provider: anthropic")),
              HasSubstr(std::string(kD0) + ".base_url: required for provider anthropic"));
  EXPECT_THAT(
      Problems(BaseWith("catalog: gemma-4-31b", "catalog: gemma-4-31b\n        price: {input: 1}")),
      HasSubstr(std::string(kD0) + ".price.output: required"));
}

TEST(Validate, BaseUrlScheme) {
  EXPECT_THAT(Problems(BaseWith("http://127.0.0.1:11434/v1", "ftp://127.0.0.1/v1")),
              HasSubstr(std::string(kD0) + ".base_url: must start with http:// or https://"));
  EXPECT_THAT(Problems(BaseWith("http://127.0.0.1:11434/v1", "127.0.0.1:11434/v1")),
              HasSubstr(std::string(kD0) + ".base_url: must start with"));
}

// Credentials in the URL (userinfo, Gemini-style ?key=) would be shown by `triage check`, sent
// in DNS and connect errors to clients and logs, and in /readyz's health-check path: refused,
// and the value is never echoed.
TEST(Validate, BaseUrlWithCredentialsIsRefusedWithoutEcho) {
  for (const char* url :
       {"http://user:hunter2secret@127.0.0.1:11434/v1", "https://hunter2secret@api.example.com/v1",
        "http://127.0.0.1:11434/v1?key=hunter2secret", "http://127.0.0.1:11434/v1#hunter2secret",
        "http://127.0.0.1:11434?key=hunter2secret"}) {
    const std::string m = Problems(BaseWith("http://127.0.0.1:11434/v1", url));
    EXPECT_THAT(m, HasSubstr(std::string(kD0) + ".base_url: must not contain")) << url;
    EXPECT_THAT(m, Not(HasSubstr("hunter2"))) << url;
  }
  EXPECT_THAT(Problems(BaseWith("http://127.0.0.1:11434/v1", "http://u:p@127.0.0.1:1/v1")),
              HasSubstr(std::string(kD0) +
                        ".base_url: must not contain credentials (user:password@); name the "
                        "key's environment variable in api_key_env"));
  EXPECT_THAT(Problems(BaseWith("http://127.0.0.1:11434/v1", "http://127.0.0.1:1/v1?key=x")),
              HasSubstr(std::string(kD0) + ".base_url: must not contain a query (?...) or a "
                                           "fragment (#...)"));
  // An '@' in the path is not userinfo.
  EXPECT_EQ(Problems(BaseWith("http://127.0.0.1:11434/v1", "http://127.0.0.1:11434/v1/@team")),
            "OK");
}

TEST(Validate, UnknownProvider) {
  EXPECT_THAT(Problems(BaseWith("provider: sim", "provider: foo")),
              HasSubstr("tiers[1].deployments[0].provider: unknown provider 'foo' "
                        "(expected openai, anthropic, sim)"));
}

TEST(Validate, UnknownCatalogIdListsKnownOnes) {
  const std::string m = Problems(BaseWith("catalog: gemma-4-31b", "catalog: gemma-5"));
  EXPECT_THAT(m, HasSubstr(std::string(kD0) + ".catalog: unknown catalog id 'gemma-5'"));
  EXPECT_THAT(m, HasSubstr("gemma-4-31b, qwen-3.6-35b-a3b"));
  EXPECT_THAT(m, HasSubstr("gpt-5.5"));
}

TEST(Validate, DuplicateNames) {
  EXPECT_THAT(Problems(BaseWith("name: frontier", "name: open")),
              HasSubstr("tiers[1].name: duplicate tier name 'open'"));
  EXPECT_THAT(Problems(BaseWith("name: opus", "name: local")),
              HasSubstr("tiers[1].deployments[0].name: duplicate deployment name 'local'"));
  EXPECT_THAT(
      Problems(BaseWith("name: opus", "name: open")),
      HasSubstr("tiers[1].deployments[0].name: deployment name 'open' is also a tier name"));
  EXPECT_THAT(Problems(BaseWith("name: frontier", "name: auto")),
              HasSubstr("tiers[1].name: 'auto' is reserved"));
  // /metrics counts requests that reached no tier under tier="none": a tier of that name gave
  // every per-tier series twice (duplicate samples, which Prometheus refuses).
  EXPECT_THAT(Problems(BaseWith("name: frontier", "name: none")),
              HasSubstr("tiers[1].name: 'none' is reserved"));
}

// Names go out in response headers (x-triage-tier, x-triage-deployment, x-triage-route): a CR
// LF in one used to start a header of its own in every answer (`check` said OK).
TEST(Validate, NamesFitInResponseHeaders) {
  EXPECT_THAT(Problems(BaseWith("name: open", "name: \"open\\r\\nx-evil: 1\"")),
              HasSubstr("tiers[0].name: must not contain control characters"));
  EXPECT_THAT(Problems(BaseWith("name: opus", "name: \"op\\tus\"")),
              HasSubstr("tiers[1].deployments[0].name: must not contain control characters"));
  EXPECT_THAT(
      Problems(BaseWith("catalog: gemma-4-31b", "catalog: gemma-4-31b\n        model: \"g\\n\"")),
      HasSubstr(std::string(kD0) + ".model: must not contain control characters"));
  EXPECT_THAT(Problems(BaseWith("name: open", "name: \"\"")),
              HasSubstr("tiers[0].name: must not be empty"));
  EXPECT_THAT(Problems(BaseWith("name: local", "name: \" local\"")),
              HasSubstr(std::string(kD0) + ".name: must not begin or end with a space"));
  // Spaces inside, non-ASCII and quotes are fine (the header and /metrics carry them).
  EXPECT_EQ(Problems(BaseWith("name: open", "name: \"open tier \\u00e9 \\\"q\\\"\"")), "OK");
}

TEST(Validate, ReferenceModel) {
  EXPECT_THAT(Problems(std::string(kBase) + "reference_model: gpt-6\n"),
              HasSubstr("reference_model: 'gpt-6' is not a catalog model with a known price"));
  // In the catalog, but with no price: cannot be the yardstick.
  const std::string m = Problems(std::string(kBase) + "reference_model: glm-5.1\n");
  EXPECT_THAT(m, HasSubstr("reference_model: 'glm-5.1'"));
  EXPECT_THAT(m, HasSubstr("claude-opus-4.7"));
  EXPECT_EQ(Problems(std::string(kBase) + "reference_model: gpt-5.5\n"), "OK");
}

TEST(Validate, TiersAndDeploymentsNotEmpty) {
  EXPECT_THAT(Problems("tiers: []\n"), HasSubstr("tiers: expected a non-empty list"));
  EXPECT_THAT(Problems("tiers:\n  - name: open\n"), HasSubstr("tiers[0].deployments: required"));
  EXPECT_THAT(Problems("tiers:\n  - {name: open, deployments: []}\n"),
              HasSubstr("tiers[0].deployments: expected a non-empty list"));
}

TEST(Validate, PricesNonNegative) {
  EXPECT_THAT(Problems(BaseWith("catalog: gemma-4-31b",
                                "catalog: gemma-4-31b\n        price: {input: -0.1, output: 1}")),
              HasSubstr(std::string(kD0) + ".price.input: must be between 0"));
  EXPECT_THAT(Problems(BaseWith("catalog: gemma-4-31b",
                                "catalog: gemma-4-31b\n        price: {input: 0, output: 0, "
                                "cached_input: -1}")),
              HasSubstr(std::string(kD0) + ".price.cached_input: must be between 0"));
  EXPECT_THAT(Problems(BaseWith("catalog: gemma-4-31b",
                                "catalog: gemma-4-31b\n        price: {input: 0, output: 0, "
                                "cache_write: -1}")),
              HasSubstr(std::string(kD0) + ".price.cache_write: must be between 0"));
  EXPECT_THAT(Problems(BaseWith("catalog: gemma-4-31b",
                                "catalog: gemma-4-31b\n        price: {input: .nan, output: 0}")),
              HasSubstr(std::string(kD0) + ".price.input: expected a finite number"));
  EXPECT_EQ(Problems(BaseWith("catalog: gemma-4-31b",
                              "catalog: gemma-4-31b\n        price: {input: 0, output: 0}")),
            "OK");
}

TEST(Validate, TimeoutsPositive) {
  for (std::string key : {"connect_ms", "first_byte_ms", "idle_ms", "total_ms"}) {
    EXPECT_THAT(Problems(BaseWith("catalog: gemma-4-31b",
                                  "catalog: gemma-4-31b\n        timeouts: {" + key + ": 0}")),
                HasSubstr(std::string(kD0) + ".timeouts." + key + ": must be > 0"));
  }
  EXPECT_THAT(Problems(BaseWith("catalog: gemma-4-31b",
                                "catalog: gemma-4-31b\n        timeouts: {total_ms: -5}")),
              HasSubstr(".timeouts.total_ms: must be > 0"));
  EXPECT_THAT(Problems(BaseWith("catalog: gemma-4-31b",
                                "catalog: gemma-4-31b\n        timeouts: {total_ms: 86400001}")),
              HasSubstr(".timeouts.total_ms: must be > 0 and at most 86400000"));
}

TEST(Validate, RetryCooldown) {
  EXPECT_THAT(Problems(std::string(kBase) + "retry: {cooldown_max_ms: -1}\n"),
              HasSubstr("retry.cooldown_max_ms: must be >= 0 and at most 86400000"));
  auto on = LoadString(std::string(kBase) + "retry: {cooldown_max_ms: 5000}\n");
  ASSERT_TRUE(on.ok()) << on.error().message;
  EXPECT_EQ((*on)->retry.cooldown_max.count(), 5000);
  auto off = LoadString(std::string(kBase) + "retry: {cooldown_max_ms: 0}\n");
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_EQ((*off)->retry.cooldown_max.count(), 0);
  EXPECT_EQ((*LoadString(kBase))->retry.cooldown_max.count(), 60000);
  EXPECT_THAT(Problems(std::string(kBase) + "retry: {cooldown_min_share: 1.5}\n"),
              HasSubstr("retry.cooldown_min_share"));
  auto share = LoadString(std::string(kBase) + "retry: {cooldown_min_share: 0}\n");
  ASSERT_TRUE(share.ok()) << share.error().message;
  EXPECT_EQ((*share)->retry.cooldown_min_share, 0.0);
  EXPECT_EQ((*LoadString(kBase))->retry.cooldown_min_share, 0.5);
}

TEST(Validate, SimParams) {
  const std::string d1 = "tiers[1].deployments[0]";
  auto sim = [](const std::string& body) {
    return Problems(
        BaseWith("catalog: claude-opus-4.7}", "catalog: claude-opus-4.7, sim: {" + body + "}}"));
  };
  EXPECT_THAT(sim("error_rate: 1.5"), HasSubstr(d1 + ".sim.error_rate: must be in [0, 1]"));
  EXPECT_THAT(sim("error_rate: -0.1"), HasSubstr(d1 + ".sim.error_rate: must be in [0, 1]"));
  EXPECT_EQ(sim("error_rate: 1"), "OK");
  EXPECT_THAT(sim("tokens_per_second: 0"), HasSubstr(d1 + ".sim.tokens_per_second: must be > 0"));
  EXPECT_THAT(sim("output_tokens: 0"), HasSubstr(d1 + ".sim.output_tokens: must be in [1,"));
  EXPECT_THAT(sim("ttft_ms: -1"), HasSubstr(d1 + ".sim.ttft_ms: must be >= 0"));
  EXPECT_THAT(sim("seed: -1"), HasSubstr(d1 + ".sim.seed: must be >= 0"));
  EXPECT_THAT(
      Problems(BaseWith("catalog: gemma-4-31b", "catalog: gemma-4-31b\n        sim: {ttft_ms: 1}")),
      HasSubstr(std::string(kD0) + ".sim: only applies to provider sim"));
}

TEST(Validate, Routing) {
  const std::string base(kBase);
  EXPECT_THAT(Problems(base + "routing: {default_tier: mid}\n"),
              HasSubstr("routing.default_tier: no tier named 'mid' (tiers: open, frontier)"));
  EXPECT_THAT(Problems(base + "routing: {router: length, thresholds: [0.5, 0.9]}\n"),
              HasSubstr("routing.thresholds: routing.router needs exactly 1 threshold (one "
                        "fewer than tiers), got 2"));
  EXPECT_THAT(Problems(base + "routing: {router: length}\n"),
              HasSubstr("routing.thresholds: routing.router needs exactly 1"));
  EXPECT_THAT(Problems(base + "routing: {router: \"magic:x\", thresholds: [0.5]}\n"),
              HasSubstr("routing.router: unknown router 'magic'"));
  EXPECT_THAT(Problems(base + "routing: {thresholds: [1.5]}\n"),
              HasSubstr("routing.thresholds[0]: expected a number in [0, 1]"));
  EXPECT_THAT(Problems(base + "routing: {thresholds: [0.9, 0.5]}\n"),
              HasSubstr("routing.thresholds[1]: thresholds must be ascending"));
  EXPECT_EQ(Problems(base + "routing: {router: \"random:7\", thresholds: [0.5]}\n"), "OK");
  EXPECT_THAT(Problems(base + "routing: {cascade_tool_calls: judge}\n"),
              HasSubstr("routing.cascade_tool_calls: expected check or escalate, got 'judge'"));
  EXPECT_THAT(Problems(base + "routing: {cascade_tool_calls: [check]}\n"),
              HasSubstr("routing.cascade_tool_calls"));
  EXPECT_EQ(Problems(base + "routing: {cascade_tool_calls: escalate}\n"), "OK");
  EXPECT_EQ(Problems(base + "routing: {cascade_tool_calls: check}\n"), "OK");
}

TEST(Validate, CascadeToolCallsDefaultsToCheck) {
  auto d = LoadString(kBase);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ((*d)->cascade_tool_calls, "check");
  auto e = LoadString(std::string(kBase) + "routing: {cascade_tool_calls: escalate}\n");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ((*e)->cascade_tool_calls, "escalate");
}

TEST(Validate, CascadeKeepaliveMs) {
  const std::string base(kBase);
  auto d = LoadString(kBase);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ((*d)->cascade_keepalive, std::chrono::milliseconds(15000));
  for (const char* bad : {"50", "99", "600001", "-1"})
    EXPECT_THAT(Problems(base + "routing: {cascade_keepalive_ms: " + bad + "}\n"),
                HasSubstr("routing.cascade_keepalive_ms: must be 0 (off) or in [100, 600000], "
                          "got " +
                          std::string(bad)));
  EXPECT_THAT(Problems(base + "routing: {cascade_keepalive_ms: 1.5}\n"),
              HasSubstr("routing.cascade_keepalive_ms: expected an integer"));
  for (const char* good : {"0", "100", "1000", "600000"}) {
    auto c = LoadString(base + "routing: {cascade_keepalive_ms: " + good + "}\n");
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ((*c)->cascade_keepalive.count(), std::stoll(good));
  }
}

TEST(Validate, Ledger) {
  const std::string base(kBase);
  EXPECT_THAT(Problems(base + "storage: {ledger: \"postgres://db\"}\n"),
              HasSubstr("storage.ledger: expected sqlite://PATH or sqlite::memory:"));
  EXPECT_THAT(Problems(base + "storage: {ledger: \"sqlite://\"}\n"),
              HasSubstr("storage.ledger: expected sqlite://PATH"));
  EXPECT_THAT(Problems(base + "storage: {ledger: \"sqlite://?synchronous=full\"}\n"),
              HasSubstr("storage.ledger: expected sqlite://PATH"));
  EXPECT_THAT(Problems(base + "storage: {ledger: \"sqlite::memory:x\"}\n"),
              HasSubstr("storage.ledger: expected"));
  // A database URL's password is not echoed.
  const std::string pg = Problems(base + "storage: {ledger: \"postgres://u:hunter2pw@db/x\"}\n");
  EXPECT_THAT(pg, HasSubstr("storage.ledger: expected sqlite://PATH or sqlite::memory:, got "
                            "'postgres://[redacted]@db/x'"));
  EXPECT_THAT(pg, Not(HasSubstr("hunter2")));
  EXPECT_EQ(Problems(base + "storage: {ledger: \"sqlite::memory:\"}\n"), "OK");
  EXPECT_EQ(Problems(base + "storage: {ledger: \"sqlite://t.db?synchronous=full\"}\n"), "OK");
  EXPECT_EQ(Problems(base + "storage: {ledger: \"sqlite:///var/lib/triage/ledger.db\"}\n"), "OK");
}

TEST(Validate, Listen) {
  const std::string base(kBase);
  EXPECT_THAT(Problems(base + "listen: localhost\n"), HasSubstr("listen: missing :PORT"));
  EXPECT_THAT(Problems(base + "listen: 1.2.3.4:99999\n"), HasSubstr("listen: port out of range"));
  EXPECT_THAT(Problems(base + "listen: 8080\n"), HasSubstr("listen: missing :PORT"));
}

TEST(Validate, ApiKeyEnvMustBeANameAndSecretsAreNeverEchoed) {
  const std::string expected = std::string(kD0) +
                               ".api_key_env: must name an environment variable, not contain "
                               "the key itself";
  for (std::string secret : {"sk-proj-abcdefghijklmnop1234567890", "sk-ant-api03-XYZxyz0123456789",
                             "AbCdEf1234567890XyZ99", "abcdefabcdefabcdefabcdefabcdefabcdef"}) {
    const std::string m = Problems(
        BaseWith("catalog: gemma-4-31b", "catalog: gemma-4-31b\n        api_key_env: " + secret));
    EXPECT_THAT(m, HasSubstr(expected)) << "value #" << secret.size();
    EXPECT_THAT(m, Not(HasSubstr(secret)));
    EXPECT_THAT(m, Not(HasSubstr(secret.substr(3, 8))));
  }
  const std::string bad = Problems(
      BaseWith("catalog: gemma-4-31b", "catalog: gemma-4-31b\n        api_key_env: MY-KEY"));
  EXPECT_THAT(bad,
              HasSubstr(std::string(kD0) + ".api_key_env: must be an environment variable name"));
  EXPECT_THAT(bad, Not(HasSubstr("MY-KEY")));
  for (std::string ok : {"OPENAI_API_KEY", "MID_KEY", "_k", "together_api_key"}) {
    EXPECT_EQ(Problems(BaseWith("catalog: gemma-4-31b",
                                "catalog: gemma-4-31b\n        api_key_env: " + ok)),
              "OK")
        << ok;
  }
}

// Regression: a key pasted into the wrong field was echoed whole in the error, which `triage
// check` and `serve` print on stderr and a SIGHUP reload writes to the log. Every value an error
// quotes is shown as '[redacted]' when it looks like a credential; other values are still shown.
TEST(Validate, KeyShapedValuesAreNeverEchoed) {
  for (std::string key : {"sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
                          "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW",  // Google
                          "4f6c2a9e8b7d1c3e5a0f9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e",
                          "gsk_abcdefghijklmnopqrstuvwxyz0123456789"}) {
    const std::string d = "catalog: gemma-4-31b\n        ";
    for (const std::string& yaml : {
             BaseWith("catalog: gemma-4-31b", d + "tls_verify: " + key),
             BaseWith("catalog: gemma-4-31b", d + "weight: " + key),
             BaseWith("catalog: gemma-4-31b", d + "max_concurrency: " + key),
             BaseWith("catalog: gemma-4-31b", d + "price: {input: " + key + ", output: 1}"),
             BaseWith("provider: openai", "provider: " + key),
             BaseWith("catalog: gemma-4-31b", "catalog: " + key),
             BaseWith("catalog: gemma-4-31b", d + key + ": 1"),  // a key as a map key
             BaseWith("- name: open", "- name: " + key),         // then quoted by spillover
             std::string(kBase) + "log_level: " + key + "\n",
             std::string(kBase) + "reference_model: " + key + "\n",
             std::string(kBase) + "listen: " + key + ":80\n",
             std::string(kBase) + "routing: {fallback: " + key + "}\n",
             std::string(kBase) + "routing: {cascade_tool_calls: " + key + "}\n",
             std::string(kBase) + "routing: {router: " + key + "}\n",
             std::string(kBase) + "routing: {default_tier: " + key + "}\n",
             std::string(kBase) + "storage: {ledger: " + key + "}\n",
             std::string(kBase) + "spillover: {from: " + key + ", ttft_target_ms: 5}\n",
             std::string(kBase) + "spillover: {to: " + key + ", ttft_target_ms: 5}\n",
             std::string(kBase) + "server: {cors: {allow_origins: [" + key + "]}}\n",
             std::string(kBase) + "server: {cors: {allow_origins: [\"https://" + key + "/\"]}}\n",
             std::string(kBase) + "server: {cors: {allow_headers: [\"" + key + " \"]}}\n",
         }) {
      const std::string m = Problems(yaml);
      // A tier name that is a long run of letters and digits without a key prefix is valid
      // (NamesAreRefusedOnlyForAKeyPrefix); every other case is an error that must not echo it.
      const bool valid_name =
          yaml.find("- name: " + key) != std::string::npos && !HasCredentialPrefix(key);
      if (!valid_name) EXPECT_NE(m, "OK") << yaml;
      EXPECT_THAT(m, Not(HasSubstr(key.substr(4, 16)))) << yaml;
    }
  }
  // What does not look like a key is still quoted, so the mistake can be found.
  EXPECT_THAT(Problems(std::string(kBase) + "routing: {fallback: sideways}\n"),
              HasSubstr("got 'sideways'"));
  EXPECT_THAT(Problems(BaseWith("catalog: gemma-4-31b", "catalog: Qwen3-Coder-480B-A35B-Instruct")),
              HasSubstr("unknown catalog id 'Qwen3-Coder-480B-A35B-Instruct'"));
  EXPECT_THAT(Problems(std::string(kBase) + "log_level: sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz01\n"),
              HasSubstr("log_level: expected debug, info, warn or error, got '[redacted]'"));
}

// Regression: integers went through yaml-cpp's stream reading, which takes a leading 0 as
// octal (YAML 1.1): `max_concurrency: 030` was 24 and `08` an error, while the same `030` in
// extra_body (YAML 1.2 core schema) is 30. Integers now read as YAML 1.2 does: decimal whatever
// its leading zeros, 0x hexadecimal, 0o octal.
TEST(Validate, IntegersReadAsYaml12) {
  auto output_tokens = [](const std::string& v) -> std::string {
    auto r = LoadString(BaseWith("{name: opus, provider: sim, catalog: claude-opus-4.7}",
                                 "{name: opus, provider: sim, catalog: claude-opus-4.7, "
                                 "sim: {output_tokens: " +
                                     v + "}}"));
    if (!r.ok()) return r.error().message;
    return std::to_string((*r)->tiers[1].deployments[0].sim.output_tokens);
  };
  EXPECT_EQ(output_tokens("030"), "30");
  EXPECT_EQ(output_tokens("08"), "8");
  EXPECT_EQ(output_tokens("+5"), "5");
  EXPECT_EQ(output_tokens("0x10"), "16");
  EXPECT_EQ(output_tokens("0o17"), "15");
  EXPECT_EQ(output_tokens("\"30\""), "30");  // quoted: still the number
  EXPECT_THAT(output_tokens("1e3"), HasSubstr("sim.output_tokens: expected an integer, got '1e3'"));
  EXPECT_THAT(output_tokens("1.0"), HasSubstr("expected an integer, got '1.0'"));
  EXPECT_THAT(output_tokens("0x"), HasSubstr("expected an integer, got '0x'"));
  EXPECT_THAT(output_tokens("99999999999999999999"),
              HasSubstr("expected an integer, got '99999999999999999999'"));
  EXPECT_THAT(output_tokens("-0x10"), HasSubstr("expected an integer"));
}

TEST(Validate, LogLevelLimitsServer) {
  const std::string base(kBase);
  EXPECT_THAT(Problems(base + "log_level: verbose\n"),
              HasSubstr("log_level: expected debug, info, warn or error, got 'verbose'"));
  EXPECT_THAT(Problems(base + "limits: {max_body_bytes: 0}\n"),
              HasSubstr("limits.max_body_bytes: must be in [1,"));
  EXPECT_THAT(Problems(base + "limits: {max_json_depth: -3}\n"),
              HasSubstr("limits.max_json_depth: must be in [1,"));
  // Regression: 100000 was accepted, and a body that deep crashed the process (stack overflow
  // in the recursive JSON walks).
  EXPECT_THAT(Problems(base + "limits: {max_json_depth: 10001}\n"),
              HasSubstr("limits.max_json_depth: must be in [1, 10000]"));
  EXPECT_THAT(Problems(base + "limits: {max_json_depth: 100000}\n"),
              HasSubstr("limits.max_json_depth: must be in [1, 10000]"));
  EXPECT_EQ(Problems(base + "limits: {max_json_depth: 10000}\n"), "OK");
  EXPECT_THAT(Problems(base + "limits: {keepalive_timeout_ms: 0}\n"),
              HasSubstr("limits.keepalive_timeout_ms: must be > 0"));
  EXPECT_THAT(Problems(base + "server: {threads: -1}\n"),
              HasSubstr("server.threads: must be in [0, 1024]"));
  EXPECT_THAT(Problems(base + "server: {shutdown_grace_ms: -1}\n"),
              HasSubstr("server.shutdown_grace_ms: must be >= 0"));
}

// Regression: the range in these messages was not the range checked. A bound was printed with
// its first four characters ("[0.00, 1000]" for max_price_out's [0, 1000000] and weight's
// [0.001, 1000]), and window_ms, which must be at least 10, said "must be > 0" when given 5.
TEST(Validate, RangeMessagesStateTheBoundsChecked) {
  const std::string base(kBase);
  EXPECT_THAT(Problems(base + "spillover: {ttft_target_ms: 500, max_price_out: 2000000}\n"),
              HasSubstr("spillover.max_price_out: must be in [0, 1000000]"));
  EXPECT_THAT(
      Problems(BaseWith("catalog: gemma-4-31b", "catalog: gemma-4-31b\n        weight: 0.0005")),
      HasSubstr(std::string(kD0) + ".weight: must be in [0.001, 1000]"));
  EXPECT_THAT(Problems(base + "breaker: {error_rate: 0}\n"),
              HasSubstr("breaker.error_rate: must be in [0.01, 1]"));
  EXPECT_THAT(Problems(base + "retry: {budget_ratio: 11}\n"),
              HasSubstr("retry.budget_ratio: must be in [0, 10]"));
  EXPECT_THAT(Problems(base + "breaker: {window_ms: 5}\n"),
              HasSubstr("breaker.window_ms: must be >= 10 and at most 86400000 (one day)"));
  EXPECT_EQ(Problems(base + "breaker: {window_ms: 10}\n"), "OK");
}

TEST(Validate, YamlSyntaxErrorHasLineAndColumn) {
  const std::string m = Problems("tiers:\n  - name: open\n    deployments: [\n");
  EXPECT_THAT(m, HasSubstr("YAML syntax error at line"));
  EXPECT_THAT(m, HasSubstr("column"));
  EXPECT_THAT(Problems("a: b: c\n"), HasSubstr("line 1, column"));
  EXPECT_THAT(Problems(""), HasSubstr("config is empty"));
}

TEST(Validate, ReportsEveryProblemAtOnce) {
  const std::string m = Problems(std::string(kBase) + "log_level: loud\nlistn: x\n");
  EXPECT_THAT(m, HasSubstr("log_level:"));
  EXPECT_THAT(m, HasSubstr("listn:"));
  EXPECT_EQ(std::count(m.begin(), m.end(), '\n'), 1);
}

TEST(Validate, ErrorKindAndCode) {
  auto r = LoadString("tiers: []\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(r.error().code, "invalid_config");
}

// Only a key prefix makes a tier or deployment name a credential: a long run of letters and
// digits (which LooksLikeCredentialWord also masks in messages) is an ordinary model-ish name.
TEST(Validate, NamesAreRefusedOnlyForAKeyPrefix) {
  EXPECT_EQ(Problems(BaseWith("- name: open", "- name: qwen25coder32binstruct")).find("API key"),
            std::string::npos);
  EXPECT_THAT(Problems(BaseWith("- name: open", "- name: sk-proj-AbCdEfGhIjKl")),
              HasSubstr("must not look like an API key"));
}

}  // namespace
}  // namespace triage::config
