// libFuzzer target: the routing features (routing/features.h) of arbitrary requests and answers,
// in every feature set. Every index must fall inside the feature space and every value be
// finite; the system prompt must come off prompt_text exactly (dialect::AppendPromptText), set
// 2's prompt length never exceed set 1's, and set 3's follow-up window be the head-and-tail
// window of the joined text.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dialect/types.h"
#include "routing/features.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace triage::routing;
  if (size < 3) return 0;
  // The first three bytes cut the rest into a system prompt, a user message and an answer, and
  // pick the flags.
  const std::string_view s(reinterpret_cast<const char*>(data) + 3, size - 3);
  const size_t a = data[0] * s.size() / 256;
  const size_t b = a + data[1] * (s.size() - a) / 256;
  const std::string_view system = s.substr(0, a), user = s.substr(a, b - a), answer = s.substr(b);
  std::string prompt;
  size_t system_bytes = 0;
  triage::dialect::AppendPromptText(&prompt, &system_bytes, system, true);
  triage::dialect::AppendPromptText(&prompt, &system_bytes, user, false);
  if (std::string_view(prompt).substr(system_bytes) != user) std::abort();
  RouteInput in;
  in.prompt_text = prompt;
  in.last_user_text = data[2] & 1 ? user : std::string_view();
  in.message_count = 2;
  in.system_messages = 1;
  in.system_bytes = system_bytes;
  in.has_tools = data[2] & 2;
  in.has_image = data[2] & 4;
  // The answer doubles as an earlier user message (set 3 reads it with a short follow-up).
  if (data[2] & 8) in.prev_user_text = answer;
  std::string buf, joined_buf;
  if (FollowUpWindow(in.prev_user_text, user, &buf) !=
      HeadTailWindow(std::string(in.prev_user_text) + "\n" + std::string(user), &joined_buf))
    std::abort();
  for (FeatureSet set : {FeatureSet::kHead, FeatureSet::kHeadTail, FeatureSet::kConversation}) {
    SparseVec x;
    ExtractCascadeFeatures(in, answer, &x, set);
    for (const auto& [i, v] : x)
      if (i >= kFeatureDim || !std::isfinite(v)) std::abort();
  }
  if (PromptChars(in, FeatureSet::kHeadTail) > PromptChars(in, FeatureSet::kHead)) std::abort();
  return 0;
}
