#include <gtest/gtest.h>

#include <limits>

#include "catalog/catalog.h"

namespace triage::catalog {
namespace {

const Price kSonnet{3'000'000, 15'000'000, std::nullopt};

TEST(CostMicros, HandComputed) {
  // 1000 * $3/M + 500 * $15/M = $0.003 + $0.0075.
  EXPECT_EQ(CostMicros(kSonnet, {1000, 500, 0}), 10'500);
  EXPECT_EQ(CostMicros(kSonnet, {0, 0, 0}), 0);
  // One output token of opus: 25e6 / 1e6 = 25 micros exactly.
  EXPECT_EQ(CostMicros(*Find("claude-opus-4.7")->price, {0, 1, 0}), 25);
}

TEST(CostMicros, RoundsHalfUpOncePerRequest) {
  const Price p{500'000, 499'999, std::nullopt};
  EXPECT_EQ(CostMicros(p, {1, 0, 0}), 1);  // 0.5 -> 1
  EXPECT_EQ(CostMicros(p, {0, 1, 0}), 0);  // 0.499999 -> 0
  EXPECT_EQ(CostMicros(p, {3, 0, 0}), 2);  // 1.5 -> 2
  // 0.3 + 0.3 = 0.6 rounds to 1; rounding each part first would give 0.
  const Price q{300'000, 300'000, std::nullopt};
  EXPECT_EQ(CostMicros(q, {1, 1, 0}), 1);
}

TEST(CostMicros, CachedTokensUseCachedPriceWhenGiven) {
  const Price with_cache{3'000'000, 15'000'000, 300'000};
  // 200 uncached * 3 + 800 cached * 0.3 = 600 + 240 micros.
  EXPECT_EQ(CostMicros(with_cache, {1000, 0, 800}), 840);
  // Without a cached price all 1000 input tokens cost the input price.
  EXPECT_EQ(CostMicros(kSonnet, {1000, 0, 800}), 3000);
}

// Anthropic's cache writes (cache_creation_input_tokens) are input tokens billed above the
// input price; without a write price they cost the input price.
TEST(CostMicros, CacheWritesUseTheWritePriceWhenGiven) {
  const Price sonnet_cache{3'000'000, 15'000'000, 300'000, 3'750'000};
  // 1,210 input: 10 plain x 3 + 1,000 read x 0.3 + 200 written x 3.75 = 30 + 300 + 750;
  // 50 output x 15 = 750. Total 1,830 micro-dollars.
  EXPECT_EQ(CostMicros(sonnet_cache, {1210, 50, 1000, 200}), 1830);
  // No write price: the 200 written cost the input price (600), as before.
  const Price read_only{3'000'000, 15'000'000, 300'000};
  EXPECT_EQ(CostMicros(read_only, {1210, 50, 1000, 200}), 30 + 300 + 600 + 750);
  // Writes beyond the input left after the cached tokens are clamped to it.
  EXPECT_EQ(CostMicros(sonnet_cache, {1000, 0, 900, 5000}), 270 + 375);
}

// Anthropic bills a 1-hour cache write at 2x the input price, a 5-minute one at 1.25x.
TEST(CostMicros, OneHourCacheWritesUseTheirPriceWhenGiven) {
  Price sonnet{3'000'000, 15'000'000, 300'000, 3'750'000};
  sonnet.cache_write_1h_micros_per_mtok = 6'000'000;
  // 1,310 input: 10 plain x 3 + 1,000 read x 0.3 + 100 (5 min) x 3.75 + 200 (1 h) x 6
  // = 30 + 300 + 375 + 1,200; 50 output x 15 = 750. Total 2,655.
  EXPECT_EQ(CostMicros(sonnet, {1310, 50, 1000, 300, 200}), 2655);
  // No 1-hour price: every write at cache_write, as before (30 + 300 + 1,125 + 750).
  const Price five_minute_only{3'000'000, 15'000'000, 300'000, 3'750'000};
  EXPECT_EQ(CostMicros(five_minute_only, {1310, 50, 1000, 300, 200}), 2205);
  // Neither write price: the input price.
  Price only_1h{3'000'000, 15'000'000};
  only_1h.cache_write_1h_micros_per_mtok = 6'000'000;
  EXPECT_EQ(CostMicros(only_1h, {1310, 50, 1000, 300, 200}), 30 + 3000 + 300 + 1200 + 750);
  // A 1-hour count above the writes is clamped to them.
  EXPECT_EQ(CostMicros(sonnet, {1310, 50, 1000, 300, 5000}), 30 + 300 + 1800 + 750);
}

TEST(CostMicros, WebSearchesAtTheirPricePerThousandWhenGiven) {
  Price sonnet{3'000'000, 15'000'000};
  // 100 input x 3 + 50 output x 15 = 300 + 750; no search price: the searches cost nothing.
  EXPECT_EQ(CostMicros(sonnet, {100, 50, 0, 0, 0, 3}), 1050);
  // $10 per 1,000 searches: 10,000 micro-dollars each.
  sonnet.web_search_micros_per_1k = 10'000'000;
  EXPECT_EQ(CostMicros(sonnet, {100, 50, 0, 0, 0, 3}), 1050 + 30'000);
  EXPECT_EQ(CostMicros(sonnet, {100, 50}), 1050);
  EXPECT_EQ(CostMicros(sonnet, {100, 50, 0, 0, 0, -4}), 1050);  // a negative count is 0
  // A price below a micro-dollar per search ($0.0015 per 1,000): 3,000 searches, 4,500.
  sonnet.web_search_micros_per_1k = 1'500;
  EXPECT_EQ(CostMicros(sonnet, {100, 50, 0, 0, 0, 3000}), 1050 + 4500);
}

TEST(CostMicros, CachedBeyondInputIsClamped) {
  const Price with_cache{3'000'000, 15'000'000, 0};
  EXPECT_EQ(CostMicros(with_cache, {100, 0, 5000}), 0);
  EXPECT_EQ(CostMicros(with_cache, {100, 0, 40}), 180);
}

TEST(CostMicros, LargeNumbersDoNotOverflow) {
  const Price opus = *Find("claude-opus-4.7")->price;
  // 1e12 output tokens * 25e6 = 2.5e19 overflows int64 in the intermediate.
  const int64_t t = 1'000'000'000'000;
  EXPECT_EQ(CostMicros(opus, {t, t, 0}), 30'000'000'000'000);
  const int64_t max = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(CostMicros(opus, {0, max, 0}), max);  // saturates instead of wrapping
}

TEST(FormatUsd, SixDecimals) {
  EXPECT_EQ(FormatUsd(1234), "0.001234");
  EXPECT_EQ(FormatUsd(0), "0.000000");
  EXPECT_EQ(FormatUsd(1'000'000), "1.000000");
  EXPECT_EQ(FormatUsd(12'345'678), "12.345678");
  EXPECT_EQ(FormatUsd(-1500), "-0.001500");
  EXPECT_EQ(FormatUsd(std::numeric_limits<int64_t>::min()), "-9223372036854.775808");
}

TEST(FormatPerMtok, TwoToSixDecimals) {
  EXPECT_EQ(FormatPerMtok(200'000), "0.20");
  EXPECT_EQ(FormatPerMtok(3'000'000), "3.00");
  EXPECT_EQ(FormatPerMtok(150'000), "0.15");
  EXPECT_EQ(FormatPerMtok(1'234), "0.001234");
  EXPECT_EQ(FormatPerMtok(1'234'500), "1.2345");
  EXPECT_EQ(FormatPerMtok(0), "0.00");
}

}  // namespace
}  // namespace triage::catalog
