#pragma once
// Per-deployment request shaping (config: tiers[i].deployments[j].request): the members one
// deployment's upstream body must lose, gain or have renamed or capped. Pure data, built once
// per provider and shared read-only by all threads. Rules: docs/config.md#request-shaping.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dialect/types.h"

namespace triage::dialect {

struct RequestShape {
  // Which member carries an OpenAI upstream's output limit.
  enum class LimitField { kAsSent, kMaxTokens, kMaxCompletionTokens };

  // Top-level members removed from the upstream body (each reported as
  // "NAME (deployment drop_params)" when the body had it).
  std::vector<std::string> drop_params;
  // Members added to the top level of the upstream body when it has none of that name (the
  // client's own value wins; list the name in drop_params too to replace it).
  nlohmann::json extra_body = nlohmann::json::object();
  // kAsSent: the names the client (or the translation) used. Otherwise the output limit is
  // sent under that name only (OpenAI upstreams).
  LimitField limit_field = LimitField::kAsSent;
  // A larger output limit is lowered to this, reported "NAME (clamped to N)".
  std::optional<int64_t> max_output_tokens;
};

// One change to a top-level member of an upstream body.
struct ShapeEdit {
  std::string key;
  const nlohmann::json* value = nullptr;  // set to this (an extra_body value) ...
  std::optional<int64_t> number;          // ... or to this (an output limit); neither: removed
  bool removes() const { return value == nullptr && !number; }
};

// Appends `name` to `dropped` (when given) unless it is there already: every parameter a
// translation or a deployment's shape did not send is named once in x-triage-dropped-params.
void AddDropped(std::vector<std::string>* dropped, std::string name);

// The edits `shape` makes to `body` (an object in the `upstream` dialect, translated or passed
// through), sorted by key, one per key; appends what is lost to `dropped` (may be null). Never
// touches `model`, `messages`, `stream` or `stream_options` (the config refuses them; here they
// are ignored).
std::vector<ShapeEdit> PlanShape(const nlohmann::json& body, const RequestShape& shape,
                                 Dialect upstream, std::vector<std::string>* dropped);

// The same edits applied to a tree: the reference of the pass-through writer.
void ApplyShape(nlohmann::json& body, const RequestShape& shape, Dialect upstream,
                std::vector<std::string>* dropped);

}  // namespace triage::dialect
