#pragma once
// The Gateway: immutable config, one provider per deployment, the ledger and live stats,
// and the chat pipeline's named phases. Built once at start; shared by every session thread.
// Thread-safe: members are immutable or internally synchronised (Ledger, Stats).
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/config.h"
#include "observe/stats.h"
#include "pipeline/client_writer.h"
#include "pipeline/context.h"
#include "store/ledger.h"
#include "upstream/provider.h"

namespace triage::routing {
class Scorer;
}

namespace triage::pipeline {

class Gateway {
 public:
  // Builds providers for every deployment and the router. Errors name the deployment.
  static Result<std::unique_ptr<Gateway>> Create(std::shared_ptr<const config::Config> config,
                                                 std::unique_ptr<store::Ledger> ledger);
  ~Gateway();

  // POST /v1/chat/completions: the whole pipeline for one request, ending with exactly one
  // ledger row. `cancel` fires when the client disconnects.
  boost::asio::awaitable<void> ChatCompletions(std::string_view body, ClientWriter& out,
                                               std::shared_ptr<upstream::CancelHook> cancel);
  // A chat request refused before its body could be read (413, 431, 408): still accounted.
  boost::asio::awaitable<void> RefuseUnread(dialect::Dialect dialect, Error error,
                                            ClientWriter& out);

  // GET /v1/models body (OpenAI list format).
  std::string ModelsJson() const;

  const config::Config& config() const { return *config_; }
  observe::Stats& stats() { return *stats_; }
  store::Ledger& ledger() { return *ledger_; }

 private:
  Gateway() = default;

  // Phases. Each returns false when it has responded (refused) and the pipeline must stop.
  bool Route(RequestContext& ctx);
  boost::asio::awaitable<void> AttemptUnary(RequestContext& ctx, ClientWriter& out);
  boost::asio::awaitable<void> AttemptStream(RequestContext& ctx, ClientWriter& out);
  // The one way to refuse: error body in the client's dialect, status, accounting.
  boost::asio::awaitable<void> Refuse(RequestContext& ctx, Error error, ClientWriter& out);
  // Prices the usage, writes the ledger row (waiting for its commit) and records stats.
  // Runs exactly once per request.
  boost::asio::awaitable<void> Account(RequestContext& ctx);
  Headers ResponseHeaders(const RequestContext& ctx, bool with_cost) const;

  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<store::Ledger> ledger_;
  std::unique_ptr<observe::Stats> stats_;
  std::unordered_map<std::string, std::unique_ptr<upstream::Provider>> providers_;
  std::shared_ptr<const routing::Scorer> scorer_;
  catalog::Price reference_price_;
  std::string models_json_;
  std::string model_names_;  // "auto, open, gemma-local, ..." for model_not_found messages
};

// "req_" + 24 random hex characters. Thread-safe.
std::string NewRequestId();

}  // namespace triage::pipeline
