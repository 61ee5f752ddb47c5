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
  std::uint64_t failures = 0;   // failed attempts (connect errors, timeouts, abandoned)
  std::uint64_t abandoned = 0;  // of the failures: the client left before the response header
  std::uint64_t writes = 0;
  std::array<std::uint64_t, state::kLatencyBuckets> latency{};  // the histogram's delta
  double p50_ms = 0, p95_ms = 0, p99_ms = 0;
  // Attempts waiting for a response header at the window's end, and of those
  // at least how many have waited longer than the stall limit asked for
  // (SlotHistory::Window): requests the histogram has not seen yet.
  std::uint64_t waiting = 0;
  std::uint64_t stalled = 0;

  // Everything that was tried: served, and failed attempts.
  std::uint64_t tried() const { return requests + failures; }
  // 5xx and failed attempts over everything that was tried.
  std::uint64_t errors() const { return responses_5xx + failures; }
  double error_rate() const {
    return tried() == 0 ? 0.0 : static_cast<double>(errors()) / static_cast<double>(tried());
  }
  double requests_per_second() const {
    const double s = std::chrono::duration<double>(span).count();
    return s <= 0 ? 0.0 : static_cast<double>(requests) / s;
  }
};

WindowStats Difference(const state::SlotSnapshot& newer, const state::SlotSnapshot& older,
                       std::chrono::nanoseconds span);

// Which part of the history a window may use.
struct WindowQuery {
  std::chrono::nanoseconds window{0};
  // Fresh evidence: only samples taken after this time may be the window's
  // base (the weight in force reached nginx before the next sample). The
  // default lets every sample be one.
  SteadyTime evidence_after = SteadyTime::min();
  // Count as stalled the attempts that started after the evidence began and
  // have waited longer than this without a response header; zero: none.
  std::chrono::nanoseconds stall_after{0};
};

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
  // The window ending at the newest sample; empty stats before two samples,
  // or before two samples were taken after query.evidence_after.
  WindowStats Window(const WindowQuery& query) const;
  WindowStats Window(std::chrono::nanoseconds window) const { return Window(WindowQuery{window}); }
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

// At least how many attempts of `newest` that started after `base` have
// waited since `cut` or longer without a response header: attempts started
// by `cut` less every attempt that stopped waiting by `newest`. With only two
// monotonic counters nothing tighter holds (the ends may be the oldest
// starts'); attempts already waiting at `base` (a worker killed mid-attempt
// leaks its waits forever) are never counted.
std::uint64_t StalledSince(const state::SlotSnapshot& base, const state::SlotSnapshot& cut,
                           const state::SlotSnapshot& newest);

}  // namespace cutover::agent
