#include "routing/builtin_model.h"

// The assembler copies the file in at build time (.incbin); CMake passes its path and makes
// this object depend on it, so a retrained model is picked up by the next build.
__asm__(
    ".section .rodata\n"
    ".balign 16\n"
    ".global triage_builtin_learned_begin\n"
    "triage_builtin_learned_begin:\n"
    ".incbin \"" TRIAGE_BUILTIN_LEARNED_MODEL
    "\"\n"
    ".global triage_builtin_learned_end\n"
    "triage_builtin_learned_end:\n"
    ".previous\n");

extern "C" const char triage_builtin_learned_begin[];
extern "C" const char triage_builtin_learned_end[];

namespace triage::routing {

std::string_view BuiltinLearnedModel() {
  return {triage_builtin_learned_begin,
          static_cast<size_t>(triage_builtin_learned_end - triage_builtin_learned_begin)};
}

}  // namespace triage::routing
