#include "upstream/ttft_window.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace triage::upstream {
namespace {

using std::chrono::milliseconds;

TEST(TtftWindow, NoP95UntilMinSamples) {
  TtftWindow w;
  EXPECT_FALSE(w.P95(1).has_value());
  for (int i = 0; i < 19; ++i) w.Record(milliseconds(100));
  EXPECT_FALSE(w.P95(20).has_value());
  w.Record(milliseconds(100));
  ASSERT_TRUE(w.P95(20).has_value());
  EXPECT_EQ(w.P95(20)->count(), 100);
}

TEST(TtftWindow, NearestRankP95) {
  TtftWindow w;
  // 1..100 ms in a shuffled order: the 95th percentile (nearest rank) is 95.
  for (int i = 0; i < 100; ++i) w.Record(milliseconds((i * 37) % 100 + 1));
  EXPECT_EQ(w.P95(1)->count(), 95);
  // 20 samples: rank ceil(19) = 19th smallest.
  TtftWindow v;
  for (int i = 20; i >= 1; --i) v.Record(milliseconds(i * 10));
  EXPECT_EQ(v.P95(1)->count(), 190);
  // One slow outlier in 20 does not move it; two do.
  TtftWindow o;
  for (int i = 0; i < 19; ++i) o.Record(milliseconds(50));
  o.Record(milliseconds(5000));
  EXPECT_EQ(o.P95(1)->count(), 50);
  o.Record(milliseconds(5000));
  EXPECT_EQ(o.P95(1)->count(), 5000);
}

TEST(TtftWindow, KeepsOnlyTheLastKSize) {
  TtftWindow w;
  for (size_t i = 0; i < TtftWindow::kSize; ++i) w.Record(milliseconds(9000));
  EXPECT_EQ(w.P95(1)->count(), 9000);
  for (size_t i = 0; i < TtftWindow::kSize; ++i) w.Record(milliseconds(10));
  EXPECT_EQ(w.size(), TtftWindow::kSize);
  EXPECT_EQ(w.P95(1)->count(), 10);  // the slow past has left the window
  w.Record(milliseconds(-5));        // clamped, never negative
  EXPECT_EQ(w.P95(1)->count(), 10);
}

TEST(TtftWindow, ConcurrentRecordAndRead) {
  TtftWindow w;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&w, t] {
      for (int i = 0; i < 2000; ++i) {
        w.Record(milliseconds(t * 10 + i % 7));
        (void)w.P95(1);
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(w.size(), TtftWindow::kSize);
  ASSERT_TRUE(w.P95(1).has_value());
  EXPECT_LE(w.P95(1)->count(), 36);
}

}  // namespace
}  // namespace triage::upstream
