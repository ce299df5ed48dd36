#pragma once

#include <cstddef>

namespace triage {

// The stack the gateway asks for its threads: the recursive JSON walks (translation, the
// upstream body, the sim's schema sampling) at limits.max_json_depth's largest value, 10,000,
// need under 2 MB in a Release build, about 9 MB at -O0 (a Debug build) and several times that
// under the sanitizers. 64 MiB of address space; only the pages a thread touches are resident.
inline constexpr size_t kThreadStackBytes = size_t{64} << 20;

// Makes the stacks of the threads that run requests at least `bytes`, whatever the shell's
// `ulimit -s`: the default stack of every thread created after the call
// (pthread_setattr_default_np; std::thread uses it), and the soft RLIMIT_STACK, which bounds the
// main thread's stack (it runs an io_context), as far as the hard limit allows. Never lowers
// either. Returns the smaller of the two afterwards: the stack every io thread can count on.
size_t EnsureThreadStacks(size_t bytes);

}  // namespace triage
