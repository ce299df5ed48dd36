// kill -9 durability: a row whose done callback reported ok must be in the file after the
// process dies without any chance to flush or close.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "ledger_test_util.h"
#include "store/ledger.h"

namespace triage::store {
namespace {

using testing::MakeRow;
using testing::SameRow;
using testing::TempDir;

// Reads exactly n bytes unless the writer end closes first; returns the count read.
size_t ReadFull(int fd, void* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, static_cast<char*>(buf) + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

void KillAndReap(pid_t child) {
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited on its own, status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

// Child: append n rows, wait for every callback, report one byte, then block until killed.
[[noreturn]] void AppendThenBlock(const std::string& url, int n, int fd) {
  auto ledger = OpenLedger(url);
  if (!ledger.ok()) _exit(2);
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, failed = 0;
  for (int i = 0; i < n; ++i) {
    (*ledger)->Append(MakeRow(i), [&](Status s) {
      std::lock_guard lk(mu);
      ++done;
      failed += !s.ok();
      cv.notify_all();
    });
  }
  {
    std::unique_lock lk(mu);
    cv.wait(lk, [&] { return done == n; });
  }
  char byte = failed ? 'F' : 'K';
  if (write(fd, &byte, 1) != 1) _exit(3);
  for (;;) pause();  // the ledger stays open: no flush, no close, no checkpoint
}

TEST(LedgerDurability, AcknowledgedRowsSurviveKill9) {
  TempDir dir;
  std::string path = dir.File("l.db");
  constexpr int kRows = 2000;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    AppendThenBlock("sqlite://" + path, kRows, fds[1]);
  }
  close(fds[1]);
  char byte = 0;
  ASSERT_EQ(ReadFull(fds[0], &byte, 1), 1u) << "child died before acknowledging";
  close(fds[0]);
  KillAndReap(child);
  ASSERT_EQ(byte, 'K') << "child saw failed callbacks";
  // The WAL file outlives only an unclean exit: proof the ledger was never closed.
  EXPECT_TRUE(std::filesystem::exists(path + "-wal"));

  auto ledger = OpenLedger("sqlite://" + path);
  ASSERT_TRUE(ledger.ok()) << ledger.error().message;
  auto rows = (*ledger)->ReadAll();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), static_cast<size_t>(kRows));
  for (int i = 0; i < kRows; ++i) ASSERT_TRUE(SameRow((*rows)[i], MakeRow(i))) << i;
}

// Child: append rows forever from two threads, reporting each row's number once it is
// acknowledged. The kill lands while commits are in flight.
[[noreturn]] void AppendForever(const std::string& url, int fd) {
  auto ledger = OpenLedger(url);
  if (!ledger.ok()) _exit(2);
  std::atomic<int> next{0};
  auto loop = [&] {
    for (;;) {
      int n = next.fetch_add(1);
      (*ledger)->Append(MakeRow(n), [fd, n](Status s) {
        if (!s.ok()) _exit(4);
        int32_t v = n;
        if (write(fd, &v, sizeof v) != sizeof v) _exit(3);
      });
      if (n % 64 == 0) std::this_thread::yield();
    }
  };
  std::thread a(loop), b(loop);
  a.join();
  _exit(0);
}

TEST(LedgerDurability, KillDuringContinuousWritesKeepsEveryAcknowledgedRow) {
  TempDir dir;
  std::string path = dir.File("l.db");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    AppendForever("sqlite://" + path, fds[1]);
  }
  close(fds[1]);
  std::set<int32_t> acked;
  int32_t v;
  while (acked.size() < 3000 && ReadFull(fds[0], &v, sizeof v) == sizeof v) acked.insert(v);
  ASSERT_EQ(acked.size(), 3000u) << "child stopped acknowledging early";
  KillAndReap(child);
  // Acks written before the kill are still in the pipe.
  while (ReadFull(fds[0], &v, sizeof v) == sizeof v) acked.insert(v);
  close(fds[0]);

  auto ledger = OpenLedger("sqlite://" + path);
  ASSERT_TRUE(ledger.ok()) << ledger.error().message;
  auto rows = (*ledger)->ReadAll();
  ASSERT_TRUE(rows.ok());
  std::set<int32_t> stored;
  for (const auto& r : *rows) {
    int32_t n = static_cast<int32_t>(r.ts_ms - MakeRow(0).ts_ms);
    ASSERT_TRUE(SameRow(r, MakeRow(n))) << "row " << n << " corrupted";
    stored.insert(n);
  }
  size_t missing = 0;
  for (int32_t n : acked) missing += !stored.count(n);
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged rows";
  EXPECT_GE(stored.size(), acked.size());
}

}  // namespace
}  // namespace triage::store
