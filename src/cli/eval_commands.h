#pragma once
// `triage eval`, `triage train`, `triage calibrate`: offline router work on recorded outcomes.
// Callbacks set *exit_code: 0 ok, 1 runtime error (message on stderr), 2 usage.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <limits>
#include <string>

namespace triage::cli {

// REQUIRES: exit_code outlives app.
void RegisterEvalCommands(CLI::App& app, int* exit_code);

// A number option's check: a finite number in the interval, else "--FLAG: must be ..., got X"
// (exit 2); nan and inf are refused. `hi` = kNoBound: no upper bound.
inline constexpr double kNoBound = std::numeric_limits<double>::infinity();
CLI::Validator FiniteIn(double lo, double hi, bool lo_open, bool hi_open);

// A whole-number option's check: decimal digits only, in [lo, hi], else "--FLAG: must be a whole
// number in [lo, hi], got X" (exit 2). CLI11's own conversion reads 0x10 as 16 and 010 as octal
// 8; the value is handed on as plain decimal (so add it with ->transform, not ->check, which
// drops the change).
CLI::Validator WholeIn(long lo, long hi);

// The first ts_ms a `--since-hours H` window keeps at `now_ms`: now_ms - H hours, or INT64_MIN
// (every row) for no window (H <= 0) and for one reaching back before 1970, where H hours in
// milliseconds may not fit an int64 (`--since-hours 1e300`: converting it was undefined
// behaviour in calibrate --ledger).
int64_t WindowStartMs(double hours, int64_t now_ms);

// Flushes stdout; "" when everything printed there was written, else why not ("No space left on
// device"), for a `cannot write to stdout` error: a report lost behind `> out.json` on a full
// disk must not exit 0.
std::string StdoutError();

}  // namespace triage::cli
