#pragma once
// SQLite implementation of Ledger: one writer thread with its own connection does group
// commit; ReadAll/Totals use a second connection. Thread-safe (all public methods).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "store/ledger.h"
#include "store/sqlite_db.h"
#include "store/sqlite_url.h"

namespace triage::store {

class SqliteLedger final : public Ledger {
 public:
  // Rows written per transaction at most; the rest wait for the next commit.
  static constexpr size_t kMaxBatch = 512;
  // File ledgers: each time this many pages were added to the WAL (since it started over or
  // since the last wake), a background thread checkpoints it (PASSIVE) on its own connection, so
  // no request's commit waits for a checkpoint's fsync (but for a WAL restart's, below).
  static constexpr int kCheckpointPages = 1000;
  // File ledgers: once the WAL holds this many pages after a checkpoint, the checkpointer makes
  // the next commit start it over (a RESTART checkpoint). Steady load never leaves a PASSIVE
  // checkpoint time to catch up, so without this the WAL grew without bound.
  static constexpr int kRestartPages = 4 * kCheckpointPages;

  // Opens both connections, prepares the schema and starts the writer thread.
  static Result<std::unique_ptr<SqliteLedger>> Open(const SqliteTarget& target);
  // Close()s the ledger if it was not closed (the rows still unwritten are then lost).
  // REQUIRES: no concurrent Append (callers stop appending before destroying the ledger).
  ~SqliteLedger() override;
  // Commits everything queued, runs its callbacks, tries the kept rows once more, joins the
  // writer and the checkpointer, and returns the rows it could not write. Waits for a lock
  // another process holds at most kCloseLockWait from the call (or not at all after
  // StopWaiting), so that a lock held open cannot hold the exit.
  std::vector<LedgerRow> Close() override;
  static constexpr std::chrono::milliseconds kCloseLockWait{1000};
  void StopWaiting() override;

  void Append(LedgerRow row, std::function<void(Status)> done) override;
  // Blocks until every row appended before the call is committed and its callback has run.
  // Called from a done callback (the writer thread) it returns at once instead of deadlocking.
  void Flush() override;
  Result<std::vector<LedgerRow>> ReadAll() override;
  Result<LedgerTotals> Totals() override;

  // Number of transactions committed so far (observability and group-commit tests).
  uint64_t commits() const;
  // Number of background WAL checkpoints completed so far (0 for memory ledgers).
  uint64_t checkpoints() const override;
  // Number of RESTART checkpoints (the WAL past kRestartPages) completed so far.
  uint64_t wal_restarts() const override;
  // Number of fsyncs of the database file the checkpointer made before a RESTART checkpoint.
  uint64_t database_syncs() const;
  // A row whose commit failed as a whole (ledger_write_failed: a write lock held past the
  // retries, a full disk, an I/O error) is kept, up to this many, and written again every
  // kRetryUnwritten until it commits (written_late) or the ledger is destroyed.
  static constexpr size_t kMaxUnwritten = 100000;
  static constexpr std::chrono::milliseconds kRetryUnwritten{1000};
  uint64_t written_late() const override;

 private:
  struct Pending {
    LedgerRow row;
    std::function<void(Status)> done;
  };

  SqliteLedger(SqliteDb writer, SqliteStmt insert, SqliteStmt begin, SqliteStmt commit,
               SqliteDb reader, std::optional<SqliteDb> checkpointer);
  void WriterLoop();
  // Writer thread: tries once to commit up to kMaxBatch kept rows; drops them from unwritten_
  // when committed.
  void RetryUnwritten();
  void CheckpointLoop();
  // Checkpointer thread: a RESTART checkpoint, so that the next commit starts the WAL over.
  // Never waits inside SQLite; retried briefly while the writer is mid-commit.
  void RestartWal();
  // Checkpointer thread, before RestartWal: fsyncs the database file, so that the pages the
  // PASSIVE checkpoints copied are on disk before the RESTART checkpoint (which holds the writer
  // back) has to sync them.
  void SyncDatabaseFile();
  // The writer connection's busy handler: waits like busy_timeout (5 s), but gives up at once
  // once give_up_at_ has passed.
  static int OnBusy(void* self, int count);
  // Moves give_up_at_ to `t` if that is earlier.
  void GiveUpWaitingAt(std::chrono::steady_clock::time_point t);
  bool GaveUpWaiting() const;
  // sqlite3_wal_hook callback (writer thread, after each commit).
  static int OnWalCommit(void* self, sqlite3* db, const char* schema, int pages);
  // Writes `batch` in one transaction; fills `results` (one per row). Retries on SQLITE_BUSY.
  void WriteBatch(std::span<const Pending> batch, std::vector<Status>& results);
  // One attempt; returns the sqlite code of a batch-wide failure (SQLITE_OK on commit).
  int TryWriteBatch(std::span<const Pending> batch, std::vector<Status>& results);
  static int StepOnce(SqliteStmt& stmt);

  SqliteDb writer_db_;  // writer thread only
  SqliteStmt insert_;   // writer thread only
  SqliteStmt begin_;    // writer thread only: BEGIN IMMEDIATE
  SqliteStmt commit_;   // writer thread only: COMMIT
  std::mutex read_mu_;
  SqliteDb reader_db_;  // guarded by read_mu_

  mutable std::mutex mu_;
  // The writer sleeps on a futex, not on a condition variable: glibc's pthread_cond_wait takes
  // the mutex back marked as contended, so the writer's next unlock of mu_ cost a FUTEX_WAKE that
  // woke nobody, once per commit. It sets writer_asleep_ (under mu_) and writer_wake_ to 0 before
  // it sleeps; whoever finds writer_asleep_ set, under mu_, clears it and wakes it (WakeWriter).
  bool writer_asleep_ = false;            // guarded by mu_
  std::atomic<uint32_t> writer_wake_{0};  // the futex word: 1 once woken
  void WakeWriter();
  // Writer thread: sleeps until WakeWriter() or, when given, `timeout` passed.
  void SleepUntilWoken(std::optional<std::chrono::milliseconds> timeout);
  std::condition_variable batch_done_;
  std::vector<Pending> queue_;  // guarded by mu_
  uint64_t appended_ = 0;       // guarded by mu_: rows ever queued
  uint64_t finished_ = 0;       // guarded by mu_: rows whose callback has run
  uint64_t commits_ = 0;        // guarded by mu_
  bool stop_ = false;           // guarded by mu_
  // Writer thread only while it runs: rows kept after a failed commit. After it stopped: the
  // rows it could not write, for Close().
  std::vector<Pending> unwritten_;
  bool closed_ = false;  // Close() ran; the caller's thread only (Close is not concurrent)
  std::atomic<uint64_t> written_late_{0};
  // steady_clock ticks after which no write waits for a lock or retries (max: never).
  std::atomic<std::chrono::steady_clock::rep> give_up_at_{
      std::chrono::steady_clock::time_point::max().time_since_epoch().count()};

  std::optional<SqliteDb> checkpoint_db_;  // checkpoint thread only; nullopt for memory
  std::mutex ckpt_mu_;
  std::condition_variable wake_checkpointer_;
  bool ckpt_wanted_ = false;  // guarded by ckpt_mu_
  bool ckpt_stop_ = false;    // guarded by ckpt_mu_
  int ckpt_woken_at_ = 0;     // writer thread only (OnWalCommit): the WAL's length at the last wake
  std::atomic<uint64_t> checkpoints_{0};
  std::atomic<uint64_t> wal_restarts_{0};
  std::atomic<uint64_t> database_syncs_{0};
  std::atomic<bool> restarting_{false};  // a RESTART checkpoint holds (or takes) the write lock
  int restart_polls_ = 0;                // writer thread only (OnBusy): polls of this wait
  std::thread checkpointer_;
  std::thread writer_;  // started last, after every member above exists
};

}  // namespace triage::store
