#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli/eval_commands.h"
#include "cli/report_command.h"
#include "common/malloc_library.h"
#include "common/stack.h"
#include "config/config.h"
#include "observe/log.h"
#include "pipeline/gateway.h"
#include "routing/router.h"
#include "server/server.h"
#include "store/ledger.h"
#include "store/sqlite_url.h"
#include "upstream/http_client.h"

namespace triage::cli {
namespace {

// What `check` and `serve` find wrong in a config that validated, beyond the config layer: the
// router's model (MakeScorer loads it: missing, corrupt, wrong kind), the ledger URL's options
// (?synchronous=, read by the store) and the deployments' CA files. "" when all are usable, else
// every problem, one per line ("routing.router: ..."), for "triage: FILE: ..." and exit 2.
// The router and the CA files are loaded as the gateway loads them, into `loaded` (serve hands
// them to the gateway, so that each file is read once).
std::string UsableProblems(const config::Config& cfg, pipeline::Gateway::Preloaded* loaded) {
  std::string out;
  auto add = [&out](const std::string& line) { out += (out.empty() ? "" : "\n") + line; };
  if (auto r = pipeline::Gateway::LoadRouting(cfg); !r)
    add(r.error().message);  // "routing.router: ..."
  else
    loaded->routing = *r;
  if (auto url = store::ParseSqliteUrl(cfg.ledger); !url)
    add("storage.ledger: " + url.error().message);
  // A CA bundle is loaded when the deployment's provider is built (an https base_url only).
  for (size_t i = 0; i < cfg.tiers.size(); ++i) {
    for (size_t j = 0; j < cfg.tiers[i].deployments.size(); ++j) {
      const config::Deployment& d = cfg.tiers[i].deployments[j];
      if (d.ca_file.empty() || !d.base_url.starts_with("https://")) continue;
      if (auto ctx = upstream::MakeTlsContext(d.ca_file, d.tls_verify); !ctx)
        add("tiers[" + std::to_string(i) + "].deployments[" + std::to_string(j) +
            "].ca_file: " + ctx.error().message);
      else
        loaded->tls[d.name] = *ctx;
    }
  }
  return out;
}

// Prints `problems` (UsableProblems) for the config file `path` as LoadFile's errors read.
void PrintConfigProblems(const std::string& path, const std::string& problems) {
  std::cerr << "triage: " << path << (problems.find('\n') == std::string::npos ? ": " : ":\n")
            << problems << "\n";
}

void PrintDemoBanner(const std::string& url, std::chrono::milliseconds summary_every) {
  std::printf(
      "\n"
      "triage demo: three simulated tiers (open: gemma-4-31b, mid: claude-sonnet-4.6,\n"
      "frontier: claude-opus-4.7) priced from the built-in catalog. Answers are simulated.\n"
      "\n"
      "Try it:\n"
      "  curl -s %s/v1/chat/completions -H 'content-type: application/json' \\\n"
      "    -d '{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}]}' -i\n"
      "\n"
      "  Python:  from openai import OpenAI\n"
      "           c = OpenAI(base_url=\"%s/v1\", api_key=\"demo\")\n"
      "           print(c.chat.completions.create(model=\"frontier\",\n"
      "                 messages=[{\"role\": \"user\", \"content\": \"Hi\"}]))\n"
      "\n"
      "  Node:    import OpenAI from \"openai\";\n"
      "           const c = new OpenAI({ baseURL: \"%s/v1\", apiKey: \"demo\" });\n"
      "           console.log(await c.chat.completions.create({ model: \"mid\",\n"
      "             messages: [{ role: \"user\", content: \"Hi\" }] }));\n"
      "\n"
      "model: \"auto\" is routed by the built-in learned router (a prompt that needs a stronger\n"
      "model scores higher; x-triage-route shows the score and the tier), or name a tier\n"
      "(open, mid, frontier), a deployment or a catalog id.\n"
      "Answers carry x-triage-tier, x-triage-deployment and x-triage-cost-usd (a stream's cost\n"
      "comes in HTTP trailers and its last events, after the content).\n"
      "A summary line follows every %g s; Ctrl-C stops.\n\n",
      url.c_str(), url.c_str(), url.c_str(), summary_every.count() / 1000.0);
}

// `cfg` with `listen` (serve --listen HOST:PORT, "" for none) in place of its own.
Result<std::shared_ptr<const config::Config>> WithListen(
    Result<std::shared_ptr<const config::Config>> cfg, const std::string& listen) {
  if (!cfg || listen.empty()) return cfg;
  auto hp = config::ParseHostPort(listen, "--listen");
  if (!hp) return hp.error();
  auto copy = std::make_shared<config::Config>(**cfg);
  copy->listen_host = hp->first;
  copy->listen_port = hp->second;
  return std::shared_ptr<const config::Config>(copy);
}

// The restart-only settings `fresh` changes: "listen", "storage.ledger",
// "server.shutdown_grace_ms", "health_checks", "server.cors", and
// "tiers[i].deployments" when a tier's deployments were added, removed, re-pointed or had their
// check settings or `request:` shaping changed (providers are built once, at start). For the reload
// log, so that an operator who edited them and sent SIGHUP learns that they are not running yet.
std::vector<std::string> UnappliedCheckChanges(const config::Config& running,
                                               const config::Config& fresh) {
  std::vector<std::string> out;
  if (running.listen_host != fresh.listen_host || running.listen_port != fresh.listen_port)
    out.push_back("listen");
  if (running.ledger != fresh.ledger) out.push_back("storage.ledger");
  if (running.shutdown_grace != fresh.shutdown_grace) out.push_back("server.shutdown_grace_ms");
  const auto& a = running.health_checks;
  const auto& b = fresh.health_checks;
  if (a.interval != b.interval || a.timeout != b.timeout ||
      a.unhealthy_after != b.unhealthy_after || a.healthy_after != b.healthy_after)
    out.push_back("health_checks");
  for (size_t i = 0; i < running.tiers.size() && i < fresh.tiers.size(); ++i) {
    const auto& x = running.tiers[i].deployments;
    const auto& y = fresh.tiers[i].deployments;
    bool same = x.size() == y.size();
    for (size_t j = 0; same && j < x.size(); ++j)
      same = x[j].name == y[j].name && x[j].provider == y[j].provider &&
             x[j].base_url == y[j].base_url && x[j].health_check == y[j].health_check &&
             x[j].HealthCheckTarget() == y[j].HealthCheckTarget() && x[j].request == y[j].request;
    if (!same) out.push_back("tiers[" + std::to_string(i) + "].deployments");
  }
  if (running.cors.allow_origins != fresh.cors.allow_origins ||
      running.cors.allow_headers != fresh.cors.allow_headers ||
      running.cors.max_age_seconds != fresh.cors.max_age_seconds)
    out.push_back("server.cors");
  return out;
}

// serve --config FILE, on SIGHUP: re-reads FILE and applies its routing.router,
// routing.thresholds, routing.cascade_tool_calls and routing.cascade_keepalive_ms; anything wrong
// keeps the running routing and is logged.
// `listen`: serve's --listen, which overrides the file's on a reload as at the start.
void ReloadRouting(pipeline::Gateway& gw, const std::string& path, const std::string& listen) {
  auto fresh = WithListen(config::LoadFile(path), listen);
  Status st = fresh ? gw.ReloadRouting(**fresh) : Status(fresh.error());
  gw.stats().AddReload(st.ok());
  if (!st.ok()) {
    observe::Log(observe::Level::kError, "routing reload failed; the running routing stays",
                 {{"config", path}, {"error", st.error().message}});
    return;
  }
  nlohmann::json th = (*fresh)->thresholds;
  nlohmann::json f = {{"config", path},
                      {"router", (*fresh)->router},
                      {"thresholds", th},
                      {"cascade_tool_calls", (*fresh)->cascade_tool_calls},
                      {"cascade_keepalive_ms", (*fresh)->cascade_keepalive.count()},
                      {"note",
                       "only routing.router, routing.thresholds, routing.cascade_tool_calls and "
                       "routing.cascade_keepalive_ms are reloaded"}};
  const auto unapplied = UnappliedCheckChanges(gw.config(), **fresh);
  if (!unapplied.empty()) f["not_applied_until_restart"] = unapplied;
  observe::Log(unapplied.empty() ? observe::Level::kInfo : observe::Level::kWarn,
               "routing reloaded", std::move(f));
}

// A ledger row the ledger could not write before the exit, as log fields named like its columns
// (docs/ledger.md), so that it can be inserted by hand once the database takes writes again.
nlohmann::json UnwrittenRow(const store::LedgerRow& r) {
  nlohmann::json j = nlohmann::json::object();
  j["id"] = r.id;
  j["ts_ms"] = r.ts_ms;
  j["dialect"] = r.dialect;
  j["requested_model"] = r.requested_model;
  j["tier"] = r.tier;
  j["deployment"] = r.deployment;
  j["status"] = r.status;
  j["error_kind"] = r.error_kind;
  j["input_tokens"] = r.input_tokens;
  j["output_tokens"] = r.output_tokens;
  j["cached_input_tokens"] = r.cached_input_tokens;
  j["cost_micros"] = r.cost_micros;
  j["reference_cost_micros"] = r.reference_cost_micros;
  j["price_known"] = r.price_known ? 1 : 0;
  j["stream"] = r.stream ? 1 : 0;
  j["attempts"] = r.attempts;
  j["latency_ms"] = r.latency_ms;
  j["ttft_ms"] = r.ttft_ms;
  j["route"] = r.route;
  j["route_score"] = r.route_score < 0 ? nlohmann::json() : nlohmann::json(r.route_score);
  j["usage_estimated"] = r.usage_estimated ? 1 : 0;
  j["failed_input_tokens"] = r.failed_input_tokens;
  j["failed_output_tokens"] = r.failed_output_tokens;
  j["failed_cost_micros"] = r.failed_cost_micros;
  j["web_search_requests"] = r.web_search_requests;
  nlohmann::json f = nlohmann::json::object();
  f["row"] = std::move(j);
  return f;
}

// Closes the ledger at the exit. Rows it still could not write (the database refused writes
// until the end: disk full, a lock held) are not dropped silently: each goes to the log whole,
// and a last line counts them.
void CloseLedger(store::Ledger& ledger) {
  const std::vector<store::LedgerRow> lost = ledger.Close();
  if (lost.empty()) return;
  for (const auto& r : lost)
    observe::Log(observe::Level::kError, "ledger row not written", UnwrittenRow(r));
  observe::Log(observe::Level::kError, "ledger rows not written at exit",
               {{"rows", lost.size()},
                {"note",
                 "the database refused writes until the exit; each row is in a "
                 "'ledger row not written' line above"}});
}

// Runs the gateway until a signal; returns the exit code. With a config path (serve), SIGHUP
// reloads its routing.
int RunGateway(std::shared_ptr<const config::Config> cfg, bool demo,
               std::chrono::milliseconds summary_every, const std::string& config_path = "",
               const std::string& listen_override = "",
               pipeline::Gateway::Preloaded preloaded = {}) {
  // A closed stdout or stderr (a log collector that went away, `triage demo | head`) must not
  // kill the gateway with SIGPIPE at its next log or summary line, losing the requests in
  // flight and their ledger rows: writes to it fail instead, and serving goes on.
  std::signal(SIGPIPE, SIG_IGN);
  // Before any thread starts (the ledger's, the io threads): the deepest JSON a config may allow
  // must not depend on the shell's `ulimit -s`.
  const size_t stack = EnsureThreadStacks(kThreadStackBytes);
  server::HoldStopSignals();
  observe::SetLogLevel(cfg->log_level);
  if (stack < kThreadStackBytes) {
    observe::Log(observe::Level::kWarn, "thread stacks smaller than asked",
                 {{"stack_bytes", stack},
                  {"asked_bytes", kThreadStackBytes},
                  {"note",
                   "the hard RLIMIT_STACK (ulimit -H -s) is below what was asked; bodies nested "
                   "near a large limits.max_json_depth may overflow the main thread's stack"}});
  }
  auto ledger = store::OpenLedger(cfg->ledger);
  if (!ledger) {
    std::cerr << "triage: storage.ledger: " << ledger.error().message << "\n";
    return 1;
  }
  auto gateway = pipeline::Gateway::Create(cfg, std::move(*ledger), std::move(preloaded));
  if (!gateway) {
    std::cerr << "triage: " << gateway.error().message << "\n";
    return 1;
  }
  server::Server server(**gateway);
  Status st = server.Listen(cfg->listen_host, cfg->listen_port);
  if (!st.ok()) {
    std::cerr << "triage: " << st.error().message << "\n";
    return 1;
  }
  std::printf("triage listening on %s\n", server.url().c_str());
  if (demo) PrintDemoBanner(server.url(), summary_every);
  std::fflush(stdout);
  observe::Log(observe::Level::kInfo, "listening",
               {{"url", server.url()},
                {"ledger", cfg->ledger},
                {"tiers", cfg->tiers.size()},
                {"threads", server.threads()},
                {"malloc", MallocLibrary()},
                {"stack_bytes", stack}});
  pipeline::Gateway& gw = **gateway;
  if (!config_path.empty())
    server.OnReload(
        [&gw, config_path, listen_override] { ReloadRouting(gw, config_path, listen_override); });
  std::function<void()> tick;
  if (demo) {
    tick = [&gw] {
      std::printf("[summary] %s\n", gw.stats().Summary().c_str());
      std::fflush(stdout);
    };
  }
  server.Run(tick, summary_every);
  CloseLedger(gw.ledger());
  if (demo) std::printf("[summary] %s\n", gw.stats().Summary().c_str());
  std::fflush(stdout);
  observe::Log(observe::Level::kInfo, "stopped", {{"requests", gw.stats().total_requests()}});
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"triage: a gateway for the hybrid LLM stack (OpenAI/Anthropic-compatible)",
               "triage"};
  app.set_version_flag("--version", std::string("triage ") + TRIAGE_VERSION);
  app.require_subcommand(1);
  int exit_code = 0;
  RegisterEvalCommands(app, &exit_code);
  RegisterReportCommand(app, &exit_code);

  std::string serve_config, serve_listen;
  auto* serve = app.add_subcommand("serve", "Run the gateway with a YAML config");
  serve->add_option("--config", serve_config, "Config file (YAML)")->required();
  serve->add_option("--listen", serve_listen, "HOST:PORT, overrides `listen` (port 0 = any)");
  serve->callback([&] {
    auto cfg = WithListen(config::LoadFile(serve_config), serve_listen);
    if (!cfg) {
      std::cerr << "triage: " << cfg.error().message << "\n";
      exit_code = 2;
      return;
    }
    // What `check` refuses, `serve` refuses the same way (exit 2), before anything opens.
    pipeline::Gateway::Preloaded loaded;
    if (std::string problems = UsableProblems(**cfg, &loaded); !problems.empty()) {
      PrintConfigProblems(serve_config, problems);
      exit_code = 2;
      return;
    }
    exit_code = RunGateway(*cfg, false, std::chrono::seconds(10), serve_config, serve_listen,
                           std::move(loaded));
  });

  std::string demo_listen, demo_ledger = "sqlite://triage-demo.db";
  double demo_every = 10;
  auto* demo = app.add_subcommand(
      "demo", "Run the gateway with built-in simulated tiers (no keys, no network)");
  demo->add_option("--listen", demo_listen, "HOST:PORT (default 127.0.0.1:8080)");
  demo->add_option("--ledger", demo_ledger, "Ledger URL (sqlite://PATH or sqlite::memory:)")
      ->capture_default_str();
  demo->add_option("--summary-every", demo_every, "Seconds between summary lines")
      ->capture_default_str()
      ->check(FiniteIn(0.1, 3600.0, false, false));  // CLI::Range lets "nan" through
  demo->callback([&] {
    // A malformed URL is a usage error like a malformed --listen, not a ledger that failed to open.
    if (auto url = store::ParseSqliteUrl(demo_ledger); !url) {
      std::cerr << "triage: --ledger: " << url.error().message << "\n";
      exit_code = 2;
      return;
    }
    auto cfg = WithListen(config::Demo(demo_ledger), demo_listen);
    if (!cfg) {
      std::cerr << "triage: " << cfg.error().message << "\n";
      exit_code = 2;
      return;
    }
    exit_code =
        RunGateway(*cfg, true, std::chrono::milliseconds(static_cast<int64_t>(demo_every * 1000)));
  });

  std::string check_config;
  auto* check = app.add_subcommand("check", "Validate a config file and explain it");
  check->add_option("--config", check_config, "Config file (YAML)")->required();
  check->callback([&] {
    auto cfg = config::LoadFile(check_config);
    if (!cfg) {
      std::cerr << "triage: " << cfg.error().message << "\n";
      exit_code = 2;
      return;
    }
    // The config layer checks the router's name and the ledger URL's scheme; loading the model
    // and reading the URL's options also catches a missing, corrupt or wrong-kind model file
    // and a bad ?synchronous=, both at once.
    pipeline::Gateway::Preloaded loaded;
    if (std::string problems = UsableProblems(**cfg, &loaded); !problems.empty()) {
      PrintConfigProblems(check_config, problems);
      exit_code = 2;
      return;
    }
    std::cout << config::Explain(**cfg) << "config OK\n";
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error (unknown flag, missing or out-of-range
    // value) exits 2 like triage's own usage errors, not with CLI11's 105-114.
    return app.exit(e) == 0 ? 0 : 2;
  }
  return exit_code;
}

}  // namespace triage::cli
