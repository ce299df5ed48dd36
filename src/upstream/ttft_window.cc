#include "upstream/ttft_window.h"

#include <algorithm>

namespace triage::upstream {

void TtftWindow::Record(std::chrono::milliseconds ttft) {
  std::lock_guard<std::mutex> lock(mu_);
  ring_[count_ % kSize] = std::max<int64_t>(0, ttft.count());
  ++count_;
}

size_t TtftWindow::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::min(count_, kSize);
}

std::optional<std::chrono::milliseconds> TtftWindow::P95(size_t min_samples) const {
  std::array<int64_t, kSize> copy;
  size_t n = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    n = std::min(count_, kSize);
    std::copy_n(ring_.begin(), n, copy.begin());
  }
  if (n == 0 || n < min_samples) return std::nullopt;
  // Nearest rank: the smallest sample with at least 95% of the samples at or below it.
  const size_t rank = (95 * n + 99) / 100;  // ceil(0.95 n), 1-based
  std::nth_element(copy.begin(), copy.begin() + (rank - 1), copy.begin() + n);
  return std::chrono::milliseconds(copy[rank - 1]);
}

}  // namespace triage::upstream
