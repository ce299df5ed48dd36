#include "config/config.h"

namespace triage::config {

const Deployment* Config::FindDeployment(std::string_view name) const {
  for (const Tier& t : tiers) {
    for (const Deployment& d : t.deployments) {
      if (d.name == name) return &d;
    }
  }
  return nullptr;
}

const Tier* Config::FindTier(std::string_view name) const {
  for (const Tier& t : tiers) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const Tier& Config::DefaultTier() const {
  if (const Tier* t = default_tier.empty() ? nullptr : FindTier(default_tier)) return *t;
  return tiers.front();
}

}  // namespace triage::config
