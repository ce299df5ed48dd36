#include "common/malloc_library.h"

#include <dlfcn.h>

#include <cstdlib>
#include <string_view>

namespace triage {

std::string MallocLibrary() {
  // &malloc is what calls from this code bind to: in a position-independent executable it comes
  // from the GOT, filled by the dynamic linker with the first definition in load order.
  void* (*fn)(size_t) = &std::malloc;
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(fn), &info) == 0 || info.dli_fname == nullptr)
    return "unknown";
  std::string_view path = info.dli_fname;
  if (auto slash = path.rfind('/'); slash != std::string_view::npos) path.remove_prefix(slash + 1);
  return path.empty() ? "unknown" : std::string(path);
}

}  // namespace triage
