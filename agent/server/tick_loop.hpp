// Drives the controller: one Tick every `tick` on a steady schedule, on a
// thread of its own, until stopped. A tick that falls behind is not made up
// in a burst: the next one starts from now.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "agent/core/clock.hpp"
#include "agent/server/controller.hpp"

namespace cutover::agent {

class TickLoop {
 public:
  TickLoop(Controller& controller, Nanos tick);
  ~TickLoop();
  TickLoop(const TickLoop&) = delete;
  TickLoop& operator=(const TickLoop&) = delete;
  // Waits for the tick in progress, if any; idempotent.
  void Stop();

 private:
  void Run();

  Controller& controller_;
  Nanos tick_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cutover::agent
