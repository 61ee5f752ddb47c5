// Plan files (YAML or JSON) as cutoverctl reads them (agent/cli/plan.hpp).
// Whatever the text, ParsePlan answers a plan or a PlanError, nothing else
// escapes it; and a plan the CLI accepts is one the agent accepts too (one
// set of limits: the agent's ValidatePlan and the gates' ValidateGates).
#include <cstdint>
#include <stdexcept>

#include "agent/cli/plan.hpp"
#include "agent/core/validation.hpp"
#include "agent/gates/factory.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using cutover::fuzz::Check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(cutover::fuzz::Text(data, size));
  cutover::v1::Plan plan;
  try {
    plan = cutover::cli::ParsePlan(text, "fuzz.yaml");
  } catch (const cutover::cli::PlanError& e) {
    Check(e.line() >= 0, "a plan error's line is 0 or more");
    return 0;
  }
  try {
    cutover::agent::ValidatePlan(plan, "plan");
    cutover::gates::ValidateGates(plan.gates());
  } catch (const std::invalid_argument& e) {
    cutover::fuzz::Broken(std::string("cutoverctl accepts a plan the agent refuses: ") + e.what() +
                          "\n" + plan.DebugString());
  }
  return 0;
}
