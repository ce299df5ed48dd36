#pragma once
// Parsing of ledger URLs of the SQLite family: "sqlite://PATH[?synchronous=normal|full]" and
// "sqlite::memory:". Pure function, no I/O.
#include <string>

#include "common/result.h"

namespace triage::store {

struct SqliteTarget {
  std::string path;               // file path as given (relative or absolute); empty in memory mode
  bool memory = false;            // "sqlite::memory:"
  bool synchronous_full = false;  // "?synchronous=full": survive power loss, slower commits
};

// Returns the target or a kInternal error whose message names the URL and what is wrong.
Result<SqliteTarget> ParseSqliteUrl(const std::string& url);

}  // namespace triage::store
