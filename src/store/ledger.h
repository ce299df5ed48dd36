#pragma once
// The ledger: one row per request, written by the account phase only.
// Durability contract: when the completion callback of Append has run with ok, the row is
// committed to SQLite in WAL mode and survives kill -9 of the process. Surviving power loss
// as well needs "?synchronous=full" on the URL (see docs/ledger.md).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace triage::store {

struct LedgerRow {
  std::string id;               // request id (also x-request-id)
  int64_t ts_ms = 0;            // unix epoch milliseconds at request start
  std::string dialect;          // "openai" | "anthropic"
  std::string requested_model;  // what the client asked for ("auto", tier, model...)
  std::string tier;             // tier that answered (or was last tried); "" if none
  std::string deployment;       // deployment that answered (or was last tried)
  int status = 0;               // HTTP status returned to the client
  std::string error_kind;       // "" on success, else KindName()
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cached_input_tokens = 0;
  int64_t cost_micros = 0;            // actual cost
  int64_t reference_cost_micros = 0;  // same usage priced at the reference model
  bool price_known = true;
  bool stream = false;
  int attempts = 0;
  int64_t latency_ms = 0;   // request start -> the row's commit (before the last bytes go out)
  int64_t ttft_ms = -1;     // request start -> first content byte to the client; -1 = none
  std::string route;        // why this tier: the x-triage-route value ("" if none)
  double route_score = -1;  // the router's score in [0,1] behind `route`; -1 = no score
  // Some of the tokens above are triage's estimate (ceil(characters / 4)), not the upstream's
  // report: an upstream that sent no usage, a client that left before usage came back, a
  // stream cut before its final count.
  bool usage_estimated = false;
  // The part of input_tokens / output_tokens / cost_micros that attempts which failed reported
  // before failing (fell back unseen, or ended the request): billed upstream, no answer.
  int64_t failed_input_tokens = 0;
  int64_t failed_output_tokens = 0;
  int64_t failed_cost_micros = 0;
  // Web searches the upstreams ran (Anthropic server tool), every call of the request's.
  int64_t web_search_requests = 0;
};

struct LedgerTotals {
  int64_t requests = 0;
  int64_t cost_micros = 0;
  int64_t reference_cost_micros = 0;
};

class Ledger {
 public:
  virtual ~Ledger() = default;
  // Queues the row; `done` runs on the writer thread once the row is committed (or failed),
  // exactly once, and must not throw or block for long. Thread-safe. Never blocks on disk.
  virtual void Append(LedgerRow row, std::function<void(Status)> done) = 0;
  // Blocks until every queued row is committed. Thread-safe.
  virtual void Flush() = 0;
  // Reads committed rows in insertion order (newest last); for tests and tools. Thread-safe.
  virtual Result<std::vector<LedgerRow>> ReadAll() = 0;
  // Sums over committed rows (rows still queued are not counted). Thread-safe.
  virtual Result<LedgerTotals> Totals() = 0;
  // Rows whose commit failed (their callback said so) but that were kept and committed later,
  // once the database took writes again. Thread-safe.
  virtual uint64_t written_late() const { return 0; }
  // File ledgers: background WAL checkpoints completed (PASSIVE), and of them the WAL restarts
  // (RESTART: the one checkpoint a commit waits for). 0 where there is no WAL. Thread-safe.
  virtual uint64_t checkpoints() const { return 0; }
  virtual uint64_t wal_restarts() const { return 0; }
  // From now on no write waits for a lock another process holds, nor retries: a commit that
  // meets one fails at once (its rows are kept, and Close hands them back). For the end of the
  // shutdown grace period, so that the exit stays bounded. Thread-safe; idempotent.
  virtual void StopWaiting() {}
  // Stops the ledger: commits everything queued (running its callbacks), gives the rows kept
  // after a failed commit one last try (waiting at most about a second for a lock another
  // process holds; not at all after StopWaiting), and returns those that still could not be
  // written
  // (the database refuses writes: disk full, lock held): they are lost unless the caller saves
  // them. Idempotent (later calls return nothing); the destructor closes too.
  // REQUIRES: no Append during or after it.
  virtual std::vector<LedgerRow> Close() {
    Flush();
    return {};
  }
};

// Opens "sqlite://PATH[?synchronous=normal|full]" (creates the file and schema; WAL,
// synchronous=NORMAL by default) or "sqlite::memory:". The writer thread commits queued rows
// in batches (group commit). Errors (bad URL, unopenable file, schema version mismatch) come
// back as ErrorKind::kInternal with a message naming the problem. See docs/ledger.md.
Result<std::unique_ptr<Ledger>> OpenLedger(const std::string& url);

}  // namespace triage::store
