// health_checks section and the per-deployment health_check / health_check_path keys.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "test_util.h"

namespace triage::config {
namespace {

using testing::BaseWith;
using ::testing::HasSubstr;
using testing::kBase;
using testing::Problems;

const char* kD0 = "tiers[0].deployments[0]";

std::shared_ptr<const Config> Load(const std::string& yaml) {
  auto c = LoadString(yaml);
  EXPECT_TRUE(c.ok()) << c.error().message;
  return c.ok() ? *c : nullptr;
}

TEST(HealthChecksConfig, DefaultsAreOff) {
  auto c = Load(kBase);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->health_checks.interval.count(), 0);
  EXPECT_EQ(c->health_checks.timeout.count(), 2000);
  EXPECT_EQ(c->health_checks.unhealthy_after, 2);
  EXPECT_EQ(c->health_checks.healthy_after, 1);
  const Deployment& d = c->tiers[0].deployments[0];
  EXPECT_TRUE(d.health_check);
  EXPECT_EQ(d.health_check_path, "");
  EXPECT_TRUE(d.HealthChecked());
  EXPECT_FALSE(c->tiers[1].deployments[0].HealthChecked());  // sim
}

TEST(HealthChecksConfig, SectionAndDeploymentKeys) {
  auto c = Load(BaseWith("catalog: gemma-4-31b",
                         "catalog: gemma-4-31b\n        health_check_path: /api/tags") +
                "health_checks: {interval_ms: 5000, timeout_ms: 5000, unhealthy_after: 3, "
                "healthy_after: 2}\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->health_checks.interval.count(), 5000);
  EXPECT_EQ(c->health_checks.timeout.count(), 5000);  // equal to the interval is allowed
  EXPECT_EQ(c->health_checks.unhealthy_after, 3);
  EXPECT_EQ(c->health_checks.healthy_after, 2);
  EXPECT_EQ(c->tiers[0].deployments[0].HealthCheckTarget(), "/api/tags");

  auto exempt =
      Load(BaseWith("catalog: gemma-4-31b", "catalog: gemma-4-31b\n        health_check: false"));
  ASSERT_TRUE(exempt);
  EXPECT_FALSE(exempt->tiers[0].deployments[0].HealthChecked());
}

TEST(HealthChecksConfig, DefaultTargetIsTheBaseUrlPathPlusModels) {
  auto target = [](const std::string& base_url) {
    Deployment d;
    d.base_url = base_url;
    return d.HealthCheckTarget();
  };
  EXPECT_EQ(target("http://127.0.0.1:8000/v1"), "/v1/models");
  EXPECT_EQ(target("http://127.0.0.1:8000/v1/"), "/v1/models");
  EXPECT_EQ(target("https://api.anthropic.com/v1"), "/v1/models");
  EXPECT_EQ(target("http://localhost:8080"), "/models");
  EXPECT_EQ(target("http://[::1]:11434/openai/v1"), "/openai/v1/models");
}

TEST(HealthChecksConfig, RejectsNonsense) {
  const std::string base = kBase;
  EXPECT_THAT(Problems(base + "health_checks: {interval_ms: -1}\n"),
              HasSubstr("health_checks.interval_ms: must be >= 0"));
  EXPECT_THAT(Problems(base + "health_checks: {interval_ms: 5000, timeout_ms: 0}\n"),
              HasSubstr("health_checks.timeout_ms: must be > 0"));
  EXPECT_THAT(Problems(base + "health_checks: {interval_ms: 5000, unhealthy_after: 0}\n"),
              HasSubstr("health_checks.unhealthy_after: must be in [1, 1000]"));
  EXPECT_THAT(Problems(base + "health_checks: {interval_ms: 5000, healthy_after: -2}\n"),
              HasSubstr("health_checks.healthy_after: must be in [1, 1000]"));
  EXPECT_THAT(Problems(base + "health_checks: {interval_ms: 5000, healthy_after: 1.5}\n"),
              HasSubstr("health_checks.healthy_after: expected an integer"));
  EXPECT_THAT(Problems(base + "health_checks: {interval_ms: 5000, timeout_ms: 6000}\n"),
              HasSubstr("health_checks.timeout_ms: must be <= health_checks.interval_ms (5000 "
                        "ms), got 6000 ms"));
  // The default timeout (2000 ms) against a shorter interval: the message says so.
  EXPECT_THAT(Problems(base + "health_checks: {interval_ms: 1000}\n"),
              HasSubstr("got 2000 ms (the default is 2000)"));
  // With checks off the timeout is not compared.
  EXPECT_EQ(Problems(base + "health_checks: {interval_ms: 0, timeout_ms: 6000}\n"), "OK");
  EXPECT_THAT(Problems(base + "health_checks: {intervl_ms: 1000}\n"),
              HasSubstr("health_checks.intervl_ms: unknown key (did you mean 'interval_ms'?)"));
  EXPECT_THAT(Problems(base + "health_checks: 5\n"), HasSubstr("health_checks: expected a map"));
}

TEST(HealthChecksConfig, DeploymentKeysAreChecked) {
  auto with = [](const std::string& keys) {
    return Problems(BaseWith("catalog: gemma-4-31b", "catalog: gemma-4-31b\n        " + keys));
  };
  const std::string p = std::string(kD0) + ".health_check_path: ";
  EXPECT_THAT(with("health_check_path: health"),
              HasSubstr(p + "must be an absolute path on the deployment's host, starting with "
                            "'/'"));
  EXPECT_THAT(with("health_check_path: \"\""), HasSubstr(p + "must be an absolute path"));
  EXPECT_THAT(with("health_check_path: \"/a b\""),
              HasSubstr(p + "must not contain spaces or control characters"));
  EXPECT_THAT(with("health_check_path: [/health]"), HasSubstr(p + "expected a string"));
  EXPECT_THAT(with("health_check: sometimes"),
              HasSubstr(std::string(kD0) + ".health_check: expected true or false"));
  EXPECT_THAT(with("health_check: false\n        health_check_path: /health"),
              HasSubstr(p + "set while health_check is false"));
  EXPECT_THAT(
      with("health_chek: false"),
      HasSubstr(std::string(kD0) + ".health_chek: unknown key (did you mean 'health_check'?)"));
  // sim deployments are never checked: the keys would do nothing.
  const std::string sim = "{name: opus, provider: sim, catalog: claude-opus-4.7}";
  EXPECT_THAT(
      Problems(BaseWith(sim,
                        "{name: opus, provider: sim, catalog: claude-opus-4.7, "
                        "health_check_path: /health}")),
      HasSubstr("tiers[1].deployments[0].health_check_path: does not apply to provider sim"));
  EXPECT_THAT(
      Problems(BaseWith(
          sim, "{name: opus, provider: sim, catalog: claude-opus-4.7, health_check: false}")),
      HasSubstr("tiers[1].deployments[0].health_check: does not apply to provider sim"));
}

TEST(HealthChecksConfig, ExplainSaysWhatIsChecked) {
  auto off = Load(kBase);
  ASSERT_TRUE(off);
  EXPECT_THAT(Explain(*off), HasSubstr("health checks: off (health_checks.interval_ms 0)"));
  auto on = Load(std::string(kBase) + "health_checks: {interval_ms: 5000}\n");
  ASSERT_TRUE(on);
  const std::string text = Explain(*on);
  EXPECT_THAT(text, HasSubstr("health checks: 1 HTTP deployment(s) every 5000 ms, timeout 2000 "
                              "ms; down after 2 failed check(s) in a row, back after 1 passed"));
  EXPECT_THAT(text, HasSubstr("health check: GET /v1/models"));
}

// Spill-over must be able to trigger: a queue cap, a latency target, or (now) health checks of
// the watched tier's deployments.
TEST(HealthChecksConfig, SpilloverMayTriggerOnHealthChecksAlone) {
  const std::string spill = std::string(kBase) + "spillover: {from: open, to: frontier}\n";
  EXPECT_THAT(Problems(spill),
              HasSubstr("spillover: needs max_concurrency on the deployments of 'open', "
                        "ttft_target_ms, or health checks of its deployments "
                        "(health_checks.interval_ms), or it can never trigger"));
  EXPECT_EQ(Problems(spill + "health_checks: {interval_ms: 5000}\n"), "OK");
  // Checks that cannot cover the watched tier do not count: its only deployment is exempt.
  const std::string exempt =
      BaseWith("catalog: gemma-4-31b", "catalog: gemma-4-31b\n        health_check: false") +
      "spillover: {from: open, to: frontier}\nhealth_checks: {interval_ms: 5000}\n";
  EXPECT_THAT(Problems(exempt), HasSubstr("it can never trigger"));
}

}  // namespace
}  // namespace triage::config
