#include "eval/progress.h"

#include <gtest/gtest.h>

#include <sstream>

namespace triage::eval {
namespace {

using std::chrono::milliseconds;

// A clock the test moves by hand.
struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  Progress::Clock Fn() {
    return [this] { return now; };
  }
};

// Long work shows on the stream at most once a second, with a closing line; short work is
// silent. Regression for eval --bootstrap 20000 and train --epochs 100 running silently.
TEST(Progress, AtMostOneLinePerIntervalAndQuietWhenFast) {
  FakeClock clock;
  std::ostringstream out;
  Progress p(&out, milliseconds(1000), clock.Fn());
  p.SetContext("length");
  p.Begin("bootstrap gsm8k", 100, "resamples");
  for (size_t i = 1; i <= 100; ++i) {
    clock.now += milliseconds(50);  // 5 s in all
    p.Update(i);
  }
  EXPECT_EQ(out.str(),
            "length: bootstrap gsm8k: 20/100 resamples (1.0 s)\n"
            "length: bootstrap gsm8k: 40/100 resamples (2.0 s)\n"
            "length: bootstrap gsm8k: 60/100 resamples (3.0 s)\n"
            "length: bootstrap gsm8k: 80/100 resamples (4.0 s)\n"
            "length: bootstrap gsm8k: 100/100 resamples (5.0 s, done)\n");
  std::ostringstream quiet;
  Progress q(&quiet, milliseconds(1000), clock.Fn());
  q.Begin("fit on 907 queries", 20, "epochs");
  for (size_t i = 1; i <= 20; ++i) {
    clock.now += milliseconds(10);
    q.Update(i);
  }
  EXPECT_EQ(quiet.str(), "");
  // A new stage starts its own clock: no line until it has run a full interval.
  q.Begin("fit on 10708 queries", 2, "epochs");
  clock.now += milliseconds(999);
  q.Update(1);
  EXPECT_EQ(quiet.str(), "");
  clock.now += milliseconds(1);
  q.Update(1);
  EXPECT_EQ(quiet.str(), "fit on 10708 queries: 1/2 epochs (1.0 s)\n");
}

}  // namespace
}  // namespace triage::eval
