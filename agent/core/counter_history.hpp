// Keeps the sliding-window history of every cutover's two slots, fed one
// state-file snapshot per tick.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "agent/core/window.hpp"

namespace cutover::agent {

class CounterHistory {
 public:
  explicit CounterHistory(std::chrono::nanoseconds retention) : retention_(retention) {}

  // Records the counters of every snapshot; cutovers no longer present are forgotten.
  void Add(SteadyTime at, const std::vector<state::RecordSnapshot>& records);
  // Grows (never shrinks below the default) the history kept: the longest
  // analysis window in use.
  void SetRetention(std::chrono::nanoseconds retention);
  WindowStats Window(const std::string& cutover, state::Slot slot, const WindowQuery& query) const;
  WindowStats Window(const std::string& cutover, state::Slot slot,
                     std::chrono::nanoseconds window) const {
    return Window(cutover, slot, WindowQuery{window});
  }
  // Forgets every sample (the state file was replaced: counters restart).
  void Clear() { histories_.clear(); }

 private:
  std::chrono::nanoseconds retention_;
  std::map<std::string, std::array<SlotHistory, state::kSlotCount>> histories_;
};

}  // namespace cutover::agent
