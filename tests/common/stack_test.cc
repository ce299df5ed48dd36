#include "common/stack.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <thread>

namespace triage {
namespace {

size_t StackOfANewThread() {
  size_t size = 0;
  std::thread([&] {
    pthread_attr_t attr;
    ASSERT_EQ(pthread_getattr_np(pthread_self(), &attr), 0);
    ASSERT_EQ(pthread_attr_getstacksize(&attr, &size), 0);
    pthread_attr_destroy(&attr);
  }).join();
  return size;
}

size_t SoftStackLimit() {
  rlimit rl{};
  EXPECT_EQ(getrlimit(RLIMIT_STACK, &rl), 0);
  return rl.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<size_t>(rl.rlim_cur);
}

// Each test runs in a process of its own (gtest_discover_tests), so what one sets does not
// leak into another.
TEST(ThreadStacks, NewThreadsAndTheMainThreadGetWhatIsAsked) {
  // More than new threads get now: glibc sized them from `ulimit -s` at the process's start (8 MiB
  // by default; 64 MiB under scripts/sanitize.sh).
  const size_t asked = std::max(size_t{48} << 20, 2 * StackOfANewThread());
  // A soft limit below what is asked, as `ulimit -S -s 1024` gives; the main thread gets at most
  // the hard limit (unlimited unless the machine says less).
  rlimit rl{};
  ASSERT_EQ(getrlimit(RLIMIT_STACK, &rl), 0);
  const size_t main_thread =
      rl.rlim_max == RLIM_INFINITY ? asked : std::min(asked, static_cast<size_t>(rl.rlim_max));
  rlimit low = rl;
  low.rlim_cur = 1 << 20;
  ASSERT_EQ(setrlimit(RLIMIT_STACK, &low), 0);

  EXPECT_EQ(EnsureThreadStacks(asked), main_thread);
  EXPECT_GE(StackOfANewThread(), asked);
  EXPECT_EQ(SoftStackLimit(), main_thread);
}

TEST(ThreadStacks, NeverLowers) {
  const size_t big = size_t{40} << 20;
  EnsureThreadStacks(big);
  const size_t soft = SoftStackLimit();
  const size_t thread = StackOfANewThread();
  ASSERT_GE(thread, big);
  // Asking for less changes nothing and says what is in force.
  EXPECT_GE(EnsureThreadStacks(1 << 20), std::min(thread, soft));
  EXPECT_EQ(StackOfANewThread(), thread);
  EXPECT_EQ(SoftStackLimit(), soft);
}

TEST(ThreadStacks, AHardLimitBelowTheAskIsReported) {
  rlimit hard = {size_t{2} << 20, size_t{2} << 20};  // `ulimit -s 2048`: soft and hard
  ASSERT_EQ(setrlimit(RLIMIT_STACK, &hard), 0);
  // New threads still get the stack asked for; the main thread cannot: the result says so.
  EXPECT_EQ(EnsureThreadStacks(size_t{32} << 20), size_t{2} << 20);
  EXPECT_GE(StackOfANewThread(), size_t{32} << 20);
  EXPECT_EQ(SoftStackLimit(), size_t{2} << 20);
}

}  // namespace
}  // namespace triage
