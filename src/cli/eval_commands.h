#pragma once
// `triage eval`, `triage train`, `triage calibrate`: offline router work on recorded outcomes.
// Callbacks set *exit_code: 0 ok, 1 runtime error (message on stderr), 2 usage.
#include <CLI/CLI.hpp>
#include <limits>

namespace triage::cli {

// REQUIRES: exit_code outlives app.
void RegisterEvalCommands(CLI::App& app, int* exit_code);

// A number option's check: a finite number in the interval, else "--FLAG: must be ..., got X"
// (exit 2); nan and inf are refused. `hi` = kNoBound: no upper bound.
inline constexpr double kNoBound = std::numeric_limits<double>::infinity();
CLI::Validator FiniteIn(double lo, double hi, bool lo_open, bool hi_open);

}  // namespace triage::cli
