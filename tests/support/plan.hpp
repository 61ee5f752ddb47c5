// Plans as whole-stack tests and benchmarks write them: rising steps with
// one hold, an analysis window and the usual thresholds.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "cutover/v1/cutover.pb.h"

namespace cutover::test {

inline void SetDuration(google::protobuf::Duration* d, std::chrono::milliseconds ms) {
  d->set_seconds(ms.count() / 1000);
  d->set_nanos(static_cast<int>(ms.count() % 1000) * 1000000);
}

inline v1::Plan MakePlan(const std::vector<double>& steps, std::chrono::milliseconds hold,
                         std::chrono::milliseconds window = std::chrono::seconds(1),
                         std::uint64_t min_requests = 20, double max_error_rate = 0.05) {
  v1::Plan plan;
  for (double percent : steps) {
    auto* step = plan.add_steps();
    step->set_percent(percent);
    SetDuration(step->mutable_hold(), hold);
  }
  auto* analysis = plan.mutable_analysis();
  SetDuration(analysis->mutable_window(), window);
  analysis->set_min_requests(min_requests);
  analysis->set_max_error_rate(max_error_rate);
  return plan;
}

}  // namespace cutover::test
