// The built-in demo: three sim tiers with the catalog's prices and latencies shaped like the
// real thing (a self-hosted small model answers first; the frontier is slowest).
#include "config/config.h"

namespace triage::config {
namespace {

Tier SimTier(const std::string& tier, const std::string& name, const std::string& model,
             int64_t ttft_ms, double tokens_per_second, int64_t output_tokens, uint64_t seed) {
  Deployment d;
  d.name = name;
  d.provider = "sim";
  d.model = model;
  d.catalog = model;
  d.tier = tier;
  d.sim.ttft = Millis(ttft_ms);
  // Non-streaming replies arrive whole, so they take as long as the full stream would.
  d.sim.latency = Millis(ttft_ms + static_cast<int64_t>(output_tokens * 1000 / tokens_per_second));
  d.sim.tokens_per_second = tokens_per_second;
  d.sim.output_tokens = output_tokens;
  d.sim.error_rate = 0.0;
  d.sim.seed = seed;
  return Tier{tier, {d}, {}};
}

}  // namespace

std::shared_ptr<const Config> Demo(const std::string& ledger) {
  auto c = std::make_shared<Config>();
  c->listen_host = "127.0.0.1";
  c->listen_port = 8080;
  c->reference_model = "claude-opus-4.7";
  c->tiers = {
      SimTier("open", "gemma-sim", "gemma-4-31b", 40, 120.0, 120, 1),
      SimTier("mid", "sonnet-sim", "claude-sonnet-4.6", 300, 80.0, 160, 2),
      SimTier("frontier", "opus-sim", "claude-opus-4.7", 600, 50.0, 200, 3),
  };
  c->default_tier = "open";
  // model "auto" is routed by the shipped learned model, compiled into the binary; the
  // thresholds are the 70/25/5 split `triage calibrate` gives for it on the dev outcomes.
  c->router = "learned:builtin";
  c->thresholds = {0.58, 0.68};
  c->ledger = ledger;
  return c;
}

}  // namespace triage::config
