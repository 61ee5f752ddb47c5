#include "agent/gates/evaluation.hpp"

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

}  // namespace cutover::gates
