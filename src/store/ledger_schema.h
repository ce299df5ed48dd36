#pragma once
// The SQLite shape of the ledger: pragmas, schema (version 3; a version-1 or -2 file is
// migrated in place when opened), and the mapping between LedgerRow and the `requests` table.
// Columns are named exactly like LedgerRow's fields; route_score is NULL when LedgerRow has -1.
#include <string>

#include "store/ledger.h"
#include "store/sqlite_db.h"

namespace triage::store {

inline constexpr int kLedgerSchemaVersion = 4;

// INSERT of one row; parameters in LedgerRow field order (BindRow fills them).
extern const char* const kInsertRowSql;
// All rows in insertion order, columns in LedgerRow field order (ReadRow reads them).
extern const char* const kSelectRowsSql;
// count, sum(cost_micros), sum(reference_cost_micros).
extern const char* const kTotalsSql;

// Sets busy_timeout, journal_mode=WAL (files only) and synchronous, then creates the schema
// or checks the version of an existing one. `name` is used in error messages.
// REQUIRES: `db` is the writer connection and no transaction is open.
Status PrepareLedgerDb(SqliteDb& db, const std::string& name, bool wal, bool synchronous_full);

// Binds `row` to an INSERT prepared from kInsertRowSql. `row` must outlive the step.
void BindRow(SqliteStmt& insert, const LedgerRow& row);
// Reads the current result row of a statement prepared from kSelectRowsSql.
LedgerRow ReadRow(const SqliteStmt& select);

}  // namespace triage::store
