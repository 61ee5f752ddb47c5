#include "agent/server/event_bus.hpp"

namespace cutover::agent {

void EventBus::Publish(const v1::Event& event) {
  {
    std::lock_guard lock(mutex_);
    recent_.push_back(event);
    if (recent_.size() > kKept) recent_.pop_front();
    last_sequence_ = std::max(last_sequence_, event.sequence());
  }
  changed_.notify_all();
}

std::vector<v1::Event> EventBus::WaitAfter(std::uint64_t after, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return closed_ || last_sequence_ > after; });
  std::vector<v1::Event> out;
  for (const auto& e : recent_)
    if (e.sequence() > after) out.push_back(e);
  return out;
}

std::uint64_t EventBus::last_sequence() {
  std::lock_guard lock(mutex_);
  return last_sequence_;
}

void EventBus::Close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  changed_.notify_all();
}

bool EventBus::closed() {
  std::lock_guard lock(mutex_);
  return closed_;
}

}  // namespace cutover::agent
