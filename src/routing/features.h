#pragma once
// Feature extraction shared by the learned and cascade scorers (and by eval/ training):
// hashed word uni/bigrams and char trigrams plus dense structural difficulty features.
// Pure functions; thread-safe. Cost is bounded: text beyond kWindowChars is not scanned.
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "routing/router.h"

namespace triage::routing {

inline constexpr uint32_t kHashBits = 16;
inline constexpr uint32_t kHashDim = 1u << kHashBits;
inline constexpr uint32_t kDenseCount = 48;  // dense slots after the hashed ones
inline constexpr uint32_t kFeatureDim = kHashDim + kDenseCount;
inline constexpr size_t kWindowChars = 1536;

// Which part of a long prompt the text features read. Stored in every model file (version 4
// and later) because a model only scores well on the features it was trained with.
enum class FeatureSet : uint32_t {
  // The first kWindowChars chars; char trigrams over the first 768. Model files before version 4.
  kHead = 1,
  // Prompts up to kWindowChars chars: as kHead. Longer ones: the first kHeadChars chars and the
  // last kWindowChars - kHeadChars (few-shot prompts, documents and long contexts put the question
  // at the end); char trigrams over the last 768 chars. System instructions are left out of the
  // prompt length (a feature and the length prior) and of the turn count.
  kHeadTail = 2,
  // As kHeadTail, and a last user message shorter than kFollowUpChars that follows another user
  // message ("Are you sure?", "Now do it for n = 5") is read together with that message, as
  // "PREVIOUS\nLAST" (the head-and-tail window of that text when it is longer than kWindowChars):
  // a follow-up is as hard as the question it follows up.
  kConversation = 3,
};
inline constexpr FeatureSet kCurrentFeatureSet = FeatureSet::kConversation;
inline constexpr uint32_t kMaxFeatureSet = 3;
inline constexpr size_t kHeadChars = 256;
inline constexpr size_t kFollowUpChars = 128;

// Sparse vector: (index, value) pairs; indices may repeat (they add up).
using SparseVec = std::vector<std::pair<uint32_t, float>>;

// What feature set 2 and rules files read of a text: all of it up to kWindowChars chars, else its
// first kHeadChars chars, "\n" and its last kWindowChars - kHeadChars (in *buf).
std::string_view HeadTailWindow(std::string_view text, std::string* buf);

// What feature set 3 reads of a follow-up: HeadTailWindow(prev + "\n" + last), without copying
// more of prev than the window takes (in *buf).
std::string_view FollowUpWindow(std::string_view prev, std::string_view last, std::string* buf);

// The prompt length, in bytes, that a model of this feature set reads (the dense length feature
// and LinearModel::Score's length prior): all of prompt_text for set 1, without the system
// instructions for set 2.
size_t PromptChars(const RouteInput& in, FeatureSet set);

// Request features. Appends to *out.
// text_ngrams=false keeps only the dense structural features (the cascade uses that).
void ExtractPromptFeatures(const RouteInput& in, SparseVec* out, bool text_ngrams = true,
                           FeatureSet set = kCurrentFeatureSet);
// Cheap-answer features for the cascade (different hash namespace, dense slots 24..47).
void ExtractAnswerFeatures(const RouteInput& in, std::string_view answer, SparseVec* out,
                           bool text_ngrams = true);

// Everything the cascade model sees: prompt structure plus the cheap answer.
void ExtractCascadeFeatures(const RouteInput& in, std::string_view answer, SparseVec* out,
                            FeatureSet set = kCurrentFeatureSet);

// FNV-1a's loop over bytes (64-bit FNV prime 1099511628211) from offset basis
// 1469598103934665603, which is NOT the standard FNV-1a-64 basis 14695981039346656037: a
// standard FNV-1a-64 gives other values. Model file checksums, prompt fingerprints (the
// shipped models' training filters), CV folds and random routing depend on this constant.
uint64_t Fnv1a64(std::string_view bytes, uint64_t seed = 1469598103934665603ull);

}  // namespace triage::routing
