#include "common/stack.h"

#include <pthread.h>
#include <sys/resource.h>

#include <algorithm>

namespace triage {

size_t EnsureThreadStacks(size_t bytes) {
  // Threads created from now on.
  size_t threads = 0;
  pthread_attr_t attr;
  if (pthread_getattr_default_np(&attr) == 0) {
    if (pthread_attr_getstacksize(&attr, &threads) == 0 && threads < bytes &&
        pthread_attr_setstacksize(&attr, bytes) == 0 && pthread_setattr_default_np(&attr) == 0) {
      threads = bytes;
    }
    pthread_attr_destroy(&attr);
  }
  // The main thread: its stack grows on demand up to the soft limit in force at the time.
  size_t main_thread = 0;
  rlimit rl{};
  if (getrlimit(RLIMIT_STACK, &rl) == 0) {
    if (rl.rlim_cur == RLIM_INFINITY) {
      main_thread = bytes;
    } else {
      if (rl.rlim_cur < bytes) {
        rlimit raised = rl;
        raised.rlim_cur =
            rl.rlim_max == RLIM_INFINITY ? bytes : std::min<rlim_t>(bytes, rl.rlim_max);
        if (raised.rlim_cur > rl.rlim_cur && setrlimit(RLIMIT_STACK, &raised) == 0) rl = raised;
      }
      main_thread = static_cast<size_t>(rl.rlim_cur);
    }
  }
  return std::min(threads, main_thread);
}

}  // namespace triage
