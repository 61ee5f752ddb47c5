// analysis.compare for one rollout: the sequential tests of sequential.hpp
// fed each tick's increments of both slots' counters.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "agent/engine/sequential.hpp"
#include "cutover/state_file.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {

// Requests of the old slot before its P99 is used as the latency cut.
inline constexpr std::uint64_t kLatencyCutMinRequests = 100;

class Comparison {
 public:
  enum class Finding { kNone, kErrorsWorse, kLatencyWorse };

  Comparison(const v1::Analysis& analysis, int steps);

  // A step begins: its components start with the next whole tick.
  void BeginStep();
  // One tick's cumulative counters and the epoch in force. The increments
  // since the previous tick are evidence only when the epoch did not change
  // in between (else the tick's requests were split two ways) and the
  // counters did not go backwards; otherwise the tick only sets the base.
  void Observe(std::uint64_t epoch, const state::SlotSnapshot& new_totals,
               const state::SlotSnapshot& old_totals);
  // Forget the base: the next tick sets it again (a pause, a resume).
  void Rebase() { previous_.reset(); }

  Finding finding() const;
  // promote_early: this step's evidence shows the new slot's error rate
  // below max_error_rate (and nothing found against it).
  bool promote_ready() const;
  double alpha() const { return alpha_; }
  double bound() const { return 1.0 / alpha_; }
  // The statistics and the bound, for the journal.
  void Fill(v1::Measurement* m) const;
  std::string Reason(Finding f) const;

 private:
  struct Base {
    std::uint64_t epoch;
    state::SlotSnapshot new_totals, old_totals;
  };
  // The lowest latency bucket above the one holding the old slot's P99 so
  // far; nullopt while the old slot has too few requests.
  std::optional<std::size_t> SlowFrom() const;

  double alpha_;
  bool latency_;
  bool promote_early_;
  double max_error_rate_;
  StepMixture errors_;
  StepMixture latency_test_;
  std::optional<BelowRateTest> promote_;                             // this step's
  std::array<std::uint64_t, state::kLatencyBuckets> old_latency_{};  // since the first step
  std::optional<std::size_t> slow_from_;                             // the cut the last tick used
  std::optional<Base> previous_;
  bool started_ = false;
};

}  // namespace cutover::agent
