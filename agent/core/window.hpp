// Sliding windows over the module's monotonic counters. The sampler keeps a
// bounded history of cumulative per-slot totals; a window is the difference
// between the newest sample and the one at (or just before) its start, so
// quantiles come from histogram deltas: a true P99 of that window.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>

#include "cutover/state_file.hpp"

namespace cutover::agent {

using SteadyTime = std::chrono::steady_clock::time_point;

// What a window saw of one slot.
struct WindowStats {
  std::chrono::nanoseconds span{0};  // time actually covered by the samples
  std::uint64_t requests = 0;        // served by the slot
  std::uint64_t responses_5xx = 0;
  std::uint64_t failures = 0;  // failed attempts (connect errors, timeouts)
  std::uint64_t writes = 0;
  double p50_ms = 0, p95_ms = 0, p99_ms = 0;

  // 5xx and failed attempts over everything that was tried.
  std::uint64_t errors() const { return responses_5xx + failures; }
  double error_rate() const {
    const std::uint64_t tried = requests + failures;
    return tried == 0 ? 0.0 : static_cast<double>(errors()) / static_cast<double>(tried);
  }
  double requests_per_second() const {
    const double s = std::chrono::duration<double>(span).count();
    return s <= 0 ? 0.0 : static_cast<double>(requests) / s;
  }
};

WindowStats Difference(const state::SlotSnapshot& newer, const state::SlotSnapshot& older,
                       std::chrono::nanoseconds span);

// The history of one slot's cumulative counters, thinned so that it never
// holds more than about kMaxSamples over its retention, whatever the tick.
class SlotHistory {
 public:
  static constexpr std::size_t kMaxSamples = 256;

  explicit SlotHistory(std::chrono::nanoseconds retention) : retention_(retention) {}

  // Counters that went backwards mean the record was recreated: the
  // history starts again from this sample.
  void Add(SteadyTime at, const state::SlotSnapshot& totals);
  void SetRetention(std::chrono::nanoseconds retention) { retention_ = retention; }
  // The window ending at the newest sample; empty stats before two samples.
  WindowStats Window(std::chrono::nanoseconds window) const;
  const state::SlotSnapshot* Latest() const {
    return samples_.empty() ? nullptr : &samples_.back().totals;
  }

 private:
  struct Sample {
    SteadyTime at;
    state::SlotSnapshot totals;
  };
  std::chrono::nanoseconds retention_;
  std::deque<Sample> samples_;
};

}  // namespace cutover::agent
