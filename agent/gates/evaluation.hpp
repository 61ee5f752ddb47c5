// What every gate's Evaluate shares: the clock, and the rule that nothing
// escapes it: any exception becomes a failed outcome carrying its message.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "agent/gates/gate.hpp"

namespace cutover::gates {

// Runs `evaluate`, names and times its outcome; never throws.
GateOutcome Evaluated(const std::string& name,
                      const std::function<GateOutcome()>& evaluate) noexcept;

// "250ms", "5s", "1.5s": durations as an operator writes them in a plan.
std::string FormatSeconds(double seconds);

}  // namespace cutover::gates
