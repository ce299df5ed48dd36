#include "observe/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

namespace triage::observe {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::mutex g_mu;
constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
}  // namespace

void SetLogLevel(std::string_view level) {
  Level l = Level::kInfo;
  if (level == "debug") l = Level::kDebug;
  if (level == "warn") l = Level::kWarn;
  if (level == "error") l = Level::kError;
  g_level.store(static_cast<int>(l));
}

bool LogEnabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void Log(Level level, std::string_view msg, nlohmann::json fields) {
  if (!LogEnabled(level)) return;
  auto now = std::chrono::system_clock::now().time_since_epoch();
  nlohmann::json line = {
      {"ts", std::chrono::duration_cast<std::chrono::milliseconds>(now).count() / 1000.0},
      {"level", kNames[static_cast<int>(level)]},
      {"msg", msg}};
  if (fields.is_object()) line.update(fields);
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  std::lock_guard lock(g_mu);
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace triage::observe
