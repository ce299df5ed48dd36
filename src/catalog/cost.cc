// Cost arithmetic in integer micro-dollars. 128-bit intermediates: tokens * micros_per_mtok
// overflows int64 at ~9.2e18, which a long-lived counter times a frontier price can reach.
#include <algorithm>
#include <limits>

#include "catalog/catalog.h"

namespace triage::catalog {
namespace {

using i128 = __int128;
constexpr int64_t kMicrosPerUsd = 1'000'000;
constexpr int64_t kTokensPerMtok = 1'000'000;

// |micros| as "D.dddddd" with `min_decimals`..6 decimals (trailing zeros trimmed to the min).
std::string FormatMicros(int64_t micros, int min_decimals) {
  const bool negative = micros < 0;
  // Unsigned magnitude so that INT64_MIN does not overflow on negation.
  const uint64_t mag = negative ? 0 - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  // The six digits by hand: snprintf took ~1,000 instructions per call, and every answer formats
  // two costs for its headers.
  char frac[6];
  uint64_t f = mag % kMicrosPerUsd;
  for (int i = 5; i >= 0; --i, f /= 10) frac[i] = static_cast<char>('0' + f % 10);
  int len = 6;
  while (len > min_decimals && frac[len - 1] == '0') --len;
  std::string out = negative ? "-" : "";
  out += std::to_string(mag / kMicrosPerUsd);
  if (len > 0) out.append(1, '.').append(frac, static_cast<size_t>(len));
  return out;
}

}  // namespace

int64_t CostMicros(const Price& price, const Usage& usage) {
  const int64_t input = std::max<int64_t>(usage.input_tokens, 0);
  // Cached tokens are a subset of input tokens; a provider reporting more is clamped.
  const int64_t cached = std::clamp<int64_t>(usage.cached_input_tokens, 0, input);
  // Cache writes are input tokens too, besides the cached ones.
  const int64_t written = std::clamp<int64_t>(usage.cache_write_tokens, 0, input - cached);
  const int64_t written_1h = std::clamp<int64_t>(usage.cache_write_1h_tokens, 0, written);
  const int64_t output = std::max<int64_t>(usage.output_tokens, 0);
  const int64_t cached_price =
      price.cached_input_micros_per_mtok.value_or(price.input_micros_per_mtok);
  const int64_t write_price =
      price.cache_write_micros_per_mtok.value_or(price.input_micros_per_mtok);
  const int64_t write_1h_price = price.cache_write_1h_micros_per_mtok.value_or(write_price);
  const i128 scaled = static_cast<i128>(input - cached - written) * price.input_micros_per_mtok +
                      static_cast<i128>(cached) * cached_price +
                      static_cast<i128>(written - written_1h) * write_price +
                      static_cast<i128>(written_1h) * write_1h_price +
                      static_cast<i128>(output) * price.output_micros_per_mtok +
                      // micros per 1,000 searches, in the same millionths as the tokens' terms
                      static_cast<i128>(std::max<int64_t>(usage.web_search_requests, 0)) *
                          price.web_search_micros_per_1k.value_or(0) * (kTokensPerMtok / 1000);
  // Half-up once per request, not per component, so splitting a bill never changes it.
  const i128 micros = (scaled + kTokensPerMtok / 2) / kTokensPerMtok;
  constexpr i128 kMax = std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(std::clamp<i128>(micros, 0, kMax));
}

std::string FormatUsd(int64_t micros) { return FormatMicros(micros, 6); }

std::string FormatPerMtok(int64_t micros_per_mtok) { return FormatMicros(micros_per_mtok, 2); }

}  // namespace triage::catalog
