// Per-deployment request shaping: drop_params, extra_body, the output limit's name and cap.
#include "dialect/shape.h"

#include <algorithm>
#include <map>

namespace triage::dialect {

using json = nlohmann::json;

void AddDropped(std::vector<std::string>* dropped, std::string name) {
  if (!dropped) return;
  if (std::find(dropped->begin(), dropped->end(), name) == dropped->end())
    dropped->push_back(std::move(name));
}

namespace {

std::optional<int64_t> IntMember(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned() && it->get<uint64_t>() > uint64_t{INT64_MAX}) return INT64_MAX;
  return it->get<int64_t>();
}

// The output limit: renamed to the configured member, capped at max_output_tokens.
void PlanLimit(const json& body, const RequestShape& shape, Dialect upstream,
               std::map<std::string, ShapeEdit>& edits, std::vector<std::string>* dropped) {
  const std::optional<int64_t> cap = shape.max_output_tokens;
  auto clamp = [&](const char* from, const char* to, std::optional<int64_t> v) {
    if (!v) return;
    if (cap && *v > *cap) {
      v = cap;
      AddDropped(dropped, std::string(from) + " (clamped to " + std::to_string(*cap) + ")");
    } else if (std::string_view(from) == to) {
      return;  // unchanged
    }
    edits[to] = ShapeEdit{to, nullptr, v};
  };
  if (upstream == Dialect::kAnthropic || shape.limit_field == RequestShape::LimitField::kAsSent) {
    for (const char* k : {"max_completion_tokens", "max_tokens"}) clamp(k, k, IntMember(body, k));
    return;
  }
  const bool mct = shape.limit_field == RequestShape::LimitField::kMaxCompletionTokens;
  const char* to = mct ? "max_completion_tokens" : "max_tokens";
  const char* other = mct ? "max_tokens" : "max_completion_tokens";
  if (!body.contains(other)) {
    clamp(to, to, IntMember(body, to));
    return;
  }
  edits[other] = ShapeEdit{other, nullptr, std::nullopt};
  if (body.contains(to)) {
    // Both sent: the configured one is kept, the other cannot go.
    AddDropped(dropped, std::string(other) + " (deployment takes " + to + ")");
    clamp(to, to, IntMember(body, to));
  } else {
    clamp(other, to, IntMember(body, other));
  }
}

// What the gateway itself writes: never edited here, so the pass-through writer's keys stay
// distinct even for a shape the config did not validate.
bool GatewayOwned(std::string_view key) {
  return key == "model" || key == "messages" || key == "stream" || key == "stream_options";
}

}  // namespace

std::vector<ShapeEdit> PlanShape(const json& body, const RequestShape& shape, Dialect upstream,
                                 std::vector<std::string>* dropped) {
  std::map<std::string, ShapeEdit> edits;
  PlanLimit(body, shape, upstream, edits, dropped);
  for (const std::string& name : shape.drop_params) {
    if (GatewayOwned(name) || !body.contains(name)) continue;
    edits[name] = ShapeEdit{name, nullptr, std::nullopt};
    AddDropped(dropped, name + " (deployment drop_params)");
  }
  for (const auto& [key, value] : shape.extra_body.items()) {
    if (GatewayOwned(key)) continue;
    auto e = edits.find(key);
    const bool removed = e != edits.end() && e->second.removes();
    if (body.contains(key) && !removed) continue;  // the client's value wins
    edits[key] = ShapeEdit{key, &value, std::nullopt};
  }
  std::vector<ShapeEdit> out;
  out.reserve(edits.size());
  for (auto& [key, edit] : edits) out.push_back(std::move(edit));
  return out;
}

void ApplyShape(json& body, const RequestShape& shape, Dialect upstream,
                std::vector<std::string>* dropped) {
  for (const ShapeEdit& e : PlanShape(body, shape, upstream, dropped)) {
    if (e.value)
      body[e.key] = *e.value;
    else if (e.number)
      body[e.key] = *e.number;
    else
      body.erase(e.key);
  }
}

}  // namespace triage::dialect
