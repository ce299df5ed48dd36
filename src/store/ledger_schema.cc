#include "store/ledger_schema.h"

namespace triage::store {

const char* const kInsertRowSql =
    "INSERT INTO requests (id, ts_ms, dialect, requested_model, tier, deployment, status, "
    "error_kind, input_tokens, output_tokens, cached_input_tokens, cost_micros, "
    "reference_cost_micros, price_known, stream, attempts, latency_ms, ttft_ms, route, "
    "route_score, usage_estimated, failed_input_tokens, failed_output_tokens, failed_cost_micros, "
    "web_search_requests) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, "
    "?20, ?21, ?22, ?23, ?24, ?25)";

const char* const kSelectRowsSql =
    "SELECT id, ts_ms, dialect, requested_model, tier, deployment, status, error_kind, "
    "input_tokens, output_tokens, cached_input_tokens, cost_micros, reference_cost_micros, "
    "price_known, stream, attempts, latency_ms, ttft_ms, route, route_score, usage_estimated, "
    "failed_input_tokens, failed_output_tokens, failed_cost_micros, web_search_requests FROM "
    "requests ORDER BY rowid";

const char* const kTotalsSql =
    "SELECT count(*), coalesce(sum(cost_micros), 0), coalesce(sum(reference_cost_micros), 0) "
    "FROM requests";

namespace {

// rowid stays implicit (no WITHOUT ROWID) because it gives insertion order for ReadAll.
constexpr const char* kCreateSql = R"sql(
CREATE TABLE requests (
  id TEXT PRIMARY KEY NOT NULL,
  ts_ms INTEGER NOT NULL,
  dialect TEXT NOT NULL,
  requested_model TEXT NOT NULL,
  tier TEXT NOT NULL,
  deployment TEXT NOT NULL,
  status INTEGER NOT NULL,
  error_kind TEXT NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cached_input_tokens INTEGER NOT NULL,
  cost_micros INTEGER NOT NULL,
  reference_cost_micros INTEGER NOT NULL,
  price_known INTEGER NOT NULL CHECK (price_known IN (0, 1)),
  stream INTEGER NOT NULL CHECK (stream IN (0, 1)),
  attempts INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL,
  ttft_ms INTEGER NOT NULL,
  route TEXT NOT NULL DEFAULT '',
  route_score REAL,
  usage_estimated INTEGER NOT NULL DEFAULT 0 CHECK (usage_estimated IN (0, 1)),
  failed_input_tokens INTEGER NOT NULL DEFAULT 0,
  failed_output_tokens INTEGER NOT NULL DEFAULT 0,
  failed_cost_micros INTEGER NOT NULL DEFAULT 0,
  web_search_requests INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX requests_ts_ms ON requests (ts_ms);
CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value);
INSERT INTO meta (key, value) VALUES ('schema_version', 4);
)sql";

// Version 1 -> 2: the routing decision (x-triage-route and the router's score). Rows written
// by version 1 keep route '' and route_score NULL.
constexpr const char* kMigrate1To2Sql = R"sql(
ALTER TABLE requests ADD COLUMN route TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN route_score REAL;
UPDATE meta SET value = 2 WHERE key = 'schema_version';
)sql";

// Version 2 -> 3: whether the row's usage is partly estimated, and the part of its tokens and
// cost that failed attempts reported. Rows written before keep 0 in all four (before version
// 3 a failed attempt's usage was not counted at all, and estimates were not flagged).
constexpr const char* kMigrate2To3Sql = R"sql(
ALTER TABLE requests ADD COLUMN usage_estimated INTEGER NOT NULL DEFAULT 0
  CHECK (usage_estimated IN (0, 1));
ALTER TABLE requests ADD COLUMN failed_input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN failed_output_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN failed_cost_micros INTEGER NOT NULL DEFAULT 0;
UPDATE meta SET value = 3 WHERE key = 'schema_version';
)sql";

// Version 3 -> 4: the web searches upstreams ran for the request (billed per search when the
// deployment's price has web_search_per_1k). Rows written before keep 0.
constexpr const char* kMigrate3To4Sql = R"sql(
ALTER TABLE requests ADD COLUMN web_search_requests INTEGER NOT NULL DEFAULT 0;
UPDATE meta SET value = 4 WHERE key = 'schema_version';
)sql";

Error SchemaError(const std::string& problem) {
  return Error::Make(ErrorKind::kInternal, "ledger_schema_mismatch", problem);
}

// Inside an open transaction: creates the schema on an empty database, or checks the version.
Status CreateOrCheck(SqliteDb& db) {
  auto tables = db.Prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('meta', 'requests')");
  if (!tables.ok()) return tables.error();
  bool has_meta = false, has_requests = false;
  int rc;
  while ((rc = tables->Step()) == SQLITE_ROW) {
    std::string t = tables->Text(0);
    has_meta |= t == "meta";
    has_requests |= t == "requests";
  }
  if (rc != SQLITE_DONE) return db.Fail("ledger_open_failed", "reading the schema");
  if (!has_meta) {
    if (has_requests) return SchemaError("has a 'requests' table but no 'meta' table");
    return db.Exec(kCreateSql);
  }
  auto version = db.Prepare("SELECT value FROM meta WHERE key = 'schema_version'");
  if (!version.ok()) return version.error();
  rc = version->Step();
  if (rc == SQLITE_DONE) return SchemaError("meta table has no schema_version");
  if (rc != SQLITE_ROW) return db.Fail("ledger_open_failed", "reading schema_version");
  std::string found = version->Text(0);
  if (!has_requests) return SchemaError("meta table present but 'requests' table missing");
  // Each older version climbs one step at a time: 1 -> 2 -> 3 -> 4.
  const char* const steps[] = {kMigrate1To2Sql, kMigrate2To3Sql, kMigrate3To4Sql};
  for (int from = 1; from < kLedgerSchemaVersion; ++from) {
    if (found != std::to_string(from)) continue;
    for (int i = from - 1; i < kLedgerSchemaVersion - 1; ++i)
      if (Status s = db.Exec(steps[i]); !s.ok()) return s;
    return Ok{};
  }
  if (found != std::to_string(kLedgerSchemaVersion)) {
    return SchemaError("schema_version is " + found + ", this build reads version " +
                       std::to_string(kLedgerSchemaVersion));
  }
  return Ok{};
}

Status Prepare(SqliteDb& db, bool wal, bool synchronous_full) {
  // Readers and a second process wait instead of failing at once; the writer retries on top.
  sqlite3_busy_timeout(db.get(), 5000);
  if (wal) {
    auto mode = db.Prepare("PRAGMA journal_mode=WAL");
    if (!mode.ok()) return mode.error();
    if (mode->Step() != SQLITE_ROW) return db.Fail("ledger_open_failed", "setting WAL mode");
    if (mode->Text(0) != "wal") {
      return Error::Make(ErrorKind::kInternal, "ledger_open_failed",
                         "journal_mode stayed '" + mode->Text(0) + "' instead of 'wal'");
    }
  }
  Status s = db.Exec(synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  if (!s.ok()) return s;
  s = db.Exec("BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  s = CreateOrCheck(db);
  if (!s.ok()) {
    (void)db.Exec("ROLLBACK");
    return s;
  }
  return db.Exec("COMMIT");
}

}  // namespace

Status PrepareLedgerDb(SqliteDb& db, const std::string& name, bool wal, bool synchronous_full) {
  Status s = Prepare(db, wal, synchronous_full);
  if (!s.ok()) s.error().message = "ledger '" + name + "': " + s.error().message;
  return s;
}

void BindRow(SqliteStmt& st, const LedgerRow& r) {
  st.Bind(1, r.id);
  st.Bind(2, r.ts_ms);
  st.Bind(3, r.dialect);
  st.Bind(4, r.requested_model);
  st.Bind(5, r.tier);
  st.Bind(6, r.deployment);
  st.Bind(7, int64_t{r.status});
  st.Bind(8, r.error_kind);
  st.Bind(9, r.input_tokens);
  st.Bind(10, r.output_tokens);
  st.Bind(11, r.cached_input_tokens);
  st.Bind(12, r.cost_micros);
  st.Bind(13, r.reference_cost_micros);
  st.Bind(14, int64_t{r.price_known ? 1 : 0});
  st.Bind(15, int64_t{r.stream ? 1 : 0});
  st.Bind(16, int64_t{r.attempts});
  st.Bind(17, r.latency_ms);
  st.Bind(18, r.ttft_ms);
  st.Bind(19, r.route);
  if (r.route_score >= 0) {
    st.Bind(20, r.route_score);
  } else {
    st.BindNull(20);
  }
  st.Bind(21, int64_t{r.usage_estimated ? 1 : 0});
  st.Bind(22, r.failed_input_tokens);
  st.Bind(23, r.failed_output_tokens);
  st.Bind(24, r.failed_cost_micros);
  st.Bind(25, r.web_search_requests);
}

LedgerRow ReadRow(const SqliteStmt& st) {
  LedgerRow r;
  r.id = st.Text(0);
  r.ts_ms = st.Int(1);
  r.dialect = st.Text(2);
  r.requested_model = st.Text(3);
  r.tier = st.Text(4);
  r.deployment = st.Text(5);
  r.status = static_cast<int>(st.Int(6));
  r.error_kind = st.Text(7);
  r.input_tokens = st.Int(8);
  r.output_tokens = st.Int(9);
  r.cached_input_tokens = st.Int(10);
  r.cost_micros = st.Int(11);
  r.reference_cost_micros = st.Int(12);
  r.price_known = st.Int(13) != 0;
  r.stream = st.Int(14) != 0;
  r.attempts = static_cast<int>(st.Int(15));
  r.latency_ms = st.Int(16);
  r.ttft_ms = st.Int(17);
  r.route = st.Text(18);
  r.route_score = st.IsNull(19) ? -1 : st.Double(19);
  r.usage_estimated = st.Int(20) != 0;
  r.failed_input_tokens = st.Int(21);
  r.failed_output_tokens = st.Int(22);
  r.failed_cost_micros = st.Int(23);
  r.web_search_requests = st.Int(24);
  return r;
}

}  // namespace triage::store
