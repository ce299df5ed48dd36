#pragma once
// The shipped learned model (models/learned-v4.model), compiled into the binary so that
// `learned:builtin` and the demo route `auto` without any file on disk.
#include <string_view>

namespace triage::routing {

// The bytes of models/learned-v4.model as it was when triage was built.
std::string_view BuiltinLearnedModel();

}  // namespace triage::routing
