// Quantiles from the state file's latency histogram. C++17, no exceptions:
// the module's cutover_status uses it as well as the agent.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cutover/state_layout.hpp"

namespace cutover::state {

// The q-quantile (0 < q <= 1) of a histogram of kLatencyBuckets counts, in
// microseconds, interpolating linearly inside the bucket that holds it: a
// true quantile of the distribution the buckets describe, not a mean. The
// overflow bucket reports its lower bound (the histogram cannot say more).
// Returns 0 for an empty histogram.
inline double LatencyQuantileUs(const std::uint64_t* counts, double q) noexcept {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) total += counts[i];
  if (total == 0) return 0.0;
  if (q <= 0.0) q = 0.0;
  if (q > 1.0) q = 1.0;
  const double rank = q * static_cast<double>(total);
  double seen = 0.0;
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) {
    if (counts[i] == 0) continue;
    const double next = seen + static_cast<double>(counts[i]);
    if (next >= rank) {
      if (i == kLatencyBounds) return static_cast<double>(kLatencyBoundsUs[kLatencyBounds - 1]);
      const double lower = i == 0 ? 0.0 : static_cast<double>(kLatencyBoundsUs[i - 1]);
      const double upper = static_cast<double>(kLatencyBoundsUs[i]);
      const double within = (rank - seen) / static_cast<double>(counts[i]);
      return lower + (upper - lower) * within;
    }
    seen = next;
  }
  return static_cast<double>(kLatencyBoundsUs[kLatencyBounds - 1]);
}

}  // namespace cutover::state
