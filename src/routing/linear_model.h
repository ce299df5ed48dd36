#pragma once
// A logistic model over routing features, with one or two heads, and its versioned file format:
//   v4: "TRIAGERM" | u32 version=4 | u32 kind | u32 feature_dim | u32 heads | u32 feature_set |
//       heads x f32 bias | ... as v3 from there on.
//   v3 (still read, feature set 1): "TRIAGERM" | u32 version=3 | u32 kind | u32 feature_dim |
//       u32 heads | heads x f32 bias |
//       f32 length_prior | f32 length_chars | u32 nnz | nnz x (u32 index, heads x f32 weight) |
//       u32 note_len | note | u32 filter_hashes | u32 filter_count | u32 filter_bytes |
//       filter_bytes x u8 (the training prompts' Bloom filter) | u64 Fnv1a64 (features.h: FNV-1a
//       with a non-standard offset basis) of all preceding bytes.
//   v2 (still read): v3 without the filter fields.
//   v1 (still read): no heads field, one bias, (u32 index, f32 weight) pairs.
// Little-endian. Immutable after load; thread-safe to share.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "routing/features.h"

namespace triage::routing {

enum class ModelKind : uint32_t { kLearned = 1, kCascade = 2 };
inline constexpr uint32_t kModelVersion = 4;
inline constexpr uint32_t kMaxHeads = 2;

// The identity of a prompt for PromptFilter: Fnv1a64 (features.h) of its text (the messages' text
// joined by newlines, as the outcomes reader builds it).
uint64_t PromptFingerprint(std::string_view prompt_text);

// A Bloom filter of the prompts a model was trained on (about 10 bits and 7 probes per prompt,
// ~1% false matches), so that `triage eval` and `calibrate` can say when they are scoring the
// model's own training queries: such figures are in-sample, not what new traffic will see.
struct PromptFilter {
  uint32_t hashes = 0;  // probes per prompt; 0 with no bits = no record (files before v3)
  uint32_t count = 0;   // prompts added
  std::vector<uint8_t> bits;

  static PromptFilter Build(const std::vector<uint64_t>& fingerprints);
  bool empty() const { return bits.empty(); }
  // True for every prompt added; for others true with a probability of about 1%.
  bool MayContain(uint64_t fingerprint) const;
};

// heads == 1: P(strong needed) = sigmoid(w.x + b).
// heads == 2: head 0 predicts P(strong model correct), head 1 P(cheap model correct); the score
// is the expected gain of the strong model mapped to [0,1]: (P0 - P1 + 1) / 2.
struct LinearModel {
  ModelKind kind = ModelKind::kLearned;
  uint32_t heads = 1;
  // The features the weights were trained on; the scorers extract exactly these.
  FeatureSet features = kCurrentFeatureSet;
  std::array<float, kMaxHeads> bias{};
  std::vector<float> weights = std::vector<float>(kFeatureDim, 0.0f);  // [index * heads + head]
  // Score() blends in a prompt-length prior: (1 - w) * Probability + w * n / (n + length_chars)
  // for a prompt of n chars. Length is the difficulty signal that transfers best between
  // benchmarks (docs/routing.md); w = 0 turns the prior off.
  float length_prior = 0.0f;
  float length_chars = 250.0f;
  std::string note;         // free text: training data, date, CV figures
  PromptFilter trained_on;  // empty for models written before version 3

  // Resizes to n heads with zero weights. REQUIRES: 1 <= n <= kMaxHeads.
  void SetHeads(uint32_t n);
  float& Weight(uint32_t index, uint32_t head) { return weights[index * heads + head]; }
  // Raw linear score w.x + b of one head.
  double Margin(const SparseVec& x, uint32_t head = 0) const;
  // The heads' score in [0,1] (see above).
  double Probability(const SparseVec& x) const;
  // Probability with the length prior blended in: what a router decides on, in [0,1].
  double Score(const SparseVec& x, size_t prompt_chars) const;
  // Every bias and weight of the heads is a finite number (a diverged training gives NaN or
  // infinities; ParseModel refuses such a file).
  bool AllFinite() const;
};

// Two single-head models (strong-correct, cheap-correct) as one two-head model.
LinearModel CombineHeads(const LinearModel& strong, const LinearModel& cheap);

std::string SerializeModel(const LinearModel& m);
// Errors name the file and the cause: bad magic, unsupported version, checksum mismatch...
Result<LinearModel> ParseModel(const std::string& bytes, const std::string& name);
Result<LinearModel> ReadModelFile(const std::string& path);
// Atomically (WriteFileAtomically): on failure an existing file at `path` is left as it was.
Status WriteModelFile(const LinearModel& m, const std::string& path);

}  // namespace triage::routing
