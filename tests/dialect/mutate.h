#pragma once
// Byte mutations for the differential tests of the simdjson readers: one to three bytes
// replaced, inserted or removed, drawn from JSON's punctuation and literals plus a backslash
// and an invalid UTF-8 byte.
#include <random>
#include <string>

namespace triage::dialect::test_util {

inline std::string Mutate(std::string p, std::mt19937_64& rng) {
  static const std::string kAlphabet = "{}[]\",:0123456789.eE-+ntrufalsx\\\xff";
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    const size_t at = p.empty() ? 0 : rng() % p.size();
    const char c = kAlphabet[rng() % kAlphabet.size()];
    switch (rng() % 3) {
      case 0:
        if (!p.empty()) p[at] = c;
        break;
      case 1:
        p.insert(p.begin() + static_cast<std::ptrdiff_t>(at), c);
        break;
      default:
        if (!p.empty()) p.erase(at, 1);
        break;
    }
  }
  return p;
}

}  // namespace triage::dialect::test_util
