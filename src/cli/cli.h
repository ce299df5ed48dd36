#pragma once
// The `triage` command line: serve, demo, check, eval, train, calibrate, report.

namespace triage::cli {

// Parses argv and runs the subcommand. Returns the process exit code
// (0 ok, 1 runtime failure, 2 usage or configuration error).
int Main(int argc, char** argv);

}  // namespace triage::cli
