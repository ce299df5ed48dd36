#pragma once
// `triage eval`, `triage train`, `triage calibrate`: offline router work on recorded outcomes.
// Callbacks set *exit_code: 0 ok, 1 runtime error (message on stderr), 2 usage.
#include <CLI/CLI.hpp>

namespace triage::cli {

// REQUIRES: exit_code outlives app.
void RegisterEvalCommands(CLI::App& app, int* exit_code);

}  // namespace triage::cli
