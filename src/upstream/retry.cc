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

// A wait from a number of milliseconds that may be absurd ("retry-after: 1e20"): saturated far
// beyond any max_server_wait rather than overflowing int64 into a negative (= no) wait.
Millis Saturated(double ms) {
  constexpr double kMaxMs = 1e15;  // ~31,700 years
  return Millis(static_cast<int64_t>(std::ceil(std::min(ms, kMaxMs))));
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
  return Saturated(total_ms);
}

// Seconds since the epoch (not a time_point: year 9999 overflows its nanoseconds).
std::optional<int64_t> ParseTime(std::string_view v, bool rfc3339) {
  std::tm tm{};
  std::string s(v);
  const char* end = rfc3339 ? strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)
                            : strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (!end) return std::nullopt;
  int64_t t = timegm(&tm);
  if (!rfc3339) return t;
  // RFC 3339's fraction (rounded up: never wait less than asked) and offset ("Z" or "+01:00").
  const char* p = end;
  if (*p == '.') {
    bool fraction = false;
    for (++p; std::isdigit(static_cast<unsigned char>(*p)); ++p) fraction |= *p != '0';
    if (fraction) ++t;
  }
  auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  if ((*p == '+' || *p == '-') && digit(p[1]) && digit(p[2]) && p[3] == ':' && digit(p[4]) &&
      digit(p[5])) {
    const int64_t offset =
        ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 + ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
    t += *p == '+' ? -offset : offset;
  }
  return t;
}

}  // namespace

std::optional<Millis> ParseServerWait(std::string_view name, std::string_view value,
                                      std::chrono::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  auto until = [&](int64_t epoch_s) -> Millis {
    const double ms = static_cast<double>(epoch_s) * 1000.0 -
                      std::chrono::duration<double, std::milli>(now.time_since_epoch()).count();
    return ms <= 0 ? Millis(0) : Saturated(ms);
  };
  if (name == "retry-after-ms") {
    if (auto n = Number(value)) return Saturated(*n);
    return std::nullopt;
  }
  if (name == "retry-after") {
    if (auto n = Number(value)) return Saturated(*n * 1000);
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
      // At least one token: without a burst allowance (budget_min 0) retries are still earned.
      cap_(std::max<int64_t>(1, p.budget_min_tokens) * 1000),
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
