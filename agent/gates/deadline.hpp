// A point in time a gate's whole evaluation must finish by: every connect,
// query and row fetch of one evaluation draws on the same budget.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>

namespace cutover::gates {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  // `cancel` (GateContext::cancel, may be null): set when nobody waits for
  // the gate any more (the agent stops, a Preflight's caller left).
  explicit Deadline(std::chrono::milliseconds budget, const std::atomic<bool>* cancel = nullptr)
      : budget_(budget), at_(Clock::now() + budget), cancel_(cancel) {}

  bool cancelled() const { return cancel_ != nullptr && cancel_->load(); }
  // How long one wait may last before it looks at `cancelled` again.
  std::chrono::milliseconds slice() const {
    return cancel_ == nullptr ? remaining() : std::min(remaining(), std::chrono::milliseconds(50));
  }

  bool expired() const { return Clock::now() >= at_; }
  std::chrono::milliseconds remaining() const {
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(at_ - Clock::now()));
  }
  std::chrono::milliseconds budget() const { return budget_; }

 private:
  std::chrono::milliseconds budget_;
  Clock::time_point at_;
  const std::atomic<bool>* cancel_;
};

}  // namespace cutover::gates
