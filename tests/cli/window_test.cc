#include <gtest/gtest.h>

#include <limits>

#include "cli/eval_commands.h"

namespace triage::cli {
namespace {

constexpr int64_t kAll = std::numeric_limits<int64_t>::min();
constexpr int64_t kNow = 1'796'601'600'000;  // 2026-12-07 00:00:00 UTC

TEST(WindowStartMs, HoursBeforeNow) {
  EXPECT_EQ(WindowStartMs(1, kNow), kNow - 3'600'000);
  EXPECT_EQ(WindowStartMs(0.5, kNow), kNow - 1'800'000);
  EXPECT_EQ(WindowStartMs(1e-7, kNow), kNow);  // 0.36 ms: rounds to now
}

TEST(WindowStartMs, NoWindowKeepsEveryRow) {
  EXPECT_EQ(WindowStartMs(0, kNow), kAll);
  EXPECT_EQ(WindowStartMs(-1, kNow), kAll);
}

// calibrate --ledger converted H * 3600e3 to int64 unchecked: beyond 9.2e18 ms (2.6e12 hours)
// that is undefined behaviour, and the subtraction from now could overflow too.
TEST(WindowStartMs, AWindowReachingBefore1970KeepsEveryRow) {
  EXPECT_EQ(WindowStartMs(1e15, kNow), kAll);
  EXPECT_EQ(WindowStartMs(1e300, kNow), kAll);
  EXPECT_EQ(WindowStartMs(std::numeric_limits<double>::max(), kNow), kAll);
  // Exactly back to the epoch or beyond: every row.
  EXPECT_EQ(WindowStartMs(static_cast<double>(kNow) / 3600e3, kNow), kAll);
  EXPECT_EQ(WindowStartMs(1e6, kNow), kAll);                    // 114 years: before 1970
  EXPECT_EQ(WindowStartMs(1e5, kNow), kNow - 360'000'000'000);  // 11.4 years
}

}  // namespace
}  // namespace triage::cli
