// The built-in catalog: PRODUCT.md's model table. A figure PRODUCT.md does not state as a
// number ("long", "self-hosted", a price range) stays nullopt so nobody mistakes a guess for
// a fact; operators override prices per deployment in the config.
#include "catalog/catalog.h"

namespace triage::catalog {
namespace {

constexpr int64_t k128K = 131072;
constexpr int64_t k200K = 200000;
constexpr int64_t k256K = 262144;
constexpr int64_t k1M = 1048576;

Price UsdPerMtok(int64_t input_micros, int64_t output_micros) {
  return Price{input_micros, output_micros, std::nullopt};
}

std::vector<ModelInfo> MakeBuiltin() {
  const std::vector<std::string> tia = {"text", "image", "audio"};
  const std::vector<std::string> ti = {"text", "image"};
  const std::vector<std::string> t = {"text"};
  return {
      {"gemma-4-e2b", "open, dense, edge", "Apache-2.0", k128K, tia, std::nullopt, true,
       "context 128K+; self-hosted (price: operator sets); phones, Pi, Jetson"},
      {"gemma-4-e4b", "open, dense, edge", "Apache-2.0", k128K, tia, std::nullopt, true,
       "context 128K+; self-hosted (price: operator sets); phones, Pi, Jetson"},
      {"gemma-4-26b-a4b", "open, MoE (4B active)", "Apache-2.0", k256K, ti,
       UsdPerMtok(200'000, 200'000), true, "~0.20/0.20 amortised; single GPU"},
      {"gemma-4-31b", "open, dense", "Apache-2.0", k256K, ti, UsdPerMtok(200'000, 200'000), true,
       "~0.20/0.20 amortised (range 0.10-0.50); AIME 89.2, GPQA 84.3, MMLU-Pro 85.2, "
       "Arena 1452"},
      {"qwen-3.6-35b-a3b", "open, MoE", "Apache-2.0", std::nullopt, t, std::nullopt, true,
       "context: long; self-hosted (price: operator sets); single-GPU practicality"},
      {"deepseek-v4", "open, MoE", "MIT", k1M, t, std::nullopt, true,
       "price ~0.30-1.00 per Mtok (a range, so left unknown); coding at scale; 8xA100 minimum"},
      {"glm-5.1", "open", "MIT", std::nullopt, t, std::nullopt, true,
       "context: long; self-hosted / API (price: operator sets); SWE-bench Pro 58.4"},
      {"kimi-k2.6", "open", "MIT-style", std::nullopt, t, std::nullopt, true,
       "context: long; self-hosted / API (price: operator sets)"},
      {"claude-sonnet-4.6", "closed API", "commercial", k200K, ti,
       UsdPerMtok(3'000'000, 15'000'000), false, "the mid tier"},
      {"claude-opus-4.7", "closed API", "commercial", k200K, ti, UsdPerMtok(5'000'000, 25'000'000),
       false, "frontier: production coding, review; 1M context in beta"},
      {"gpt-5.5", "closed API", "commercial", k256K, ti, UsdPerMtok(5'000'000, 30'000'000), false,
       "frontier: agentic work"},
  };
}

}  // namespace

const std::vector<ModelInfo>& Builtin() {
  static const std::vector<ModelInfo> models = MakeBuiltin();
  return models;
}

const ModelInfo* Find(std::string_view id) {
  for (const ModelInfo& m : Builtin()) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

}  // namespace triage::catalog
