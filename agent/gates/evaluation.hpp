// What every gate's Evaluate shares: the clock, and the rule that nothing
// escapes it: any exception becomes a failed outcome carrying its message.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "agent/core/gate.hpp"
#include "agent/core/units.hpp"

namespace cutover::gates {

// Runs `evaluate`, names and times its outcome; never throws.
GateOutcome Evaluated(const std::string& name,
                      const std::function<GateOutcome()>& evaluate) noexcept;

// Measured durations read as an operator writes them in a plan.
using agent::FormatSeconds;

}  // namespace cutover::gates
