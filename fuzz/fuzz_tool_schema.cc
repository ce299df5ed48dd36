// libFuzzer target: the cascade's check of tool-call arguments against a JSON Schema, with the
// schema and the arguments both hostile: [schema, arguments] as one JSON array. Must neither
// crash, loop, nor overflow the stack (self-referencing $refs, deep nesting, branching).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pipeline/tool_schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = nlohmann::json::parse(std::string_view(reinterpret_cast<const char*>(data), size),
                                 nullptr, false);
  if (j.is_discarded() || !j.is_array() || j.size() != 2) return 0;
  (void)triage::pipeline::NestedDeeperThan(j, 10000);
  (void)triage::pipeline::CheckArguments(j[0], j[1]);
  return 0;
}
