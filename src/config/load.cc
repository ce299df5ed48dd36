// LoadFile / LoadString: YAML text -> validated, immutable Config. yaml-cpp exceptions stop at
// this boundary; every other problem is collected in a Diag and reported together.
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "config/parse.h"

namespace triage::config {
namespace {

using internal::Child;
using internal::Diag;
using internal::GetString;
using internal::Has;
using internal::Index;

Error ConfigError(std::string message) {
  return Error::Make(ErrorKind::kInvalidRequest, "invalid_config", std::move(message));
}

void ParseTiers(const YAML::Node& root, Diag& diag, Config& c) {
  if (!Has(root, "tiers")) {
    diag.Add("tiers", "required (at least one tier, cheapest first)");
    return;
  }
  const YAML::Node tiers = root["tiers"];
  if (!tiers.IsSequence() || tiers.size() == 0) {
    diag.Add("tiers", "expected a non-empty list of tiers");
    return;
  }
  for (size_t i = 0; i < tiers.size(); ++i) {
    const std::string path = Index("tiers", i);
    Tier tier;
    if (!internal::CheckMap(tiers[i], path, {"name", "deployments", "hedge"}, diag)) continue;
    if (!GetString(tiers[i], "name", path, diag, &tier.name) && !Has(tiers[i], "name")) {
      diag.Add(Child(path, "name"), "required");
    } else if (tier.name == "auto") {
      diag.Add(Child(path, "name"), "'auto' is reserved (model \"auto\" asks the router)");
    } else if (tier.name == "none") {
      diag.Add(Child(path, "name"),
               "'none' is reserved (/metrics counts requests that reached no tier under "
               "tier=\"none\"; x-triage-tier says none)");
    } else if (std::string why = internal::TierOrDeploymentNameProblem(tier.name); !why.empty()) {
      diag.Add(Child(path, "name"), why);
    }
    const YAML::Node deps = tiers[i]["deployments"];
    const std::string dpath = Child(path, "deployments");
    if (!Has(tiers[i], "deployments")) {
      diag.Add(dpath, "required (at least one deployment)");
    } else if (!deps.IsSequence() || deps.size() == 0) {
      diag.Add(dpath, "expected a non-empty list of deployments");
    } else {
      for (size_t j = 0; j < deps.size(); ++j) {
        Deployment d = internal::ParseDeployment(deps[j], Index(dpath, j), diag);
        d.tier = tier.name;
        tier.deployments.push_back(std::move(d));
      }
    }
    internal::ParseTierHedge(tiers[i], path, diag, tier);
    c.tiers.push_back(std::move(tier));
  }
}

// Names are how clients pin a tier or deployment, so each must mean exactly one thing.
void CheckNames(const Config& c, Diag& diag) {
  std::set<std::string> tier_names, deployment_names;
  for (size_t i = 0; i < c.tiers.size(); ++i) {
    const std::string& name = c.tiers[i].name;
    if (!name.empty() && !tier_names.insert(name).second) {
      diag.Add(Child(Index("tiers", i), "name"), "duplicate tier name '" + name + "'");
    }
  }
  for (size_t i = 0; i < c.tiers.size(); ++i) {
    for (size_t j = 0; j < c.tiers[i].deployments.size(); ++j) {
      const std::string& name = c.tiers[i].deployments[j].name;
      const std::string path = Index(Child(Index("tiers", i), "deployments"), j) + ".name";
      if (name.empty()) continue;
      if (!deployment_names.insert(name).second) {
        diag.Add(path, "duplicate deployment name '" + name + "'");
      } else if (tier_names.count(name)) {
        diag.Add(path, "deployment name '" + name + "' is also a tier name");
      }
    }
  }
}

void ParseTop(const YAML::Node& root, Diag& diag, Config& c) {
  if (std::string listen; GetString(root, "listen", "", diag, &listen)) {
    auto hp = ParseHostPort(listen, "listen");
    if (hp.ok()) {
      std::tie(c.listen_host, c.listen_port) = *hp;
    } else {
      diag.Add("", hp.error().message);
    }
  }
  if (GetString(root, "reference_model", "", diag, &c.reference_model)) {
    const catalog::ModelInfo* m = catalog::Find(c.reference_model);
    if (!m || !m->price) {
      std::string priced;
      for (const catalog::ModelInfo& info : catalog::Builtin()) {
        if (info.price) priced += (priced.empty() ? "" : ", ") + info.id;
      }
      diag.Add("reference_model", "'" + c.reference_model +
                                      "' is not a catalog model with a known price (expected " +
                                      priced + ")");
    }
  }
  if (GetString(root, "log_level", "", diag, &c.log_level)) {
    if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" &&
        c.log_level != "error") {
      diag.Add("log_level", "expected debug, info, warn or error, got '" + c.log_level + "'");
    }
  }
}
}  // namespace

Result<std::shared_ptr<const Config>> LoadString(const std::string& yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return ConfigError("YAML syntax error at line " + std::to_string(e.mark.line + 1) +
                       ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (!root.IsDefined() || root.IsNull()) return ConfigError("config is empty");
  auto config = std::make_shared<Config>();
  Diag diag;
  try {
    if (!internal::CheckMap(
            root, "",
            {"listen", "reference_model", "tiers", "storage", "routing", "limits", "server",
             "log_level", "retry", "breaker", "spillover", "health_checks"},
            diag)) {
      return ConfigError(diag.Joined());
    }
    ParseTop(root, diag, *config);
    ParseTiers(root, diag, *config);
    CheckNames(*config, diag);
    internal::ParseStorage(root, diag, *config);
    internal::ParseRouting(root, diag, *config);
    internal::ParseLimitsAndServer(root, diag, *config);
    internal::ParseResilience(root, diag, *config);
    internal::CheckRouting(*config, diag);
    internal::CheckResilience(*config, diag);
  } catch (const YAML::Exception& e) {
    // Readers check types first, so this is a bug in them; still a value, not a crash.
    diag.Add("", std::string("unexpected YAML error: ") + e.what());
  }
  if (!diag.empty()) return ConfigError(diag.Joined());
  return std::shared_ptr<const Config>(std::move(config));
}

Result<std::shared_ptr<const Config>> LoadFile(const std::string& path) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  std::ifstream in(path, std::ios::binary);
  const int open_errno = errno;
  if (ec || !std::filesystem::is_regular_file(status) || !in) {
    // Why, as the system says it: a typo, a directory and a permission are fixed differently.
    const std::string why = ec                                      ? ec.message()
                            : std::filesystem::is_directory(status) ? "Is a directory"
                            : !std::filesystem::is_regular_file(status)
                                ? "not a regular file"
                                : std::generic_category().message(open_errno);
    return Error::Make(ErrorKind::kNotFound, "config_not_found",
                       "cannot read config file '" + path + "': " + why);
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto result = LoadString(text.str());
  if (!result.ok()) {
    std::string& m = result.error().message;
    m = path + (m.find('\n') == std::string::npos ? ": " : ":\n") + m;
  }
  return result;
}

}  // namespace triage::config
