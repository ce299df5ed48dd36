#pragma once
// A tier's recent times to first token, for hedging's `after: p95`: the last kSize samples in a
// ring (oldest overwritten), and their 95th percentile. Bounded (kSize samples, no allocation
// after construction) and thread-safe (a small mutex: requests of every io thread record and ask).
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>

namespace triage::upstream {

class TtftWindow {
 public:
  static constexpr size_t kSize = 256;
  void Record(std::chrono::milliseconds ttft);
  // Samples held (at most kSize).
  size_t size() const;
  // The 95th percentile (nearest rank) of the samples held; nullopt while fewer than
  // `min_samples` are held.
  std::optional<std::chrono::milliseconds> P95(size_t min_samples) const;

 private:
  mutable std::mutex mu_;
  std::array<int64_t, kSize> ring_{};  // guarded by mu_
  size_t count_ = 0;                   // guarded by mu_: samples ever recorded
};

}  // namespace triage::upstream
