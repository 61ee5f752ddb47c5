#include "agent/server/tick_loop.hpp"

#include "agent/core/log.hpp"

namespace cutover::agent {

TickLoop::TickLoop(Controller& controller, Nanos tick)
    : controller_(controller), tick_(tick), thread_([this] { Run(); }) {}

TickLoop::~TickLoop() { Stop(); }

void TickLoop::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TickLoop::Run() {
  auto next = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    try {
      controller_.Tick(std::chrono::steady_clock::now());
    } catch (const std::exception& e) {
      LogError(std::string("tick failed: ") + e.what());
    }
    lock.lock();
    next += tick_;
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;  // fell behind: do not burst to catch up
    wake_.wait_until(lock, next, [&] { return stopping_; });
  }
}

}  // namespace cutover::agent
