// Time as the agent's decisions see it. The rollout engine never reads a
// clock itself: it is handed "now", so tests drive it with a fake clock and
// a restarted agent measures holds against journaled wall-clock times.
#pragma once

#include <chrono>

namespace cutover::agent {

using WallClock = std::chrono::system_clock;
using WallTime = WallClock::time_point;
using Nanos = std::chrono::nanoseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual WallTime Now() const = 0;
};

class RealClock final : public Clock {
 public:
  WallTime Now() const override { return WallClock::now(); }
};

// A clock that moves only when told to: for tests.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime start = WallTime(std::chrono::seconds(1'700'000'000)))
      : now_(start) {}
  WallTime Now() const override { return now_; }
  void Advance(Nanos d) { now_ += d; }
  void Set(WallTime t) { now_ = t; }

 private:
  WallTime now_;
};

}  // namespace cutover::agent
