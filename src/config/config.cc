#include "config/config.h"

#include <string_view>

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

const Deployment* Config::ReferencePriceDeployment() const {
  for (const Tier& t : tiers)
    for (const Deployment& d : t.deployments)
      if (d.price && d.catalog == reference_model) return &d;
  return nullptr;
}

std::string Deployment::HealthCheckTarget() const {
  if (!health_check_path.empty()) return health_check_path;
  // The path of base_url exactly as upstream::ParseUrl takes it (after the authority, trailing
  // '/' removed), so the check goes where the provider's calls go.
  std::string_view rest = base_url;
  if (size_t scheme = rest.find("://"); scheme != std::string_view::npos)
    rest.remove_prefix(scheme + 3);
  size_t slash = rest.find('/');
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return std::string(path) + "/models";
}

const Tier& Config::DefaultTier() const {
  if (const Tier* t = default_tier.empty() ? nullptr : FindTier(default_tier)) return *t;
  return tiers.front();
}

}  // namespace triage::config
