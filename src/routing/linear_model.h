#pragma once
// A logistic model over routing features and its versioned file format:
//   "TRIAGERM" | u32 version=1 | u32 kind | u32 feature_dim | f32 bias | u32 nnz |
//   nnz x (u32 index, f32 weight) | u32 note_len | note bytes | u64 FNV-1a of all before.
// Little-endian. Immutable after load; thread-safe to share.
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "routing/features.h"

namespace triage::routing {

enum class ModelKind : uint32_t { kLearned = 1, kCascade = 2 };
inline constexpr uint32_t kModelVersion = 1;

struct LinearModel {
  ModelKind kind = ModelKind::kLearned;
  float bias = 0.0f;
  std::vector<float> weights = std::vector<float>(kFeatureDim, 0.0f);
  std::string note;  // free text: training data, date, CV figures

  // Raw linear score w.x + b.
  double Margin(const SparseVec& x) const;
  // Sigmoid of the margin, in [0,1].
  double Probability(const SparseVec& x) const;
};

std::string SerializeModel(const LinearModel& m);
// Errors name the file and the cause: bad magic, unsupported version, checksum mismatch...
Result<LinearModel> ParseModel(const std::string& bytes, const std::string& name);
Result<LinearModel> ReadModelFile(const std::string& path);
Status WriteModelFile(const LinearModel& m, const std::string& path);

}  // namespace triage::routing
