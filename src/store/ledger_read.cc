#include "store/ledger_read.h"

#include <filesystem>

#include "store/ledger_schema.h"
#include "store/sqlite_url.h"

namespace triage::store {

Result<LedgerFile> OpenLedgerForReading(const std::string& url, int min_version,
                                        const std::string& what) {
  auto target = ParseSqliteUrl(url);
  if (!target) return target.error();
  if (target->memory)
    return Error::Make(ErrorKind::kInvalidRequest, "ledger_not_file",
                       "an in-memory ledger (" + url + ") cannot be read by another process");
  // SQLITE_OPEN_READONLY never creates the file; the check gives the clearer message.
  if (!std::filesystem::exists(target->path))
    return Error::Make(ErrorKind::kNotFound, "ledger_not_found", "no ledger file " + target->path);
  // SQLite says "disk I/O error" of a directory.
  std::error_code ec;
  if (std::filesystem::is_directory(target->path, ec))
    return Error::Make(ErrorKind::kInvalidRequest, "ledger_not_file",
                       target->path + " is a directory, not a ledger file");
  auto db = SqliteDb::Open(target->path, SQLITE_OPEN_READONLY);
  if (!db) return db.error();
  sqlite3_busy_timeout(db->get(), 5000);
  auto version = db->Prepare("SELECT value FROM meta WHERE key = 'schema_version'");
  if (!version)
    return Error::Make(
        ErrorKind::kInvalidRequest, "ledger_schema_mismatch",
        target->path + " is not a triage ledger (" + sqlite3_errmsg(db->get()) + ")");
  const int found = version->Step() == SQLITE_ROW ? static_cast<int>(version->Int(0)) : 0;
  // A later version adds columns, never removes: every version from min_version on has them.
  if (found < min_version || found > kLedgerSchemaVersion)
    return Error::Make(ErrorKind::kInvalidRequest, "ledger_schema_mismatch",
                       target->path + ": " + what + " need ledger schema version " +
                           std::to_string(min_version) + " to " +
                           std::to_string(kLedgerSchemaVersion) +
                           (min_version > 1 ? " (serve migrates an older file when it opens it)"
                                            : ", this file says " + std::to_string(found)));
  LedgerFile out{std::move(*db), target->path, found};
  return out;
}

}  // namespace triage::store
