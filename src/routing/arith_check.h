#pragma once
// Checks the arithmetic a model wrote in its answer ("3 x 60 = 180", "<<3*60=180>>"):
// a cheap signal that a chain-of-thought answer went wrong. Pure; thread-safe.
#include <string_view>

namespace triage::routing {

struct ArithStats {
  int checked = 0;  // equations with an operator on the left and a number on the right
  int wrong = 0;    // of those, relative error > 1e-4
};

// Scans at most max_chars of text.
ArithStats CheckArithmetic(std::string_view text, size_t max_chars = 16384);

}  // namespace triage::routing
