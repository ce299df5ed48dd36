#include "store/route_scores.h"

#include <filesystem>

#include "store/ledger_schema.h"
#include "store/sqlite_db.h"
#include "store/sqlite_url.h"

namespace triage::store {

Result<std::vector<RouteScore>> ReadRouteScores(const std::string& url, int64_t since_ms) {
  auto target = ParseSqliteUrl(url);
  if (!target) return target.error();
  if (target->memory)
    return Error::Make(ErrorKind::kInvalidRequest, "ledger_not_file",
                       "an in-memory ledger (" + url + ") cannot be read by another process");
  if (!std::filesystem::exists(target->path))
    return Error::Make(ErrorKind::kNotFound, "ledger_not_found", "no ledger file " + target->path);
  auto db = SqliteDb::Open(target->path, SQLITE_OPEN_READONLY);
  if (!db) return db.error();
  sqlite3_busy_timeout(db->get(), 5000);
  auto version = db->Prepare("SELECT value FROM meta WHERE key = 'schema_version'");
  if (!version)
    return Error::Make(ErrorKind::kInvalidRequest, "ledger_schema_mismatch",
                       target->path + " is not a triage ledger (no meta table)");
  // The route columns exist from version 2 on; a later version adds columns, never removes.
  if (version->Step() != SQLITE_ROW || version->Int(0) < 2 ||
      version->Int(0) > kLedgerSchemaVersion)
    return Error::Make(ErrorKind::kInvalidRequest, "ledger_schema_mismatch",
                       target->path + ": route scores need ledger schema version 2 to " +
                           std::to_string(kLedgerSchemaVersion) +
                           " (serve migrates a version-1 file when it opens it)");
  auto select = db->Prepare(
      "SELECT route, route_score FROM requests WHERE route_score IS NOT NULL AND ts_ms >= ? "
      "ORDER BY rowid");
  if (!select) return select.error();
  select->Bind(1, since_ms);
  std::vector<RouteScore> out;
  int rc;
  while ((rc = select->Step()) == SQLITE_ROW) {
    RouteScore r;
    r.kind = select->Text(0);
    r.kind = r.kind.substr(0, r.kind.find(' '));
    r.score = select->Double(1);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return db->Fail("ledger_read_failed", "reading route scores");
  return out;
}

}  // namespace triage::store
