#pragma once
// Thin owning wrappers over sqlite3 connections and prepared statements, returning Status
// instead of raw codes. Not thread-safe: each object is used by one thread at a time.
#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace triage::store {

class SqliteStmt;

// Owns one connection; closes it on destruction. Move-only.
class SqliteDb {
 public:
  // `flags` are sqlite3_open_v2 flags; SQLITE_OPEN_NOMUTEX is added (one thread at a time).
  static Result<SqliteDb> Open(const std::string& filename, int flags);
  SqliteDb(SqliteDb&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  SqliteDb& operator=(SqliteDb&& o) noexcept;
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;
  ~SqliteDb();

  sqlite3* get() const { return db_; }
  // Runs one or more statements that return no rows.
  Status Exec(const char* sql);
  Result<SqliteStmt> Prepare(std::string_view sql);
  // An Error of kind kInternal with `code`, the context and sqlite's own message.
  Error Fail(std::string code, std::string_view context) const;

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

// Owns one prepared statement; finalizes it on destruction. Move-only.
class SqliteStmt {
 public:
  explicit SqliteStmt(sqlite3_stmt* s) : s_(s) {}
  SqliteStmt(SqliteStmt&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  SqliteStmt& operator=(SqliteStmt&& o) noexcept;
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;
  ~SqliteStmt() { sqlite3_finalize(s_); }

  sqlite3_stmt* get() const { return s_; }
  // Bind by 1-based index; SQLITE_STATIC: the caller keeps the text alive until Step/Reset.
  void Bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void Bind(int i, double v) { sqlite3_bind_double(s_, i, v); }
  void BindNull(int i) { sqlite3_bind_null(s_, i); }
  void Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  int Step() { return sqlite3_step(s_); }
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  double Double(int col) const { return sqlite3_column_double(s_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string Text(int col) const;

 private:
  sqlite3_stmt* s_ = nullptr;
};

}  // namespace triage::store
