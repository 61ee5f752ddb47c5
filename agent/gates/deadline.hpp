// A point in time a gate's whole evaluation must finish by: every connect,
// query and row fetch of one evaluation draws on the same budget.
#pragma once

#include <algorithm>
#include <chrono>

namespace cutover::gates {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Deadline(std::chrono::milliseconds budget)
      : budget_(budget), at_(Clock::now() + budget) {}

  bool expired() const { return Clock::now() >= at_; }
  std::chrono::milliseconds remaining() const {
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(at_ - Clock::now()));
  }
  std::chrono::milliseconds budget() const { return budget_; }

 private:
  std::chrono::milliseconds budget_;
  Clock::time_point at_;
};

}  // namespace cutover::gates
