#include "agent/gates/evaluation.hpp"

#include <cmath>
#include <cstdio>
#include <exception>

namespace cutover::gates {

GateOutcome Evaluated(const std::string& name,
                      const std::function<GateOutcome()>& evaluate) noexcept {
  const auto start = std::chrono::steady_clock::now();
  GateOutcome outcome;
  try {
    outcome = evaluate();
  } catch (const std::exception& e) {
    outcome = GateOutcome{};
    outcome.detail = e.what();
  } catch (...) {
    outcome = GateOutcome{};
    outcome.detail = "unknown error";
  }
  outcome.name = name;
  outcome.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return outcome;
}

std::string FormatSeconds(double seconds) {
  char text[32];
  if (std::fabs(seconds) < 1.0 && seconds != 0.0) {
    std::snprintf(text, sizeof text, "%.0fms", seconds * 1000.0);
  } else if (seconds == std::trunc(seconds)) {
    std::snprintf(text, sizeof text, "%.0fs", seconds);
  } else {
    std::snprintf(text, sizeof text, "%.1fs", seconds);
  }
  return text;
}

}  // namespace cutover::gates
