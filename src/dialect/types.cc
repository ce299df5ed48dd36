#include "dialect/types.h"

namespace triage::dialect {

std::string_view DialectName(Dialect d) {
  switch (d) {
    case Dialect::kOpenAI:
      return "openai";
    case Dialect::kAnthropic:
      return "anthropic";
  }
  return "openai";
}

}  // namespace triage::dialect
