#pragma once
// Opening a ledger file for a tool that only reads it (`triage calibrate --ledger`, `triage
// report`): read-only, so it never writes the ledger nor creates a database file, and safe while
// a gateway is writing the same file (WAL readers see the last committed snapshot).
#include <string>

#include "common/result.h"
#include "store/sqlite_db.h"

namespace triage::store {

struct LedgerFile {
  SqliteDb db;
  std::string path;  // the file, as the URL names it
  int version = 0;   // its schema_version, in [min_version, kLedgerSchemaVersion]
};

// Opens the ledger at `url` (sqlite://PATH only) read-only. `what` names what the caller reads,
// for the version error ("route scores need ledger schema version 2 to 3"). Errors: a URL that is
// not sqlite://PATH (ledger_bad_url) or is in-memory (ledger_not_file), a missing file
// (ledger_not_found), a file that is not a triage ledger or whose version is outside
// [min_version, kLedgerSchemaVersion] (ledger_schema_mismatch); each message names the file.
Result<LedgerFile> OpenLedgerForReading(const std::string& url, int min_version,
                                        const std::string& what);

}  // namespace triage::store
