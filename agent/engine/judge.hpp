// Judges one analysis window of the new slot (against the old one for the
// relative threshold). Pure: numbers in, verdict out.
#pragma once

#include <string>

#include "agent/core/window.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {

struct Verdict {
  enum class Kind { kInconclusive, kHealthy, kFailing };
  Kind kind = Kind::kInconclusive;
  std::string reason;           // why failing or inconclusive; "" when healthy
  v1::Measurement measurement;  // the numbers and the thresholds they were judged against

  bool healthy() const { return kind == Kind::kHealthy; }
  bool failing() const { return kind == Kind::kFailing; }
};

// A window with fewer than max(min_requests, 1) requests on the new slot is
// inconclusive: silence is never health. The ratio to the old slot is only
// judged when the old slot's window is conclusive too; a clean old slot
// counts as one error in its window, so one stray 5xx on the new slot does
// not read as an infinite ratio.
Verdict JudgeWindow(const v1::Analysis& analysis, const WindowStats& new_slot,
                    const WindowStats& old_slot);

}  // namespace cutover::agent
