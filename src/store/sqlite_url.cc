#include "store/sqlite_url.h"

#include <string_view>

#include "common/secrets.h"

namespace triage::store {
namespace {

constexpr std::string_view kFilePrefix = "sqlite://";
constexpr std::string_view kMemoryPrefix = "sqlite::memory:";

Error UrlError(const std::string& url, std::string_view problem) {
  return Error::Make(ErrorKind::kInternal, "ledger_bad_url",
                     "ledger url '" + UrlForDisplay(url) + "': " + std::string(problem));
}

// Applies "key=value&key=value"; only `synchronous` is understood, anything else is refused so
// that a typo never silently weakens durability.
Status ApplyQuery(const std::string& url, std::string_view query, SqliteTarget& t) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    size_t eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
    if (key != "synchronous") {
      return UrlError(url, "unknown option '" + std::string(key) + "' (known: synchronous)");
    }
    if (value == "full") {
      t.synchronous_full = true;
    } else if (value == "normal") {
      t.synchronous_full = false;
    } else {
      return UrlError(url, "synchronous must be 'normal' or 'full'");
    }
  }
  return Ok{};
}

}  // namespace

Result<SqliteTarget> ParseSqliteUrl(const std::string& url) {
  std::string_view u = url;
  SqliteTarget t;
  if (u.starts_with(kMemoryPrefix)) {
    u.remove_prefix(kMemoryPrefix.size());
    t.memory = true;
    if (u.empty()) return t;
    if (u.front() != '?') return UrlError(url, "unexpected text after 'sqlite::memory:'");
    Status s = ApplyQuery(url, u.substr(1), t);
    if (!s.ok()) return s.error();
    return t;
  }
  if (!u.starts_with(kFilePrefix)) {
    return UrlError(url, "expected 'sqlite://PATH' or 'sqlite::memory:'");
  }
  u.remove_prefix(kFilePrefix.size());
  size_t q = u.find('?');
  t.path = std::string(u.substr(0, q));
  if (t.path.empty()) return UrlError(url, "missing file path after 'sqlite://'");
  if (t.path.find('\0') != std::string::npos) return UrlError(url, "path contains a NUL byte");
  if (t.path.back() == '/') return UrlError(url, "path names a directory, not a file");
  if (q != std::string_view::npos) {
    Status s = ApplyQuery(url, u.substr(q + 1), t);
    if (!s.ok()) return s.error();
  }
  return t;
}

}  // namespace triage::store
