// Judges one analysis window of the new slot (against the old one for the
// relative threshold). Pure: numbers in, verdict out.
#pragma once

#include <string>
#include <vector>

#include "agent/core/window.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {

// One warning level of the plan as this window saw it.
struct WarningLevel {
  std::string signal;    // "error_rate", "p99", "error_ratio_vs_blue"
  bool crossed = false;  // above the warning level (else below it)
  std::string reason;    // what crossed, when it did
};

struct Verdict {
  enum class Kind { kInconclusive, kHealthy, kFailing };
  Kind kind = Kind::kInconclusive;
  std::string reason;           // why failing or inconclusive; "" when healthy
  v1::Measurement measurement;  // the numbers and the thresholds they were judged against
  // Every warning level the plan sets, when the window is conclusive.
  std::vector<WarningLevel> warnings;

  bool healthy() const { return kind == Kind::kHealthy; }
  bool failing() const { return kind == Kind::kFailing; }
};

// In this order:
//  1. A stall: at least min_stalled (default 3) requests have waited longer than
//     max_p99 without a response header, and they are more than 1% of what
//     the window saw (completed + stalled), so the window's P99 is at least
//     max_p99 whatever the requests still waiting will take. Failing, however
//     few requests the window holds: min_requests never hides a stall.
//  2. Fewer than max(min_requests, 1) requests tried on the new slot:
//     inconclusive, silence is never health.
//  3. The error rate, the P99 (stalled requests counted in as observations
//     above max_p99) and the ratio to the old slot. The ratio is only judged
//     when the old slot's window is conclusive too; a clean old slot counts as
//     one error in its window, so one stray 5xx on the new slot does not read
//     as an infinite ratio.
Verdict JudgeWindow(const v1::Analysis& analysis, const WindowStats& new_slot,
                    const WindowStats& old_slot);

// The window's P99 in milliseconds with `stalled` more observations above
// `limit_ms` (the stall limit): the P99 of everything the window saw.
double P99WithStalledMs(const WindowStats& w, double limit_ms);

}  // namespace cutover::agent
