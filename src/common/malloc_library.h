#pragma once

#include <string>

namespace triage {

// The file name (no directory) of the shared object or executable whose malloc this process
// calls: "libmimalloc.so.2" for the default build (CMake's TRIAGE_MALLOC), "libc.so.6" for
// glibc's, the sanitizer's runtime under one (gcc's libasan.so.8, libtsan.so.2), or
// "unknown" when the dynamic linker cannot say. A runtime fact, not the build's intent: it shows
// whether the allocator linked in really interposed malloc. Thread-safe.
std::string MallocLibrary();

}  // namespace triage
