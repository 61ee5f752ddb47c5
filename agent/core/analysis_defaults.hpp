// What an analysis key means when a plan leaves it unset: one place for the
// agent that applies the defaults, the validation that bounds them and the
// CLI that renders them.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "agent/core/units.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {

// analysis.min_stalled: requests waiting longer than max_p99 that make a
// stall conclusive.
inline constexpr std::uint32_t kDefaultMinStalled = 3;
inline std::uint32_t MinStalled(const v1::Analysis& a) {
  return a.min_stalled() > 0 ? a.min_stalled() : kDefaultMinStalled;
}

// analysis.compare.alpha.
inline constexpr double kDefaultCompareAlpha = 0.01;
inline double CompareAlpha(const v1::Compare& c) {
  return c.alpha() > 0 ? c.alpha() : kDefaultCompareAlpha;
}
inline bool CompareLatency(const v1::Compare& c) { return !c.has_latency() || c.latency(); }

// analysis.metrics[]: 10s between queries, 5s per query (never more than the
// interval), 4 failed or empty queries in a row pause (Argo Rollouts' default).
inline constexpr Nanos kDefaultMetricInterval = std::chrono::seconds(10);
inline constexpr Nanos kDefaultMetricTimeout = std::chrono::seconds(5);
inline constexpr std::uint32_t kDefaultMetricFailureLimit = 4;
inline Nanos MetricInterval(const v1::MetricCheck& c) {
  const Nanos d = FromProto(c.interval());
  return d > Nanos(0) ? d : kDefaultMetricInterval;
}
inline Nanos MetricTimeout(const v1::MetricCheck& c) {
  const Nanos d = FromProto(c.timeout());
  return std::min(d > Nanos(0) ? d : kDefaultMetricTimeout, MetricInterval(c));
}
inline std::uint32_t MetricFailureLimit(const v1::MetricCheck& c) {
  return c.failure_limit() > 0 ? c.failure_limit() : kDefaultMetricFailureLimit;
}

}  // namespace cutover::agent
