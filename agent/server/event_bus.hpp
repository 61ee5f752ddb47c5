// Fans journaled events out to WatchEvents streams: a bounded ring of the
// newest events and a condition variable the streams wait on.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {

class EventBus {
 public:
  static constexpr std::size_t kKept = 4096;

  void Publish(const v1::Event& event);
  // Events with a sequence above `after`, waiting up to `timeout` for one.
  std::vector<v1::Event> WaitAfter(std::uint64_t after, std::chrono::milliseconds timeout);
  std::uint64_t last_sequence();
  // Wakes every waiter for good (the agent is stopping).
  void Close();
  bool closed();

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<v1::Event> recent_;
  std::uint64_t last_sequence_ = 0;
  bool closed_ = false;
};

}  // namespace cutover::agent
