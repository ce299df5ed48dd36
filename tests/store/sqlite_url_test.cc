#include "store/sqlite_url.h"

#include <gtest/gtest.h>

namespace triage::store {
namespace {

TEST(SqliteUrl, RelativeAndAbsolutePaths) {
  auto rel = ParseSqliteUrl("sqlite://triage.db");
  ASSERT_TRUE(rel.ok());
  EXPECT_EQ(rel->path, "triage.db");
  EXPECT_FALSE(rel->memory);
  EXPECT_FALSE(rel->synchronous_full);

  auto abs = ParseSqliteUrl("sqlite:///var/lib/triage/ledger.db");
  ASSERT_TRUE(abs.ok());
  EXPECT_EQ(abs->path, "/var/lib/triage/ledger.db");
}

TEST(SqliteUrl, Memory) {
  auto m = ParseSqliteUrl("sqlite::memory:");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->memory);
  EXPECT_TRUE(m->path.empty());
}

TEST(SqliteUrl, SynchronousOption) {
  auto full = ParseSqliteUrl("sqlite://a.db?synchronous=full");
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->path, "a.db");
  EXPECT_TRUE(full->synchronous_full);
  auto normal = ParseSqliteUrl("sqlite://a.db?synchronous=normal");
  ASSERT_TRUE(normal.ok());
  EXPECT_FALSE(normal->synchronous_full);
}

// A database URL with a password (someone trying PostgreSQL) is named without it.
TEST(SqliteUrl, ABadUrlsPasswordIsNotEchoed) {
  auto r = ParseSqliteUrl("postgres://triage:hunter2pw@db.internal/triage");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("'postgres://[redacted]@db.internal/triage'"), std::string::npos)
      << r.error().message;
}

TEST(SqliteUrl, RejectsBadUrlsNamingTheUrl) {
  for (const char* bad :
       {"", "postgres://x", "sqlite:/x.db", "sqlite://", "sqlite://?synchronous=full",
        "sqlite://dir/", "sqlite://a.db?synchronous=off", "sqlite://a.db?mode=ro",
        "sqlite::memory:x", "sqlite:memory"}) {
    auto r = ParseSqliteUrl(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::kInternal) << bad;
    EXPECT_EQ(r.error().code, "ledger_bad_url") << bad;
    EXPECT_NE(r.error().message.find("'" + std::string(bad) + "'"), std::string::npos)
        << r.error().message;
  }
}

}  // namespace
}  // namespace triage::store
