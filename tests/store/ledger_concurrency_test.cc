#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "ledger_test_util.h"
#include "store/sqlite_ledger.h"

namespace triage::store {
namespace {

using testing::MakeRow;
using testing::TempDir;

std::unique_ptr<SqliteLedger> OpenFile(const std::string& path) {
  auto l = SqliteLedger::Open(SqliteTarget{path, false, false});
  EXPECT_TRUE(l.ok()) << l.error().message;
  return l.ok() ? std::move(*l) : nullptr;
}

// Appends rows [t*per, (t+1)*per) from each of `threads` threads; counts callbacks per row.
void AppendFromThreads(Ledger& ledger, int threads, int per, std::vector<std::atomic<int>>& calls,
                       std::atomic<int>& failures) {
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = t * per; i < (t + 1) * per; ++i) {
        ledger.Append(MakeRow(i), [&calls, &failures, i](Status s) {
          calls[i].fetch_add(1);
          if (!s.ok()) failures.fetch_add(1);
        });
      }
    });
  }
  for (auto& t : ts) t.join();
}

TEST(LedgerConcurrency, ManyThreadsAllCommittedEachCallbackOnce) {
  TempDir dir;
  auto ledger = OpenFile(dir.File("l.db"));
  ASSERT_TRUE(ledger);
  constexpr int kThreads = 8, kPer = 2500, kRows = kThreads * kPer;
  std::vector<std::atomic<int>> calls(kRows);
  std::atomic<int> failures{0};
  AppendFromThreads(*ledger, kThreads, kPer, calls, failures);
  ledger->Flush();
  EXPECT_EQ(failures.load(), 0);
  for (int i = 0; i < kRows; ++i) ASSERT_EQ(calls[i].load(), 1) << "row " << i;

  auto rows = ledger->ReadAll();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), static_cast<size_t>(kRows));
  std::set<std::string> ids;
  for (const auto& r : *rows) ids.insert(r.id);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kRows));
  // Group commit: far fewer transactions than rows.
  EXPECT_LT(ledger->commits(), static_cast<uint64_t>(kRows) / 4);
  EXPECT_GE(ledger->commits(), static_cast<uint64_t>(kRows) / SqliteLedger::kMaxBatch);
}

TEST(LedgerConcurrency, PerThreadOrderIsPreserved) {
  auto l = SqliteLedger::Open(SqliteTarget{"", true, false});
  ASSERT_TRUE(l.ok());
  constexpr int kThreads = 4, kPer = 500;
  std::vector<std::atomic<int>> calls(kThreads * kPer);
  std::atomic<int> failures{0};
  AppendFromThreads(**l, kThreads, kPer, calls, failures);
  (*l)->Flush();
  auto rows = (*l)->ReadAll();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), static_cast<size_t>(kThreads * kPer));
  std::vector<int64_t> last(kThreads, -1);
  for (const auto& r : *rows) {
    int n = static_cast<int>(r.ts_ms - MakeRow(0).ts_ms);
    int t = n / kPer;
    EXPECT_GT(n, last[t]) << "thread " << t << " rows out of order";
    last[t] = n;
  }
}

// Totals on the read connection while the writer commits, for a file and for memory mode.
void ReadWhileWriting(const SqliteTarget& target) {
  auto l = SqliteLedger::Open(target);
  ASSERT_TRUE(l.ok()) << l.error().message;
  SqliteLedger* ledger = l->get();
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 5000; ++i) ledger->Append(MakeRow(i), nullptr);
    ledger->Flush();
    done = true;
  });
  size_t last = 0;
  bool monotonic = true;
  while (!done) {
    auto t = ledger->Totals();
    ASSERT_TRUE(t.ok()) << t.error().message;
    monotonic &= static_cast<size_t>(t->requests) >= last;
    last = static_cast<size_t>(t->requests);
  }
  writer.join();
  EXPECT_TRUE(monotonic);
  EXPECT_EQ(ledger->Totals()->requests, 5000);
}

TEST(LedgerConcurrency, ReadsWhileWritingFile) {
  TempDir dir;
  ReadWhileWriting(SqliteTarget{dir.File("l.db"), false, false});
}

TEST(LedgerConcurrency, ReadsWhileWritingMemory) {
  ReadWhileWriting(SqliteTarget{"", true, false});
}

// Figures, not timed assertions: rows/s for 100k appends from 4 threads to a temp file.
void ReportThroughput(bool synchronous_full) {
  TempDir dir;
  auto l = SqliteLedger::Open(SqliteTarget{dir.File("bench.db"), false, synchronous_full});
  ASSERT_TRUE(l.ok());
  SqliteLedger& ledger = **l;
  constexpr int kThreads = 4, kPer = 25000, kRows = kThreads * kPer;
  std::vector<std::atomic<int>> calls(kRows);
  std::atomic<int> failures{0};
  auto start = std::chrono::steady_clock::now();
  AppendFromThreads(ledger, kThreads, kPer, calls, failures);
  auto queued = std::chrono::steady_clock::now();
  ledger.Flush();
  auto end = std::chrono::steady_clock::now();
  double secs = std::chrono::duration<double>(end - start).count();
  double append_us =
      std::chrono::duration<double, std::micro>(queued - start).count() / (kRows / kThreads);
  std::printf(
      "[ledger throughput] synchronous=%s, %d rows, %d threads: %.0f rows/s committed "
      "(%.3f s), %llu commits (%.0f rows/commit), Append %.2f us/call per thread\n",
      synchronous_full ? "full" : "normal", kRows, kThreads, kRows / secs, secs,
      static_cast<unsigned long long>(ledger.commits()),
      static_cast<double>(kRows) / static_cast<double>(ledger.commits()), append_us);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ledger.Totals()->requests, kRows);
}

TEST(LedgerConcurrency, ThroughputReport) { ReportThroughput(false); }
TEST(LedgerConcurrency, ThroughputReportSynchronousFull) { ReportThroughput(true); }

// Figure: Append -> callback latency with no contention (one row in flight at a time), the
// wait the account phase adds to each request.
TEST(LedgerConcurrency, CommitLatencyReport) {
  TempDir dir;
  auto ledger = OpenFile(dir.File("lat.db"));
  ASSERT_TRUE(ledger);
  constexpr int kRows = 2000;
  std::vector<double> us;
  us.reserve(kRows);
  for (int i = 0; i < kRows; ++i) {
    std::promise<bool> p;
    auto f = p.get_future();
    auto t0 = std::chrono::steady_clock::now();
    ledger->Append(MakeRow(i), [&p](Status s) { p.set_value(s.ok()); });
    ASSERT_TRUE(f.get());
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  std::printf(
      "[ledger commit latency] synchronous=normal, %d sequential rows: p50 %.0f us, "
      "p99 %.0f us, max %.0f us\n",
      kRows, us[kRows / 2], us[kRows * 99 / 100], us.back());
  EXPECT_EQ(ledger->commits(), static_cast<uint64_t>(kRows));  // nothing to group with
}

}  // namespace
}  // namespace triage::store
