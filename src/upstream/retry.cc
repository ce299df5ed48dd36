#include "upstream/retry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <string>

namespace triage::upstream {

Millis Backoff(int retry_index, const RetryPolicy& p, uint64_t random) {
  int shift = std::clamp(retry_index, 0, 30);
  int64_t cap = std::min<int64_t>(p.backoff_max.count(), p.backoff_base.count() << shift);
  if (cap <= 0) return Millis(0);
  return Millis(static_cast<int64_t>(random % static_cast<uint64_t>(cap + 1)));
}

namespace {

std::optional<double> Number(std::string_view s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0 || !std::isfinite(v))
    return std::nullopt;
  return v;
}

// Go-style durations as OpenAI sends them: "1s", "6m0s", "20ms", "1h2m3.5s".
std::optional<Millis> GoDuration(std::string_view s) {
  double total_ms = 0;
  size_t i = 0;
  bool any = false;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) ++j;
    auto num = Number(s.substr(i, j - i));
    if (!num) return std::nullopt;
    size_t k = j;
    while (k < s.size() && std::isalpha(static_cast<unsigned char>(s[k]))) ++k;
    std::string_view unit = s.substr(j, k - j);
    double mult = unit == "ms"  ? 1
                  : unit == "s" ? 1000
                  : unit == "m" ? 60000
                  : unit == "h" ? 3600000
                                : -1;
    if (mult < 0) return std::nullopt;
    total_ms += *num * mult;
    any = true;
    i = k;
  }
  if (!any) return std::nullopt;
  return Millis(static_cast<int64_t>(std::ceil(total_ms)));
}

std::optional<std::chrono::system_clock::time_point> ParseTime(std::string_view v, bool rfc3339) {
  std::tm tm{};
  std::string s(v);
  const char* end = rfc3339 ? strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)
                            : strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (!end) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

std::optional<Millis> ParseServerWait(std::string_view name, std::string_view value,
                                      std::chrono::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  auto until = [&](std::chrono::system_clock::time_point t) -> Millis {
    return std::max(Millis(0), std::chrono::duration_cast<Millis>(t - now));
  };
  if (name == "retry-after-ms") {
    if (auto n = Number(value)) return Millis(static_cast<int64_t>(*n));
    return std::nullopt;
  }
  if (name == "retry-after") {
    if (auto n = Number(value)) return Millis(static_cast<int64_t>(*n * 1000));
    if (auto t = ParseTime(value, false)) return until(*t);
    return std::nullopt;
  }
  if (name.starts_with("x-ratelimit-reset")) return GoDuration(value);
  if (name.starts_with("anthropic-ratelimit-") && name.ends_with("-reset")) {
    if (auto t = ParseTime(value, true)) return until(*t);
  }
  return std::nullopt;
}

RetryBudget::RetryBudget(const RetryPolicy& p)
    : deposit_(static_cast<int64_t>(p.budget_ratio * 1000)),
      cap_(static_cast<int64_t>(p.budget_min_tokens) * 1000),
      balance_(static_cast<int64_t>(p.budget_min_tokens) * 1000) {}

void RetryBudget::OnRequest() {
  int64_t cur = balance_.load(std::memory_order_relaxed);
  // The bucket holds at most budget_min_tokens (bursts) plus what recent traffic earned.
  while (cur < cap_ && !balance_.compare_exchange_weak(cur, std::min(cap_, cur + deposit_))) {
  }
}

bool RetryBudget::TryRetry() {
  int64_t cur = balance_.load(std::memory_order_relaxed);
  while (cur >= 1000) {
    if (balance_.compare_exchange_weak(cur, cur - 1000)) return true;
  }
  return false;
}

}  // namespace triage::upstream
