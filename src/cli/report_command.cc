#include "cli/report_command.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <limits>
#include <memory>
#include <vector>

#include "catalog/catalog.h"
#include "cli/eval_commands.h"

namespace triage::cli {
namespace {

using nlohmann::json;
using store::LedgerReport;
using store::ReportTotals;

// "2026-12-07 01:02:03 UTC" (text) or "2026-12-07T01:02:03.456Z" (JSON).
std::string Utc(int64_t ts_ms, bool iso) {
  const std::time_t secs =
      static_cast<std::time_t>(ts_ms >= 0 ? ts_ms / 1000 : (ts_ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, iso ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
  std::string out = buf;
  if (!iso) return out + " UTC";
  char ms[8];
  std::snprintf(ms, sizeof ms, ".%03d", static_cast<int>(((ts_ms % 1000) + 1000) % 1000));
  return out + ms + "Z";
}

std::string Hours(double h) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g hours", h);
  return buf;
}

// A JSON number whose text is FormatUsd's: exact to the micro-dollar.
json Usd(int64_t micros) { return json::parse(catalog::FormatUsd(micros)); }

// Mean of `sum` over `n`, rounded half away from zero, in micros.
int64_t MeanMicros(int64_t sum, int64_t n) {
  return sum >= 0 ? (sum + n / 2) / n : -((-sum + n / 2) / n);
}

json SavedFraction(const ReportTotals& t) {
  if (t.reference_micros <= 0) return nullptr;
  return static_cast<double>(t.saved_micros()) / static_cast<double>(t.reference_micros);
}

json TotalsJson(const ReportTotals& t) {
  json j = json::object();
  j["requests"] = t.requests;
  j["answered"] = t.answered;
  j["input_tokens"] = t.input_tokens;
  j["output_tokens"] = t.output_tokens;
  j["priced_requests"] = t.priced_requests;
  j["unpriced_requests"] = t.unpriced_requests;
  j["spend_usd"] = Usd(t.spend_micros);
  j["reference_usd"] = Usd(t.reference_micros);
  j["saved_usd"] = Usd(t.saved_micros());
  j["saved_fraction"] = SavedFraction(t);
  j["mean_cost_per_answer_usd"] = t.priced_answered > 0
                                      ? Usd(MeanMicros(t.answered_spend_micros, t.priced_answered))
                                      : json(nullptr);
  return j;
}

// The non-empty error kinds whose rows ended as `o`, "kind n, kind n".
std::string KindsOf(const LedgerReport& r, store::Outcome o) {
  std::string out;
  for (const auto& [kind, n] : r.error_kinds)
    if (store::OutcomeOf(400, kind) == o)
      out += (out.empty() ? "" : ", ") + kind + " " + std::to_string(n);
  return out;
}

std::string Count(int64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string Percent(const ReportTotals& t) {
  if (t.reference_micros <= 0) return "-";
  char buf[32];
  std::snprintf(
      buf, sizeof buf, "%.1f%%",
      100.0 * static_cast<double>(t.saved_micros()) / static_cast<double>(t.reference_micros));
  return buf;
}

std::string Row(const std::string& name, size_t width, const ReportTotals& t) {
  const std::string mean =
      t.priced_answered > 0
          ? catalog::FormatUsd(MeanMicros(t.answered_spend_micros, t.priced_answered))
          : "-";
  char buf[512];
  std::snprintf(buf, sizeof buf, "%-*s %9lld %9lld %12lld %12lld %14s %14s %14s %8s %12s\n",
                static_cast<int>(width), name.c_str(), static_cast<long long>(t.requests),
                static_cast<long long>(t.answered), static_cast<long long>(t.input_tokens),
                static_cast<long long>(t.output_tokens), catalog::FormatUsd(t.spend_micros).c_str(),
                catalog::FormatUsd(t.reference_micros).c_str(),
                catalog::FormatUsd(t.saved_micros()).c_str(), Percent(t).c_str(), mean.c_str());
  return buf;
}

constexpr const char* kNoTier = "(no tier)";

// The decisions in the order /metrics lists them, then the two the ledger adds.
constexpr const char* kDecisions[] = {"router",
                                      "default",
                                      "spilled",
                                      "pinned",
                                      "cascade_released",
                                      "cascade_escalated",
                                      "cascade_cheap_failed",
                                      "cascade_not_scored",
                                      "none"};

}  // namespace

std::string ReportText(const LedgerReport& r, const std::string& url, double since_hours) {
  const std::string window = since_hours > 0 ? " in the last " + Hours(since_hours) : "";
  if (r.rows() == 0) return "no rows in " + url + window + "\n";
  std::string out = "ledger    " + url + "\n";
  out += "period    " + Utc(r.first_ts_ms, false) + " to " + Utc(r.last_ts_ms, false) +
         (since_hours > 0 ? " (rows of the last " + Hours(since_hours) + ")" : "") + "\n";
  out += "requests  " + std::to_string(r.rows()) + ": " + std::to_string(r.answered) + " answered";
  auto part = [&](int64_t n, const char* what, store::Outcome o) {
    if (n == 0) return;
    out += ", " + std::to_string(n) + " " + what;
    const std::string kinds = KindsOf(r, o);
    if (!kinds.empty()) out += " (" + kinds + ")";
  };
  part(r.refused, "refused for the client's request", store::Outcome::kRefused);
  part(r.client_closed, "left by the client", store::Outcome::kClientClosed);
  part(r.failed, "failed upstream or in the gateway", store::Outcome::kFailed);
  out += "\n\n";

  size_t width = std::string("overall").size();
  for (const auto& [tier, t] : r.tiers)
    width = std::max(width, tier.empty() ? std::string(kNoTier).size() : tier.size());
  char head[512];
  std::snprintf(head, sizeof head, "%-*s %9s %9s %12s %12s %14s %14s %14s %8s %12s\n",
                static_cast<int>(width), "tier", "requests", "answered", "input tok", "output tok",
                "spend $", "all-frontier $", "saved $", "saved %", "per answer $");
  out += head;
  for (const auto& [tier, t] : r.tiers)
    if (!tier.empty()) out += Row(tier, width, t);
  if (auto it = r.tiers.find(""); it != r.tiers.end()) out += Row(kNoTier, width, it->second);
  out += Row("overall", width, r.overall);
  out += "(money over requests whose price is known; per answer: mean cost of an answered one)\n";

  out += "\nrouting   ";
  bool first = true;
  for (const char* d : kDecisions) {
    auto it = r.routes.find(d);
    if (it == r.routes.end()) continue;
    std::string name = d;
    std::replace(name.begin(), name.end(), '_', ' ');
    out += (first ? "" : ", ") + name + " " + std::to_string(it->second);
    first = false;
    if (name == "router" && !r.router_kinds.empty()) {
      std::string kinds;
      for (const auto& [k, n] : r.router_kinds)
        kinds += (kinds.empty() ? "" : ", ") + k + " " + std::to_string(n);
      out += " (" + kinds + ")";
    }
  }
  out += "\n";

  const ReportTotals& o = r.overall;
  if (o.unpriced_requests > 0) {
    std::string deps;
    for (const auto& [d, n] : r.unpriced_deployments)
      deps += (deps.empty() ? "" : ", ") + (d.empty() ? std::string("none") : d);
    out += Count(o.unpriced_requests, "request", "requests") + " on unpriced deployments (" + deps +
           ") " + (o.unpriced_requests == 1 ? "is" : "are") +
           " not in the saving: their cost is unknown (all-frontier $" +
           catalog::FormatUsd(o.unpriced_reference_micros) + " left out";
    if (o.unpriced_cost_micros > 0)
      out += "; $" + catalog::FormatUsd(o.unpriced_cost_micros) +
             " that their priced attempts cost is not in the spend either";
    out += ")\n";
  }
  return out;
}

json ReportJson(const LedgerReport& r, const std::string& url, double since_hours) {
  json j = json::object();
  j["ledger"] = url;
  j["since_hours"] = since_hours > 0 ? json(since_hours) : json(nullptr);
  if (r.rows() > 0)
    j["period"] = {{"first_ts_ms", r.first_ts_ms},
                   {"last_ts_ms", r.last_ts_ms},
                   {"first", Utc(r.first_ts_ms, true)},
                   {"last", Utc(r.last_ts_ms, true)}};
  else
    j["period"] = nullptr;
  json kinds = json::object();
  for (const auto& [k, n] : r.error_kinds) kinds[k] = n;
  j["requests"] = {{"total", r.rows()},    {"answered", r.answered},
                   {"refused", r.refused}, {"client_closed", r.client_closed},
                   {"failed", r.failed},   {"by_error_kind", kinds}};
  json tiers = json::array();
  for (const auto& [tier, t] : r.tiers) {
    json e = TotalsJson(t);
    e["tier"] = tier;
    tiers.push_back(std::move(e));
  }
  j["tiers"] = std::move(tiers);
  j["overall"] = TotalsJson(r.overall);
  const ReportTotals& o = r.overall;
  json deps = json::object();
  for (const auto& [d, n] : r.unpriced_deployments) deps[d] = n;
  j["unpriced"] = {{"requests", o.unpriced_requests},
                   {"input_tokens", o.unpriced_input_tokens},
                   {"output_tokens", o.unpriced_output_tokens},
                   {"known_cost_usd", Usd(o.unpriced_cost_micros)},
                   {"reference_usd", Usd(o.unpriced_reference_micros)},
                   {"deployments", std::move(deps)}};
  json routes = json::object();
  for (const char* d : kDecisions) {
    auto it = r.routes.find(d);
    routes[d] = it == r.routes.end() ? 0 : it->second;
  }
  j["routes"] = std::move(routes);
  json router_kinds = json::object();
  for (const auto& [k, n] : r.router_kinds) router_kinds[k] = n;
  j["router_kinds"] = std::move(router_kinds);
  return j;
}

void RegisterReportCommand(CLI::App& app, int* exit_code) {
  struct Args {
    std::string ledger;
    double since_hours = 0;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* rep = app.add_subcommand("report",
                                 "What the ledger says was spent and saved, per tier (read-only)");
  rep->add_option("--ledger", a->ledger, "the ledger to read (sqlite://PATH)")->required();
  rep->add_option("--since-hours", a->since_hours, "only rows this recent")
      ->check(FiniteIn(0, kNoBound, true, false));
  rep->add_flag("--json", a->json, "print one JSON object (keys: docs/ledger.md)");
  rep->callback([a, exit_code] {
    // Every row when there is no window, or one reaching back before 1970.
    const int64_t since_ms =
        WindowStartMs(a->since_hours, std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
    auto r = store::ReadLedgerReport(a->ledger, since_ms);
    if (!r) {
      std::cerr << "triage: report: " << r.error().message << "\n";
      *exit_code = 1;
      return;
    }
    if (a->json)
      std::cout << ReportJson(*r, a->ledger, a->since_hours).dump(2) << "\n";
    else
      std::cout << ReportText(*r, a->ledger, a->since_hours);
    *exit_code = 0;
    if (const std::string why = StdoutError(); !why.empty()) {
      std::cerr << "triage: report: cannot write to stdout: " << why << "\n";
      *exit_code = 1;
    }
  });
}

}  // namespace triage::cli
