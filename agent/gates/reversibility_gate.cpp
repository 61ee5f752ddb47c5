#include "agent/gates/reversibility_gate.hpp"

#include "agent/gates/evaluation.hpp"

namespace cutover::gates {

namespace {

const char* PolicyName(ReversibilityPolicy policy) {
  switch (policy) {
    case ReversibilityPolicy::kAllow:
      return "allow";
    case ReversibilityPolicy::kWarn:
      return "warn";
    case ReversibilityPolicy::kBlock:
      return "block";
  }
  return "?";
}

}  // namespace

ReversibilityGate::ReversibilityGate(ReversibilityPolicy policy, std::uint64_t max_writes)
    : policy_(policy), max_writes_(max_writes) {}

GateOutcome ReversibilityGate::Evaluate(const GateContext& context) {
  return Evaluated(name(), [&] {
    const std::uint64_t writes = context.writes_on_new_slot;
    const bool over = writes > max_writes_;
    GateOutcome outcome;
    outcome.detail = std::to_string(writes) + " write" + (writes == 1 ? "" : "s") +
                     " answered by the new slot since the rollout began";
    const std::string limit = " (policy " + std::string(PolicyName(policy_)) + ", max_writes " +
                              std::to_string(max_writes_) + ")";
    if (policy_ == ReversibilityPolicy::kAllow || !over) {
      outcome.passed = true;
      outcome.detail += limit;
    } else if (policy_ == ReversibilityPolicy::kWarn) {
      outcome.passed = true;
      outcome.warning = true;
      outcome.detail += " would be stranded by a revert" + limit;
    } else if (context.before_revert) {
      outcome.detail +=
          " would be stranded by a revert: revert refused, pausing for a human" + limit;
    } else {
      outcome.passed = true;
      outcome.warning = true;
      outcome.detail += ": an automatic revert would be refused" + limit;
    }
    return outcome;
  });
}

}  // namespace cutover::gates
