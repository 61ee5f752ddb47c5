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

std::string Plural(std::uint64_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// What a revert would strand, and how the detail names it. While a sync
// delivers the new slot's changes into the old slot's database, only those it
// has not applied yet: the rest are already there.
struct Stranded {
  std::uint64_t count = 0;
  std::string what;
};

Stranded WhatARevertStrands(const GateContext& context) {
  const std::string writes = Plural(context.writes_on_new_slot, "write") +
                             " answered by the new slot since the rollout began";
  if (context.sync != nullptr) {
    // Into the slot the rollout left: blue, unless it rolls out to blue.
    const v1::Slot into = context.new_slot == "blue" ? v1::SLOT_GREEN : v1::SLOT_BLUE;
    if (const auto sync = context.sync->SyncOf(context.cutover);
        sync && agent::SyncDelivers(*sync, into)) {
      const std::uint64_t pending =
          (into == v1::SLOT_BLUE ? sync->green_to_blue() : sync->blue_to_green()).pending();
      return {pending,
              "sync running: " + Plural(pending, "change") + " of the new slot not yet in " +
                  (into == v1::SLOT_BLUE ? "blue" : "green") + "'s database (of " + writes + ")"};
    }
  }
  return {context.writes_on_new_slot, writes};
}

}  // namespace

ReversibilityGate::ReversibilityGate(ReversibilityPolicy policy, std::uint64_t max_writes)
    : policy_(policy), max_writes_(max_writes) {}

GateOutcome ReversibilityGate::Evaluate(const GateContext& context) {
  return Evaluated(name(), [&] {
    const Stranded stranded = WhatARevertStrands(context);
    const bool over = stranded.count > max_writes_;
    GateOutcome outcome;
    outcome.detail = stranded.what;
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
