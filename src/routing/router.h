#pragma once
// Per-request routing: a Scorer turns a request into the probability that the strong model is
// needed; ChooseTier maps that score onto tiers with ascending thresholds.
// Thread safety: every scorer is immutable after construction and safe to share.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace triage::routing {

struct RouteInput {
  std::string_view prompt_text;     // all message text joined by "\n"
  std::string_view last_user_text;  // text of the last user message with text
  std::string_view prev_user_text;  // text of the user message with text before it (or empty)
  int message_count = 0;
  // System instructions: how many of message_count they are, and their bytes in prompt_text
  // (dialect::ChatRequest). Feature set 2 leaves them out of the length and turn features: an
  // application's fixed system prompt says nothing about how hard one request is.
  int system_messages = 0;
  size_t system_bytes = 0;
  bool has_tools = false, has_image = false;
};

// Thread-safe, immutable after load.
class Scorer {
 public:
  virtual ~Scorer() = default;
  // [0,1]: probability the strong model is needed.
  virtual double Score(const RouteInput& in) const = 0;
  virtual std::string Describe() const = 0;
};

// SPEC: "random[:seed]", "length", "rules:FILE", "learned:MODEL_FILE", "learned:builtin" (the
// shipped models/learned-v4.model compiled in; ./builtin names a file of that name),
// "cascade:MODEL_FILE".
// A spec taken apart and checked without reading any file. seed: random's (0 without one).
struct RouterSpec {
  std::string kind, arg;
  uint64_t seed = 0;
};
// An unknown kind, a bad or out-of-range seed, an argument to length, or no file after
// rules:/learned:/cascade: -> Error with code "bad_router_spec" (a usage error).
Result<RouterSpec> ParseRouterSpec(const std::string& spec);

// ParseRouterSpec's errors, or a file the spec names that cannot be read, is corrupt or is the
// wrong kind of model (other codes: not a usage error) -> Error with a message naming the cause.
Result<std::shared_ptr<const Scorer>> MakeScorer(const std::string& spec);

// Index of the tier for a score: the number of thresholds <= score.
// REQUIRES: thresholds ascending, size tiers-1.
size_t ChooseTier(double score, const std::vector<double>& thresholds);

// `score` with as few decimals (2 or more) as keep it on the right side of every threshold
// when both are printed with them: "0.58" when that is unambiguous, "0.576" against a
// threshold of 0.5827 (printed "0.583"), so a route header never reads "score=0.58 → open"
// for a threshold it would also print as 0.58, nor "score=0.310000" against 0.31 for a score
// 3e-7 below it ("0.3099997"). Print the thresholds with the same digits. Returns 2 to 17, or
// kShortestDigits when even 17 decimals would not tell them apart.
constexpr int kShortestDigits = -1;
int ScoreDigits(double score, const std::vector<double>& thresholds);
// `value` with `digits` decimals; kShortestDigits: the shortest decimal that reads back as
// exactly `value` (std::to_chars).
std::string FormatScore(double value, int digits);

// Scores a cheap model's answer. Thread-safe, immutable after load.
class AnswerScorer {
 public:
  virtual ~AnswerScorer() = default;
  // Higher = the cheap answer is good enough; in [0,1].
  virtual double ScoreAnswer(const RouteInput& in, std::string_view answer) const = 0;
};
// Loads a cascade model file (see docs/routing.md for the format).
Result<std::shared_ptr<const AnswerScorer>> LoadAnswerScorer(const std::string& model_file);

// The model behind a learned:FILE, learned:builtin or cascade:FILE spec (for what the file
// records about its training, e.g. LinearModel::trained_on); nullopt for the untrained
// routers (random, length, rules). Errors as MakeScorer's.
struct LinearModel;  // routing/linear_model.h (which includes this header)
Result<std::optional<LinearModel>> ModelOfSpec(const std::string& spec);

}  // namespace triage::routing
