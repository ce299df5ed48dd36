#pragma once
// Helpers of the differential tests of the simdjson readers: the fixture files to read
// payloads from, and byte mutations.
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace triage::dialect::test_util {

// The files of tests/fixtures/dialect/SUBDIR.
inline std::vector<std::filesystem::path> FixtureFiles(const char* subdir) {
  std::vector<std::filesystem::path> out;
  const auto dir = std::filesystem::path(TRIAGE_SOURCE_DIR) / "tests/fixtures/dialect" / subdir;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) out.push_back(entry.path());
  return out;
}

// The `data:` payloads of every SSE transcript in tests/fixtures/dialect/streams.
inline std::vector<std::string> FixtureSsePayloads() {
  std::vector<std::string> out;
  for (const auto& path : FixtureFiles("streams")) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("data:", 0) == 0) out.push_back(line.substr(line[5] == ' ' ? 6 : 5));
  }
  return out;
}

// One to three bytes replaced, inserted or removed, drawn from JSON's punctuation and
// literals plus a backslash and an invalid UTF-8 byte.
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
