#include "store/ledger.h"

#include "store/sqlite_ledger.h"
#include "store/sqlite_url.h"

namespace triage::store {

Result<std::unique_ptr<Ledger>> OpenLedger(const std::string& url) {
  auto target = ParseSqliteUrl(url);
  if (!target.ok()) return target.error();
  auto ledger = SqliteLedger::Open(*target);
  if (!ledger.ok()) return ledger.error();
  return std::unique_ptr<Ledger>(std::move(*ledger));
}

}  // namespace triage::store
