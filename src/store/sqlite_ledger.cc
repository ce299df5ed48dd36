#include "store/sqlite_ledger.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <utility>

#include "store/ledger_schema.h"

namespace triage::store {
namespace {

// Batch-wide failures are retried this many times when SQLite reports contention
// (another process holding the write lock beyond busy_timeout).
constexpr int kWriteAttempts = 4;
// How long one attempt waits for a lock (the busy_timeout of the other connections).
constexpr std::chrono::milliseconds kBusyWait{5000};
// SQLite's own busy_timeout schedule (sqliteDefaultBusyCallback): short sleeps first, then
// 100 ms; a give-up is therefore noticed within 100 ms.
constexpr int kBusyDelaysMs[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};

bool IsContention(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

// The memdb VFS lets a second connection in this process open the same in-memory database, so
// memory mode keeps the separate read connection. A unique name keeps ledgers apart.
std::string MemoryName() {
  static std::atomic<uint64_t> counter{0};
  return "file:/triage-ledger-" + std::to_string(getpid()) + "-" + std::to_string(++counter) +
         "?vfs=memdb";
}

// A RESTART checkpoint and the ledger's writer wait for each other's write lock with polls this
// far apart: the writer at most kRestartPolls times (then as for any other lock holder), the
// checkpoint at most kRestartLockPolls times.
constexpr std::chrono::microseconds kRestartPoll{50};
constexpr int kRestartPolls = 2000;
constexpr int kRestartLockPolls = 40;

struct BatchFailure {
  int rc = SQLITE_OK;
  std::string message;
};

}  // namespace

Result<std::unique_ptr<SqliteLedger>> SqliteLedger::Open(const SqliteTarget& target) {
  std::string filename = target.memory ? MemoryName() : target.path;
  std::string name = target.memory ? "sqlite::memory:" : target.path;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | (target.memory ? SQLITE_OPEN_URI : 0);
  auto writer = SqliteDb::Open(filename, flags);
  if (!writer.ok()) return writer.error();
  Status s = PrepareLedgerDb(*writer, name, !target.memory, target.synchronous_full);
  if (!s.ok()) return s.error();
  auto insert = writer->Prepare(kInsertRowSql);
  if (!insert.ok()) {
    insert.error().message = "ledger '" + name + "': " + insert.error().message;
    return insert.error();
  }
  // Prepared once: sqlite3_exec would parse and compile them for every batch (a third of the
  // writer's instructions per row at a few connections, bench/overhead/instructions.sh).
  auto begin = writer->Prepare("BEGIN IMMEDIATE");
  if (!begin.ok()) return begin.error();
  auto commit = writer->Prepare("COMMIT");
  if (!commit.ok()) return commit.error();
  // Read-only for files so tools reading the ledger can never write by mistake; memdb needs a
  // read-write handle to attach to the shared in-memory file.
  int read_flags = target.memory ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI) : SQLITE_OPEN_READONLY;
  auto reader = SqliteDb::Open(filename, read_flags);
  if (!reader.ok()) return reader.error();
  sqlite3_busy_timeout(reader->get(), 5000);
  // Checkpoints move off the commit path: the writer never checkpoints itself (an automatic
  // checkpoint fsyncs and took a request's commit from ~0.1 ms to 3-6 ms every ~250 commits).
  std::optional<SqliteDb> checkpointer;
  if (!target.memory) {
    auto c = SqliteDb::Open(filename, SQLITE_OPEN_READWRITE);
    if (!c.ok()) return c.error();
    sqlite3_busy_timeout(c->get(), 5000);
    // A connection learns the file is in WAL mode only once it reads it; until then a
    // checkpoint is a silent no-op (log and done = -1).
    Status wal = c->Exec("PRAGMA journal_mode=WAL");
    if (!wal.ok()) return wal.error();
    checkpointer = std::move(*c);
    Status off = writer->Exec("PRAGMA wal_autocheckpoint=0");
    if (!off.ok()) return off.error();
  }
  return std::unique_ptr<SqliteLedger>(
      new SqliteLedger(std::move(*writer), std::move(*insert), std::move(*begin),
                       std::move(*commit), std::move(*reader), std::move(checkpointer)));
}

SqliteLedger::SqliteLedger(SqliteDb writer, SqliteStmt insert, SqliteStmt begin, SqliteStmt commit,
                           SqliteDb reader, std::optional<SqliteDb> checkpointer)
    : writer_db_(std::move(writer)),
      insert_(std::move(insert)),
      begin_(std::move(begin)),
      commit_(std::move(commit)),
      reader_db_(std::move(reader)),
      checkpoint_db_(std::move(checkpointer)) {
  // Replaces the busy_timeout PrepareLedgerDb set: the same waits, but one that ends early once
  // the ledger gives up waiting (StopWaiting, Close).
  sqlite3_busy_handler(writer_db_.get(), &SqliteLedger::OnBusy, this);
  if (checkpoint_db_) {
    sqlite3_wal_hook(writer_db_.get(), &SqliteLedger::OnWalCommit, this);
    checkpointer_ = std::thread([this] { CheckpointLoop(); });
  }
  writer_ = std::thread([this] { WriterLoop(); });
}

SqliteLedger::~SqliteLedger() { Close(); }

int SqliteLedger::OnBusy(void* self, int count) {
  auto* l = static_cast<SqliteLedger*>(self);
  if (l->GaveUpWaiting()) return 0;
  if (count == 0) l->restart_polls_ = 0;
  // The checkpointer holds the write lock to start the WAL over: for the few pages committed
  // since its last checkpoint and two fsyncs. Short polls, not the millisecond sleeps below,
  // and not counted against their budget (up to kRestartPolls of them).
  if (l->restarting_.load() && l->restart_polls_ < kRestartPolls) {
    ++l->restart_polls_;
    std::this_thread::sleep_for(kRestartPoll);
    return 1;
  }
  count -= l->restart_polls_;
  constexpr int kSteps = sizeof(kBusyDelaysMs) / sizeof(kBusyDelaysMs[0]);
  int waited = 0;  // ms slept before this call, as sqliteDefaultBusyCallback counts it
  for (int i = 0; i < count; ++i) waited += kBusyDelaysMs[std::min(i, kSteps - 1)];
  int delay = kBusyDelaysMs[std::min(count, kSteps - 1)];
  const int budget = static_cast<int>(kBusyWait.count());
  if (waited >= budget) return 0;
  delay = std::min(delay, budget - waited);
  std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  return 1;
}

void SqliteLedger::GiveUpWaitingAt(std::chrono::steady_clock::time_point t) {
  const auto ticks = t.time_since_epoch().count();
  auto cur = give_up_at_.load();
  while (ticks < cur && !give_up_at_.compare_exchange_weak(cur, ticks)) {
  }
}

bool SqliteLedger::GaveUpWaiting() const {
  return std::chrono::steady_clock::now().time_since_epoch().count() >= give_up_at_.load();
}

void SqliteLedger::StopWaiting() { GiveUpWaitingAt(std::chrono::steady_clock::now()); }

std::vector<LedgerRow> SqliteLedger::Close() {
  if (closed_) return {};
  closed_ = true;
  GiveUpWaitingAt(std::chrono::steady_clock::now() + kCloseLockWait);
  bool asleep = false;
  {
    std::lock_guard lk(mu_);
    stop_ = true;
    asleep = std::exchange(writer_asleep_, false);
  }
  if (asleep) WakeWriter();
  writer_.join();
  if (checkpointer_.joinable()) {
    {
      std::lock_guard lk(ckpt_mu_);
      ckpt_stop_ = true;
    }
    wake_checkpointer_.notify_one();
    checkpointer_.join();
  }
  // Closing the last connection (the writer, in the destructor) checkpoints what is left.
  // The writer has stopped: what it kept and could not write is this thread's now.
  std::vector<LedgerRow> lost;
  lost.reserve(unwritten_.size());
  for (auto& p : unwritten_) lost.push_back(std::move(p.row));
  unwritten_.clear();
  return lost;
}

int SqliteLedger::OnWalCommit(void* self, sqlite3*, const char*, int pages) {
  auto* l = static_cast<SqliteLedger*>(self);
  // `pages` is the WAL's length. It starts over only when a commit begins with every page
  // checkpointed, which steady load never leaves time for (a checkpoint's fsyncs outlast the
  // gap between commits), nor a reader holding an old snapshot: the WAL then stays long, and
  // waking the checkpointer on its length alone ran it after every commit, back to back.
  if (pages < l->ckpt_woken_at_) l->ckpt_woken_at_ = 0;  // the WAL started over
  if (pages - l->ckpt_woken_at_ >= kCheckpointPages) {
    l->ckpt_woken_at_ = pages;
    {
      std::lock_guard lk(l->ckpt_mu_);
      l->ckpt_wanted_ = true;
    }
    l->wake_checkpointer_.notify_one();
  }
  return SQLITE_OK;
}

void SqliteLedger::CheckpointLoop() {
  for (;;) {
    {
      std::unique_lock lk(ckpt_mu_);
      wake_checkpointer_.wait(lk, [&] { return ckpt_stop_ || ckpt_wanted_; });
      if (ckpt_stop_) return;
      ckpt_wanted_ = false;
    }
    // PASSIVE: copies what no reader still needs and never blocks the writer. A failure (a
    // reader holding an old snapshot, I/O error) only leaves the WAL longer until the next try.
    int log = 0, done = 0;
    const int rc = sqlite3_wal_checkpoint_v2(checkpoint_db_->get(), nullptr,
                                             SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc == SQLITE_OK && done > 0) checkpoints_.fetch_add(1);
    if (rc == SQLITE_OK && log >= kRestartPages) {
      SyncDatabaseFile();
      RestartWal();
    }
  }
}

void SqliteLedger::SyncDatabaseFile() {
  // A PASSIVE checkpoint that cannot copy the whole WAL (commits went on meanwhile: always,
  // under load) fsyncs the WAL but not the database file, so every page the PASSIVE checkpoints
  // since the last restart copied was still dirty in the page cache when the RESTART
  // checkpoint fsynced the database, which the writer waits for: 10-16 ms after sustained load
  // (strace: fdatasync of the database 11.5 ms, of the WAL 0.5 ms). Synced here first, with no
  // lock held, the restart finds little left to write. A failure is not an error: the RESTART
  // checkpoint syncs the file again before the WAL starts over.
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(checkpoint_db_->get(), "main", SQLITE_FCNTL_FILE_POINTER, &file) !=
          SQLITE_OK ||
      file == nullptr || file->pMethods == nullptr)
    return;
  if (file->pMethods->xSync(file, SQLITE_SYNC_NORMAL) == SQLITE_OK) database_syncs_.fetch_add(1);
}

void SqliteLedger::RestartWal() {
  sqlite3* db = checkpoint_db_->get();
  // A RESTART checkpoint first waits for the write lock, which the ledger's writer holds only
  // while it commits; holding it, it may wait for readers of an old snapshot, and the ledger's
  // writer with it. So it polls, kRestartLockPolls times in all (SQLite counts the waits of one
  // call on, so the two cannot be told apart): the writer waits at most that long for a
  // reader. When the polls run out the call fails (a PASSIVE checkpoint when the lock was not
  // had), and the next is tried kCheckpointPages later.
  int polls = 0;
  sqlite3_busy_handler(
      db,
      [](void* p, int) -> int {
        int& n = *static_cast<int*>(p);
        if (++n > kRestartLockPolls) return 0;
        std::this_thread::sleep_for(kRestartPoll);
        return 1;
      },
      &polls);
  int log = 0, done = 0;
  restarting_.store(true);
  const int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_RESTART, &log, &done);
  restarting_.store(false);
  if (rc == SQLITE_OK) wal_restarts_.fetch_add(1);
  sqlite3_busy_timeout(db, static_cast<int>(kBusyWait.count()));
}

uint64_t SqliteLedger::checkpoints() const { return checkpoints_.load(); }

uint64_t SqliteLedger::wal_restarts() const { return wal_restarts_.load(); }

uint64_t SqliteLedger::database_syncs() const { return database_syncs_.load(); }

void SqliteLedger::Append(LedgerRow row, std::function<void(Status)> done) {
  bool asleep = false;
  {
    std::lock_guard lk(mu_);
    queue_.push_back(Pending{std::move(row), std::move(done)});
    ++appended_;
    asleep = std::exchange(writer_asleep_, false);
  }
  if (asleep) WakeWriter();
}

void SqliteLedger::WakeWriter() {
  writer_wake_.store(1, std::memory_order_release);
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&writer_wake_), FUTEX_WAKE_PRIVATE, 1, nullptr,
          nullptr, 0);
}

void SqliteLedger::SleepUntilWoken(std::optional<std::chrono::milliseconds> timeout) {
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
  const auto until = std::chrono::steady_clock::now() + timeout.value_or(std::chrono::hours(0));
  while (writer_wake_.load(std::memory_order_acquire) == 0) {
    timespec rel{};
    if (timeout) {
      const auto left = until - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) return;
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
      rel.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
      rel.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    }
    // Returns at once when the word is no longer 0 (EAGAIN), on a wake, a signal or the timeout;
    // the loop tells them apart.
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&writer_wake_), FUTEX_WAIT_PRIVATE, 0,
            timeout ? &rel : nullptr, nullptr, 0);
  }
}

void SqliteLedger::Flush() {
  if (std::this_thread::get_id() == writer_.get_id()) return;
  std::unique_lock lk(mu_);
  const uint64_t target = appended_;
  batch_done_.wait(lk, [&] { return finished_ >= target; });
}

uint64_t SqliteLedger::commits() const {
  std::lock_guard lk(mu_);
  return commits_;
}

uint64_t SqliteLedger::written_late() const { return written_late_.load(); }

void SqliteLedger::RetryUnwritten() {
  const size_t n = std::min(unwritten_.size(), kMaxBatch);
  std::vector<Status> results(n, Status(Ok{}));
  std::span<const Pending> batch(unwritten_.data(), n);
  if (TryWriteBatch(batch, results) != SQLITE_OK) return;
  // Committed (a row refused as a duplicate id was already written: dropped as well).
  written_late_.fetch_add(
      std::count_if(results.begin(), results.end(), [](const Status& r) { return r.ok(); }));
  unwritten_.erase(unwritten_.begin(), unwritten_.begin() + static_cast<std::ptrdiff_t>(n));
}

void SqliteLedger::WriterLoop() {
  // backlog and queue_ trade buffers, so steady state allocates nothing here.
  std::vector<Pending> backlog;
  std::vector<Status> results;
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock lk(mu_);
      if (!stop_ && queue_.empty()) {
        writer_asleep_ = true;
        writer_wake_.store(0, std::memory_order_relaxed);
        lk.unlock();
        std::optional<std::chrono::milliseconds> timeout;
        if (!unwritten_.empty()) timeout = kRetryUnwritten;  // kept rows: try them again then
        SleepUntilWoken(timeout);
        lk.lock();
        writer_asleep_ = false;  // woken, or the timeout: nobody else need wake it now
      }
      stopping = stop_;
      backlog.swap(queue_);
    }
    if (backlog.empty()) {
      if (!stopping) {  // woken to write the kept rows again
        RetryUnwritten();
        continue;
      }
      // Stopping, every queued row written: the kept ones get a last try each; what still
      // fails stays in unwritten_ for Close() to hand back (its request was counted in
      // ledger write failures already).
      for (size_t left = unwritten_.size(); left > 0; left = unwritten_.size()) {
        RetryUnwritten();
        if (unwritten_.size() == left) break;
      }
      return;
    }
    bool committed = false;
    for (size_t begin = 0; begin < backlog.size(); begin += kMaxBatch) {
      size_t end = std::min(backlog.size(), begin + kMaxBatch);
      std::span<Pending> batch(backlog.data() + begin, end - begin);
      WriteBatch(batch, results);
      if (std::any_of(results.begin(), results.end(), [](const Status& r) { return r.ok(); })) {
        committed = true;
        std::lock_guard lk(mu_);
        ++commits_;
      }
      for (size_t i = 0; i < batch.size(); ++i) {
        const bool keep = !results[i].ok() && results[i].error().code == "ledger_write_failed" &&
                          unwritten_.size() < kMaxUnwritten;
        if (batch[i].done) batch[i].done(std::move(results[i]));
        if (keep) unwritten_.push_back(Pending{std::move(batch[i].row), nullptr});
      }
      {
        std::lock_guard lk(mu_);
        finished_ += batch.size();
      }
      batch_done_.notify_all();
    }
    backlog.clear();
    // The database takes writes again: the kept rows follow at once.
    if (committed && !unwritten_.empty()) RetryUnwritten();
  }
}

void SqliteLedger::WriteBatch(std::span<const Pending> batch, std::vector<Status>& results) {
  int rc = SQLITE_OK;
  std::string message;
  for (int attempt = 0; attempt < kWriteAttempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20 << attempt));
    results.assign(batch.size(), Status(Ok{}));
    rc = TryWriteBatch(batch, results);
    if (rc == SQLITE_OK) return;
    message = sqlite3_errmsg(writer_db_.get());
    if (!IsContention(rc) || GaveUpWaiting()) break;
  }
  Error e = Error::Make(ErrorKind::kInternal, "ledger_write_failed",
                        "ledger: commit of " + std::to_string(batch.size()) +
                            " rows failed: " + message + " (" + sqlite3_errstr(rc) + ")");
  results.assign(batch.size(), Status(e));
}

// Runs a prepared statement that returns no rows, as sqlite3_exec would: SQLITE_OK or the error
// code (SQLITE_BUSY, ...), with the statement reset either way.
int SqliteLedger::StepOnce(SqliteStmt& stmt) {
  int rc = stmt.Step();
  int reset = sqlite3_reset(stmt.get());
  if (rc == SQLITE_DONE) return SQLITE_OK;
  return rc == SQLITE_ROW ? reset : rc;
}

int SqliteLedger::TryWriteBatch(std::span<const Pending> batch, std::vector<Status>& results) {
  sqlite3* db = writer_db_.get();
  int rc = StepOnce(begin_);
  if (rc != SQLITE_OK) return rc;
  for (size_t i = 0; i < batch.size(); ++i) {
    BindRow(insert_, batch[i].row);
    rc = insert_.Step();
    if (rc != SQLITE_DONE && (rc & 0xff) == SQLITE_CONSTRAINT) {
      // Only this row fails (ABORT undoes just the statement); the rest of the batch commits.
      results[i] =
          Error::Make(ErrorKind::kInternal, "ledger_duplicate_id",
                      "ledger: row '" + batch[i].row.id + "' rejected: " + sqlite3_errmsg(db));
    }
    insert_.Reset();
    if (rc != SQLITE_DONE && (rc & 0xff) != SQLITE_CONSTRAINT) {
      if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return rc;
    }
  }
  rc = StepOnce(commit_);
  if (rc != SQLITE_OK && !sqlite3_get_autocommit(db)) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  return rc;
}

Result<std::vector<LedgerRow>> SqliteLedger::ReadAll() {
  std::lock_guard lk(read_mu_);
  auto st = reader_db_.Prepare(kSelectRowsSql);
  if (!st.ok()) return st.error();
  std::vector<LedgerRow> rows;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) rows.push_back(ReadRow(*st));
  if (rc != SQLITE_DONE) return reader_db_.Fail("ledger_read_failed", "ledger: reading rows");
  return rows;
}

Result<LedgerTotals> SqliteLedger::Totals() {
  std::lock_guard lk(read_mu_);
  auto st = reader_db_.Prepare(kTotalsSql);
  if (!st.ok()) return st.error();
  if (st->Step() != SQLITE_ROW)
    return reader_db_.Fail("ledger_read_failed", "ledger: summing rows");
  return LedgerTotals{st->Int(0), st->Int(1), st->Int(2)};
}

}  // namespace triage::store
