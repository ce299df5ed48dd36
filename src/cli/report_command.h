#pragma once
// `triage report --ledger sqlite://PATH [--since-hours H] [--json]`: what the ledger says was
// spent and saved, per tier and overall, with requests whose price is unknown kept out of the
// saving (store/ledger_report.h). Read-only; fine while a gateway writes the ledger.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "store/ledger_report.h"

namespace triage::cli {

// The report as text (several lines) and as one JSON object (keys: docs/ledger.md). `url` is
// the ledger's URL as given; `since_hours` 0 means every row.
std::string ReportText(const store::LedgerReport& r, const std::string& url, double since_hours);
nlohmann::json ReportJson(const store::LedgerReport& r, const std::string& url, double since_hours);

// Adds `report`. Its callback sets *exit_code: 0 (also for a ledger with no rows), 1 for a
// missing file, a file that is not a triage ledger, a bad URL or a failed read; usage errors
// (--since-hours not > 0, nan, inf) exit 2 through CLI11. REQUIRES: exit_code outlives app.
void RegisterReportCommand(CLI::App& app, int* exit_code);

}  // namespace triage::cli
