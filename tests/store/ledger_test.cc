#include "store/ledger.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "ledger_test_util.h"
#include "store/sqlite_ledger.h"
#include "store/sqlite_url.h"

namespace triage::store {
namespace {

using testing::MakeRow;
using testing::SameRow;
using testing::TempDir;

// Appends and collects the callback's status (callbacks run on the writer thread).
struct Recorder {
  std::mutex mu;
  std::vector<Status> statuses;
  std::function<void(Status)> Callback() {
    return [this](Status s) {
      std::lock_guard lk(mu);
      statuses.push_back(std::move(s));
    };
  }
};

// Runs one SQL statement on a side connection (to forge files the ledger must refuse).
void RawExec(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << msg;
}

std::string Pragma(const std::string& path, const char* pragma) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, pragma, -1, &st, nullptr);
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW)
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

TEST(Ledger, RoundTripsEveryFieldInInsertionOrder) {
  TempDir dir;
  auto ledger = OpenLedger("sqlite://" + dir.File("l.db"));
  ASSERT_TRUE(ledger.ok()) << ledger.error().message;
  Recorder rec;
  // Ids sort differently from insertion order, so ordering by id would be caught.
  std::vector<int> order = {5, 1, 42, 3, 0, 17, 9};
  for (int n : order) (*ledger)->Append(MakeRow(n), rec.Callback());
  (*ledger)->Flush();
  ASSERT_EQ(rec.statuses.size(), order.size());
  for (const Status& s : rec.statuses) EXPECT_TRUE(s.ok());

  auto rows = (*ledger)->ReadAll();
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    EXPECT_TRUE(SameRow((*rows)[i], MakeRow(order[i]))) << "row " << i;
  }
}

TEST(Ledger, RoundTripsExtremeValues) {
  auto ledger = OpenLedger("sqlite::memory:");
  ASSERT_TRUE(ledger.ok());
  LedgerRow r = MakeRow(1);
  r.id = std::string("id-with-\0-nul-and-ünïcode", 26);
  r.cost_micros = INT64_MAX;
  r.reference_cost_micros = INT64_MIN;
  r.error_kind = "client_closed";
  r.price_known = false;
  r.stream = true;
  r.ttft_ms = -1;
  (*ledger)->Append(r, nullptr);  // a null callback is allowed
  (*ledger)->Flush();
  auto rows = (*ledger)->ReadAll();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_TRUE(SameRow((*rows)[0], r));
}

TEST(Ledger, FlushWaitsForCommitAndCallbacks) {
  TempDir dir;
  auto ledger = OpenLedger("sqlite://" + dir.File("l.db"));
  ASSERT_TRUE(ledger.ok());
  std::atomic<int> called{0};
  for (int i = 0; i < 1000; ++i) {
    (*ledger)->Append(MakeRow(i), [&](Status s) { called += s.ok(); });
  }
  (*ledger)->Flush();
  // Flush returned: every callback has run and every row is visible to a reader.
  EXPECT_EQ(called.load(), 1000);
  auto rows = (*ledger)->ReadAll();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 1000u);
  (*ledger)->Flush();  // nothing queued: returns at once
}

TEST(Ledger, FlushFromCallbackDoesNotDeadlock) {
  auto ledger = OpenLedger("sqlite::memory:");
  ASSERT_TRUE(ledger.ok());
  Ledger* l = ledger->get();
  std::atomic<bool> ran{false};
  l->Append(MakeRow(1), [&](Status) {
    l->Flush();
    ran = true;
  });
  l->Flush();
  EXPECT_TRUE(ran.load());
}

TEST(Ledger, DestructorCommitsEverythingQueued) {
  TempDir dir;
  std::string url = "sqlite://" + dir.File("l.db");
  std::atomic<int> ok{0};
  {
    auto ledger = OpenLedger(url);
    ASSERT_TRUE(ledger.ok());
    for (int i = 0; i < 3000; ++i) (*ledger)->Append(MakeRow(i), [&](Status s) { ok += s.ok(); });
  }  // no Flush: the destructor must drain
  EXPECT_EQ(ok.load(), 3000);
  auto reopened = OpenLedger(url);
  ASSERT_TRUE(reopened.ok());
  auto rows = (*reopened)->ReadAll();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 3000u);
}

TEST(Ledger, ReopensExistingFileAndAppendsAfterOldRows) {
  TempDir dir;
  std::string url = "sqlite://" + dir.File("l.db");
  {
    auto ledger = OpenLedger(url);
    ASSERT_TRUE(ledger.ok());
    for (int i = 0; i < 3; ++i) (*ledger)->Append(MakeRow(i), nullptr);
  }
  auto ledger = OpenLedger(url);
  ASSERT_TRUE(ledger.ok()) << ledger.error().message;
  (*ledger)->Append(MakeRow(3), nullptr);
  (*ledger)->Flush();
  auto rows = (*ledger)->ReadAll();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(SameRow((*rows)[i], MakeRow(i)));
}

TEST(Ledger, UsesWalMode) {
  TempDir dir;
  auto ledger = OpenLedger("sqlite://" + dir.File("n.db"));
  ASSERT_TRUE(ledger.ok());
  EXPECT_EQ(Pragma(dir.File("n.db"), "PRAGMA journal_mode"), "wal");
}

TEST(Ledger, CheckpointsTheWalInTheBackgroundNotOnTheCommitPath) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  auto opened = SqliteLedger::Open(*ParseSqliteUrl("sqlite://" + path));
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  SqliteLedger& ledger = **opened;
  const auto main_before = std::filesystem::file_size(path);
  // One commit per row grows the WAL past kCheckpointPages, which wakes the checkpointer.
  int n = 0;
  for (; n < 5000 && ledger.checkpoints() == 0; ++n) {
    ledger.Append(MakeRow(n), nullptr);
    ledger.Flush();
  }
  for (int i = 0; i < 200 && ledger.checkpoints() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_GE(ledger.checkpoints(), 1u) << n << " rows";
  // Checkpointed pages reached the main database file; nothing was lost.
  EXPECT_GT(std::filesystem::file_size(path), main_before);
  auto rows = ledger.ReadAll();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), static_cast<size_t>(n));
}

// The checkpointer runs once per kCheckpointPages pages added to the WAL, not after every commit
// once the WAL is that long. A WAL that does not start over stays long: under steady load (a
// checkpoint's fsyncs outlast the gap between commits, so it never catches up) and, as here,
// while a reader holds an old snapshot. Until 2026-12-06 every commit then woke the checkpointer,
// which ran back to back under load (bench/README.md, 2026-12-06 night).
TEST(Ledger, CheckpointsOncePerCheckpointPagesWhileTheWalStaysLong) {
  TempDir dir;
  const std::string path = dir.File("k.db");
  auto opened = SqliteLedger::Open(*ParseSqliteUrl("sqlite://" + path));
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  SqliteLedger& ledger = **opened;
  int n = 0;
  for (; n < 50; ++n) {
    ledger.Append(MakeRow(n), nullptr);
    ledger.Flush();
  }
  // A reader's open transaction pins the WAL (it can neither be checkpointed past its snapshot
  // nor start over), so from the first checkpoint on it only grows.
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM requests;", nullptr, nullptr, nullptr),
      SQLITE_OK);
  // One commit per row: each adds at least one page (the table's leaf) and at most a handful
  // (its two indexes, a split), so 3,000 rows add fewer than 8 * 3,000 pages.
  for (; n < 3050; ++n) {
    ledger.Append(MakeRow(n), nullptr);
    ledger.Flush();
  }
  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(reader);
  for (int i = 0; i < 200 && ledger.checkpoints() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const uint64_t bound = 8 * 3000 / SqliteLedger::kCheckpointPages + 1;
  EXPECT_GE(ledger.checkpoints(), 1u) << std::filesystem::file_size(path + "-wal");
  EXPECT_LE(ledger.checkpoints(), bound) << "checkpoints for at most " << 8 * 3000 << " pages";
  auto rows = ledger.ReadAll();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), static_cast<size_t>(n));
}

// Under steady load a PASSIVE checkpoint never catches up with the writer (commits go on during
// its fsyncs), so the WAL never started over and grew without bound: 300 MB in 5 s of wrk at 64
// connections, 3-9 KB per request. Once it holds kRestartPages pages after a checkpoint, the
// checkpointer now makes the next commit start it over (a RESTART checkpoint, which holds the
// writer back only while it copies the pages committed since the PASSIVE one).
TEST(Ledger, WalStartsOverUnderSteadyLoad) {
  TempDir dir;
  const std::string path = dir.File("r.db");
  auto opened = SqliteLedger::Open(*ParseSqliteUrl("sqlite://" + path));
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  SqliteLedger& ledger = **opened;
  // One commit per row, a little apart like requests (the writer is not busy all the time),
  // until at least four times kRestartPages pages were written (each commit adds one or more).
  const int rows = 4 * SqliteLedger::kRestartPages;
  std::atomic<int> failed{0};
  for (int n = 0; n < rows; ++n) {
    ledger.Append(MakeRow(n), [&failed](Status s) { failed += s.ok() ? 0 : 1; });
    ledger.Flush();
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GE(ledger.wal_restarts(), 1u);
  // Before each restart the checkpointer fsyncs the database file itself, with no lock held,
  // so that the restart (which the writer waits for) finds little left to sync.
  EXPECT_GE(ledger.database_syncs(), ledger.wal_restarts());
  // The WAL file is never truncated: its size is the longest the WAL was. Less than one page per
  // row (all rows wrote more than that), even when the checkpoint's fsyncs took long enough for
  // thousands of pages to be committed meanwhile (tens of milliseconds on a busy disk).
  const uintmax_t page_frame = 4096 + 24;
  EXPECT_LT(std::filesystem::file_size(path + "-wal"), page_frame * rows);
  auto all = ledger.ReadAll();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), static_cast<size_t>(rows));
}

TEST(Ledger, MemoryLedgerHasNoCheckpointer) {
  auto opened = SqliteLedger::Open(*ParseSqliteUrl("sqlite::memory:"));
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  for (int i = 0; i < 50; ++i) (*opened)->Append(MakeRow(i), nullptr);
  (*opened)->Flush();
  EXPECT_EQ((*opened)->checkpoints(), 0u);
  EXPECT_EQ((*opened)->wal_restarts(), 0u);
  EXPECT_EQ((*opened)->database_syncs(), 0u);
}

TEST(Ledger, SynchronousFullOptionOpensAndWrites) {
  TempDir dir;
  auto full = OpenLedger("sqlite://" + dir.File("f.db") + "?synchronous=full");
  ASSERT_TRUE(full.ok()) << full.error().message;
  (*full)->Append(MakeRow(1), nullptr);
  (*full)->Flush();
  auto rows = (*full)->ReadAll();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 1u);
}

TEST(Ledger, TotalsSumCommittedRows) {
  auto ledger = OpenLedger("sqlite::memory:");
  ASSERT_TRUE(ledger.ok());
  auto empty = (*ledger)->Totals();
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->requests, 0);
  EXPECT_EQ(empty->cost_micros, 0);
  int64_t cost = 0, ref = 0;
  for (int i = 0; i < 50; ++i) {
    LedgerRow r = MakeRow(i);
    cost += r.cost_micros;
    ref += r.reference_cost_micros;
    (*ledger)->Append(std::move(r), nullptr);
  }
  (*ledger)->Flush();
  auto t = (*ledger)->Totals();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->requests, 50);
  EXPECT_EQ(t->cost_micros, cost);
  EXPECT_EQ(t->reference_cost_micros, ref);
}

TEST(Ledger, MemoryModeIsPrivatePerLedger) {
  auto a = OpenLedger("sqlite::memory:");
  auto b = OpenLedger("sqlite::memory:");
  ASSERT_TRUE(a.ok() && b.ok());
  (*a)->Append(MakeRow(1), nullptr);
  (*a)->Append(MakeRow(2), nullptr);
  (*a)->Flush();
  (*b)->Flush();
  EXPECT_EQ((*a)->ReadAll()->size(), 2u);
  EXPECT_EQ((*b)->ReadAll()->size(), 0u);
}

TEST(Ledger, DuplicateIdFailsOnlyThatRow) {
  auto ledger = OpenLedger("sqlite::memory:");
  ASSERT_TRUE(ledger.ok());
  Recorder rec;
  (*ledger)->Append(MakeRow(1), rec.Callback());
  LedgerRow dup = MakeRow(2);
  dup.id = MakeRow(1).id;
  (*ledger)->Append(dup, rec.Callback());
  (*ledger)->Append(MakeRow(3), rec.Callback());
  (*ledger)->Flush();
  ASSERT_EQ(rec.statuses.size(), 3u);
  EXPECT_TRUE(rec.statuses[0].ok());
  ASSERT_FALSE(rec.statuses[1].ok());
  EXPECT_EQ(rec.statuses[1].error().code, "ledger_duplicate_id");
  EXPECT_NE(rec.statuses[1].error().message.find("req-1"), std::string::npos);
  EXPECT_TRUE(rec.statuses[2].ok());
  auto rows = (*ledger)->ReadAll();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_TRUE(SameRow((*rows)[0], MakeRow(1)));  // the first writer wins, unchanged
  EXPECT_TRUE(SameRow((*rows)[1], MakeRow(3)));
}

TEST(Ledger, BadUrlIsAnError) {
  auto r = OpenLedger("mysql://somewhere");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInternal);
  EXPECT_NE(r.error().message.find("mysql://somewhere"), std::string::npos);
}

TEST(Ledger, MissingParentDirectoryIsAnError) {
  TempDir dir;
  std::string path = dir.File("no/such/dir/l.db");
  auto r = OpenLedger("sqlite://" + path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInternal);
  EXPECT_NE(r.error().message.find(path), std::string::npos) << r.error().message;
}

TEST(Ledger, NotADatabaseIsAnError) {
  TempDir dir;
  std::string path = dir.File("junk.db");
  std::ofstream(path) << std::string(4096, 'x');
  auto r = OpenLedger("sqlite://" + path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(path), std::string::npos) << r.error().message;
}

TEST(Ledger, SchemaVersionMismatchIsAClearError) {
  TempDir dir;
  std::string path = dir.File("l.db");
  { ASSERT_TRUE(OpenLedger("sqlite://" + path).ok()); }
  RawExec(path, "UPDATE meta SET value = 99 WHERE key = 'schema_version'");
  auto r = OpenLedger("sqlite://" + path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ledger_schema_mismatch");
  EXPECT_NE(r.error().message.find("schema_version is 99"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(path), std::string::npos);
}

TEST(Ledger, ForeignRequestsTableIsRefused) {
  TempDir dir;
  std::string path = dir.File("other.db");
  RawExec(path, "CREATE TABLE requests (x INTEGER)");
  auto r = OpenLedger("sqlite://" + path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ledger_schema_mismatch");
}

TEST(Ledger, SchemaHasFieldNamedColumnsAndTsIndex) {
  TempDir dir;
  std::string path = dir.File("l.db");
  { ASSERT_TRUE(OpenLedger("sqlite://" + path).ok()); }
  EXPECT_EQ(Pragma(path, "SELECT group_concat(name, ',') FROM pragma_table_info('requests')"),
            "id,ts_ms,dialect,requested_model,tier,deployment,status,error_kind,input_tokens,"
            "output_tokens,cached_input_tokens,cost_micros,reference_cost_micros,price_known,"
            "stream,attempts,latency_ms,ttft_ms,route,route_score,usage_estimated,"
            "failed_input_tokens,failed_output_tokens,failed_cost_micros,web_search_requests");
  EXPECT_EQ(Pragma(path, "SELECT group_concat(name) FROM pragma_index_info('requests_ts_ms')"),
            "ts_ms");
  EXPECT_EQ(Pragma(path, "SELECT value FROM meta WHERE key = 'schema_version'"), "4");
}

// A ledger written by a version-1 build (no route columns) is migrated in place when opened:
// its rows stay, with route '' and route_score NULL, and new rows carry the routing decision.
TEST(Ledger, VersionOneFileIsMigrated) {
  TempDir dir;
  std::string path = dir.File("v1.db");
  RawExec(path, R"sql(
CREATE TABLE requests (
  id TEXT PRIMARY KEY NOT NULL, ts_ms INTEGER NOT NULL, dialect TEXT NOT NULL,
  requested_model TEXT NOT NULL, tier TEXT NOT NULL, deployment TEXT NOT NULL,
  status INTEGER NOT NULL, error_kind TEXT NOT NULL, input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL, cached_input_tokens INTEGER NOT NULL,
  cost_micros INTEGER NOT NULL, reference_cost_micros INTEGER NOT NULL,
  price_known INTEGER NOT NULL CHECK (price_known IN (0, 1)),
  stream INTEGER NOT NULL CHECK (stream IN (0, 1)), attempts INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL, ttft_ms INTEGER NOT NULL);
CREATE INDEX requests_ts_ms ON requests (ts_ms);
CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value);
INSERT INTO meta (key, value) VALUES ('schema_version', 1);
INSERT INTO requests VALUES ('old-1', 1, 'openai', 'auto', 'open', 'd', 200, '', 10, 20, 0,
  30, 300, 1, 0, 1, 5, -1);
)sql");
  {
    auto ledger = OpenLedger("sqlite://" + path);
    ASSERT_TRUE(ledger.ok()) << ledger.error().message;
    LedgerRow fresh = MakeRow(3);
    (*ledger)->Append(fresh, nullptr);
    (*ledger)->Flush();
    auto rows = (*ledger)->ReadAll();
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 2u);
    EXPECT_EQ((*rows)[0].id, "old-1");
    EXPECT_EQ((*rows)[0].cost_micros, 30);
    EXPECT_EQ((*rows)[0].route, "");
    EXPECT_EQ((*rows)[0].route_score, -1);
    EXPECT_TRUE(SameRow((*rows)[1], fresh));
  }
  EXPECT_EQ(Pragma(path, "SELECT value FROM meta WHERE key = 'schema_version'"), "4");
  EXPECT_EQ(Pragma(path, "SELECT count(*) FROM requests WHERE route_score IS NULL"), "1");
  // Opening again does not migrate twice.
  EXPECT_TRUE(OpenLedger("sqlite://" + path).ok());
}

// A version-2 file (before failed attempts' usage and the estimate flag) is migrated in place:
// its rows read with usage_estimated 0 and no failed-attempt part; new rows keep theirs.
TEST(Ledger, VersionTwoFileIsMigrated) {
  TempDir dir;
  std::string path = dir.File("v2.db");
  RawExec(path, R"sql(
CREATE TABLE requests (
  id TEXT PRIMARY KEY NOT NULL, ts_ms INTEGER NOT NULL, dialect TEXT NOT NULL,
  requested_model TEXT NOT NULL, tier TEXT NOT NULL, deployment TEXT NOT NULL,
  status INTEGER NOT NULL, error_kind TEXT NOT NULL, input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL, cached_input_tokens INTEGER NOT NULL,
  cost_micros INTEGER NOT NULL, reference_cost_micros INTEGER NOT NULL,
  price_known INTEGER NOT NULL CHECK (price_known IN (0, 1)),
  stream INTEGER NOT NULL CHECK (stream IN (0, 1)), attempts INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL, ttft_ms INTEGER NOT NULL, route TEXT NOT NULL DEFAULT '',
  route_score REAL);
CREATE INDEX requests_ts_ms ON requests (ts_ms);
CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value);
INSERT INTO meta (key, value) VALUES ('schema_version', 2);
INSERT INTO requests VALUES ('old-2', 1, 'openai', 'auto', 'open', 'd', 200, '', 10, 20, 0,
  30, 300, 1, 0, 1, 5, -1, 'learned score=0.20 → open', 0.2);
)sql");
  {
    auto ledger = OpenLedger("sqlite://" + path);
    ASSERT_TRUE(ledger.ok()) << ledger.error().message;
    LedgerRow fresh = MakeRow(9);  // has a failed-attempt part
    ASSERT_GT(fresh.failed_cost_micros, 0);
    (*ledger)->Append(fresh, nullptr);
    (*ledger)->Flush();
    auto rows = (*ledger)->ReadAll();
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 2u);
    EXPECT_EQ((*rows)[0].id, "old-2");
    EXPECT_EQ((*rows)[0].route_score, 0.2);
    EXPECT_FALSE((*rows)[0].usage_estimated);
    EXPECT_EQ((*rows)[0].failed_cost_micros, 0);
    EXPECT_EQ((*rows)[0].web_search_requests, 0);
    EXPECT_TRUE(SameRow((*rows)[1], fresh));
  }
  EXPECT_EQ(Pragma(path, "SELECT value FROM meta WHERE key = 'schema_version'"), "4");
  EXPECT_TRUE(OpenLedger("sqlite://" + path).ok());
}

// A ledger written by a version-3 build (no web_search_requests) is migrated in place: its rows
// keep 0 searches, new rows record theirs.
TEST(Ledger, MigratesVersion3InPlace) {
  TempDir dir;
  std::string path = dir.File("v3.db");
  RawExec(path, R"sql(
CREATE TABLE requests (
  id TEXT PRIMARY KEY NOT NULL, ts_ms INTEGER NOT NULL, dialect TEXT NOT NULL,
  requested_model TEXT NOT NULL, tier TEXT NOT NULL, deployment TEXT NOT NULL,
  status INTEGER NOT NULL, error_kind TEXT NOT NULL, input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL, cached_input_tokens INTEGER NOT NULL,
  cost_micros INTEGER NOT NULL, reference_cost_micros INTEGER NOT NULL,
  price_known INTEGER NOT NULL CHECK (price_known IN (0, 1)),
  stream INTEGER NOT NULL CHECK (stream IN (0, 1)), attempts INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL, ttft_ms INTEGER NOT NULL, route TEXT NOT NULL DEFAULT '',
  route_score REAL,
  usage_estimated INTEGER NOT NULL DEFAULT 0 CHECK (usage_estimated IN (0, 1)),
  failed_input_tokens INTEGER NOT NULL DEFAULT 0,
  failed_output_tokens INTEGER NOT NULL DEFAULT 0,
  failed_cost_micros INTEGER NOT NULL DEFAULT 0);
CREATE INDEX requests_ts_ms ON requests (ts_ms);
CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value);
INSERT INTO meta (key, value) VALUES ('schema_version', 3);
INSERT INTO requests VALUES ('old-3', 1, 'anthropic', 'auto', 'mid', 'd', 200, '', 10, 20, 0,
  30, 300, 1, 1, 1, 5, 3, 'pinned tier=mid', NULL, 1, 0, 0, 0);
)sql");
  {
    auto ledger = OpenLedger("sqlite://" + path);
    ASSERT_TRUE(ledger.ok()) << ledger.error().message;
    LedgerRow fresh = MakeRow(2);
    ASSERT_GT(fresh.web_search_requests, 0);
    (*ledger)->Append(fresh, nullptr);
    (*ledger)->Flush();
    auto rows = (*ledger)->ReadAll();
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 2u);
    EXPECT_EQ((*rows)[0].id, "old-3");
    EXPECT_TRUE((*rows)[0].usage_estimated);
    EXPECT_EQ((*rows)[0].web_search_requests, 0);
    EXPECT_TRUE(SameRow((*rows)[1], fresh));
  }
  EXPECT_EQ(Pragma(path, "SELECT value FROM meta WHERE key = 'schema_version'"), "4");
  EXPECT_TRUE(OpenLedger("sqlite://" + path).ok());
}

}  // namespace
}  // namespace triage::store
