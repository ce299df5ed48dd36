// libFuzzer target: the router model file parser (routing/linear_model.h), versions 1 to 4.
// The input gets its correct checksum (Fnv1a64) appended, so the fuzzer explores the fields
// behind the checksum check. A file that parses must serialize and parse back to the same
// model (the current version), and score in [0,1] (NaN and infinite numbers are refused).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "routing/features.h"
#include "routing/linear_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  const uint64_t sum = triage::routing::Fnv1a64(bytes);
  bytes.append(reinterpret_cast<const char*>(&sum), sizeof sum);
  auto m = triage::routing::ParseModel(bytes, "fuzz");
  if (!m) return 0;
  auto back = triage::routing::ParseModel(triage::routing::SerializeModel(*m), "again");
  if (!back || back->heads != m->heads || back->kind != m->kind || back->features != m->features ||
      back->note != m->note || back->trained_on.bits != m->trained_on.bits ||
      back->length_prior != m->length_prior)
    std::abort();
  // Weights round-trip except those SerializeModel drops as zero (|w| <= 1e-6).
  for (size_t i = 0; i < m->weights.size(); ++i) {
    const float a = m->weights[i], b = back->weights[i];
    if (std::memcmp(&a, &b, sizeof a) != 0 && !(b == 0.0f && !(a > 1e-6f || a < -1e-6f)))
      std::abort();
  }
  triage::routing::SparseVec x = {{0, 1.0f}, {7, 0.5f}, {triage::routing::kFeatureDim - 1, 2.0f}};
  // The parser refuses NaN and infinite numbers, so every model it accepts scores in [0,1].
  const double s = m->Score(x, 1000);
  if (!(s >= 0.0 && s <= 1.0)) std::abort();
  (void)m->trained_on.MayContain(sum);
  return 0;
}
