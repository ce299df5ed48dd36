#include "store/route_scores.h"

#include "store/ledger_read.h"

namespace triage::store {

Result<std::vector<RouteScore>> ReadRouteScores(const std::string& url, int64_t since_ms) {
  // The route columns exist from version 2 on.
  auto file = OpenLedgerForReading(url, 2, "route scores");
  if (!file) return file.error();
  SqliteDb& db = file->db;
  auto select = db.Prepare(
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
  if (rc != SQLITE_DONE) return db.Fail("ledger_read_failed", "reading route scores");
  return out;
}

}  // namespace triage::store
