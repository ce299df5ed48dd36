#pragma once
// Structured logs: one JSON object per line on stderr. Thread-safe. Never pass secrets.
#include <nlohmann/json.hpp>
#include <string_view>

namespace triage::observe {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Sets the minimum level; "debug" | "info" | "warn" | "error" (unknown -> info).
void SetLogLevel(std::string_view level);
bool LogEnabled(Level level);
// Writes {"ts":..., "level":..., "msg":..., ...fields} as one line.
void Log(Level level, std::string_view msg, nlohmann::json fields = nlohmann::json::object());

}  // namespace triage::observe
