#include "store/ledger_schema.h"

#include <gtest/gtest.h>

#include "ledger_test_util.h"

namespace triage::store {
namespace {

int64_t PragmaInt(SqliteDb& db, const char* sql) {
  auto st = db.Prepare(sql);
  if (!st.ok() || st->Step() != SQLITE_ROW) return -1;
  return st->Int(0);
}

// synchronous is a per-connection setting, so it is checked on the connection prepared.
TEST(LedgerSchema, SynchronousNormalByDefaultFullOnRequest) {
  testing::TempDir dir;
  auto normal = SqliteDb::Open(dir.File("n.db"), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  ASSERT_TRUE(normal.ok());
  ASSERT_TRUE(PrepareLedgerDb(*normal, "n", /*wal=*/true, /*synchronous_full=*/false).ok());
  EXPECT_EQ(PragmaInt(*normal, "PRAGMA synchronous"), 1);  // NORMAL
  EXPECT_GT(PragmaInt(*normal, "PRAGMA busy_timeout"), 0);

  auto full = SqliteDb::Open(dir.File("f.db"), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  ASSERT_TRUE(full.ok());
  ASSERT_TRUE(PrepareLedgerDb(*full, "f", /*wal=*/true, /*synchronous_full=*/true).ok());
  EXPECT_EQ(PragmaInt(*full, "PRAGMA synchronous"), 2);  // FULL
}

TEST(LedgerSchema, PreparingTwiceKeepsRows) {
  testing::TempDir dir;
  auto db = SqliteDb::Open(dir.File("l.db"), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(PrepareLedgerDb(*db, "l", true, false).ok());
  auto ins = db->Prepare(kInsertRowSql);
  ASSERT_TRUE(ins.ok());
  LedgerRow row = testing::MakeRow(7);
  BindRow(*ins, row);
  ASSERT_EQ(ins->Step(), SQLITE_DONE);
  ins->Reset();
  ASSERT_TRUE(PrepareLedgerDb(*db, "l", true, false).ok());
  auto sel = db->Prepare(kSelectRowsSql);
  ASSERT_TRUE(sel.ok());
  ASSERT_EQ(sel->Step(), SQLITE_ROW);
  EXPECT_TRUE(testing::SameRow(ReadRow(*sel), row));
  EXPECT_EQ(sel->Step(), SQLITE_DONE);
}

}  // namespace
}  // namespace triage::store
