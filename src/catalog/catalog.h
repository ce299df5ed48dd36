#pragma once
// The built-in model catalog (PRODUCT.md) and cost arithmetic in integer micro-dollars.
// Thread safety: the built-in catalog is immutable after first use; all functions are pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace triage::catalog {

// Prices are integer micro-dollars (1e-6 USD) per million tokens: $0.20/Mtok = 200'000.
struct Price {
  int64_t input_micros_per_mtok = 0;
  int64_t output_micros_per_mtok = 0;
  // Price of cached input tokens; when absent, cached tokens are priced as input.
  std::optional<int64_t> cached_input_micros_per_mtok;
  // Price of input tokens written to a prompt cache (Anthropic's cache_creation_input_tokens,
  // which the Messages API bills above the input price); when absent, priced as input.
  std::optional<int64_t> cache_write_micros_per_mtok = std::nullopt;
  // Price of the cache writes that go to a 1-hour cache (Anthropic's
  // cache_creation.ephemeral_1h_input_tokens, billed at twice the input price where the 5-minute
  // ones are 1.25 times it); when absent, priced like the other cache writes.
  std::optional<int64_t> cache_write_1h_micros_per_mtok = std::nullopt;
  // Price of 1,000 web searches an upstream runs for the model (Anthropic's server tool,
  // usage.server_tool_use.web_search_requests), on top of the tokens; absent: not billed.
  std::optional<int64_t> web_search_micros_per_1k = std::nullopt;
};

struct ModelInfo {
  std::string id;                         // "gemma-4-31b"
  std::string kind;                       // "open, dense" / "closed API" ...
  std::string licence;                    // "Apache-2.0"
  std::optional<int64_t> context_tokens;  // nullopt = unknown ("long" in PRODUCT.md)
  std::vector<std::string> modalities;    // "text", "image", "audio"
  std::optional<Price> price;             // nullopt = unknown (self-hosted, operator sets)
  bool open_weight = false;               // true = may run self-hosted
  std::string notes;
};

// All built-in models, in PRODUCT.md order.
const std::vector<ModelInfo>& Builtin();
// nullptr when unknown.
const ModelInfo* Find(std::string_view id);

struct Usage {
  int64_t input_tokens = 0;  // includes cached_input_tokens and cache_write_tokens
  int64_t output_tokens = 0;
  int64_t cached_input_tokens = 0;    // read from a prompt cache
  int64_t cache_write_tokens = 0;     // written to a prompt cache
  int64_t cache_write_1h_tokens = 0;  // of cache_write_tokens, written to a 1-hour cache
  int64_t web_search_requests = 0;    // web searches run by the upstream (server tool)
};

// Cost in micro-dollars, rounded half-up per request. REQUIRES: non-negative token counts.
int64_t CostMicros(const Price& price, const Usage& usage);

// "0.001234" style decimal USD string from micro-dollars (always 6 decimals).
std::string FormatUsd(int64_t micros);

// A per-Mtok price for humans: 200'000 -> "0.20", 3'000'000 -> "3.00", 1'234 -> "0.001234"
// (2 to 6 decimals, trailing zeros trimmed down to 2). Negative values get a leading '-'.
std::string FormatPerMtok(int64_t micros_per_mtok);

}  // namespace triage::catalog
