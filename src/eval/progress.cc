#include "eval/progress.h"

#include <cstdio>

namespace triage::eval {

Progress::Progress(std::ostream* out, std::chrono::milliseconds every, Clock clock)
    : out_(out), every_(every), clock_(std::move(clock)) {}

void Progress::Begin(std::string stage, size_t total, std::string unit) {
  stage_ = std::move(stage);
  unit_ = std::move(unit);
  total_ = total;
  printed_ = false;
  begin_ = last_ = clock_();
}

void Progress::Update(size_t done) {
  const auto now = clock_();
  const bool last = done >= total_;
  if (last ? !printed_ : now - last_ < every_) return;
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f", std::chrono::duration<double>(now - begin_).count());
  *out_ << (context_.empty() ? "" : context_ + ": ") << stage_ << ": " << done << "/" << total_
        << " " << unit_ << " (" << secs << " s" << (last ? ", done)" : ")") << std::endl;
  printed_ = true;
  last_ = now;
}

}  // namespace triage::eval
