#pragma once
// Progress of long offline work (bootstrap resamples, training epochs) as lines on a stream,
// stderr in the CLI, never stdout: at most one line per `every`, and none for a stage that
// finishes sooner, so short runs stay quiet. Not thread-safe: one per thread of work.
#include <chrono>
#include <cstddef>
#include <functional>
#include <ostream>
#include <string>

namespace triage::eval {

class Progress {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // REQUIRES: out outlives this.
  explicit Progress(std::ostream* out, std::chrono::milliseconds every = std::chrono::seconds(1),
                    Clock clock = &std::chrono::steady_clock::now);

  // Prefix of the stages that follow (e.g. the router in a comparison); "" for none.
  void SetContext(std::string context) { context_ = std::move(context); }
  // Starts a stage of `total` units: "bootstrap gsm8k", 20000, "resamples".
  void Begin(std::string stage, size_t total, std::string unit);
  // `done` units of the stage are done. Prints "[CONTEXT: ]STAGE: DONE/TOTAL UNIT (Ts)" once
  // `every` has passed since the stage began or since its last line, and at done == total when
  // the stage printed before (its last line then ends in ", done").
  void Update(size_t done);

 private:
  std::ostream* out_;
  std::chrono::milliseconds every_;
  Clock clock_;
  std::string context_, stage_, unit_;
  size_t total_ = 0;
  bool printed_ = false;
  std::chrono::steady_clock::time_point begin_, last_;
};

}  // namespace triage::eval
