// reversibility {policy, max_writes}: the writes the new slot has answered 2xx
// since the rollout began are what a revert would strand. Consulted before an
// automatic revert (checks_reverts), not before steps; evaluated for status
// (before_revert=false) it only reports.
//   allow: always passes, reports the count
//   warn:  passes, with a warning past max_writes
//   block: past max_writes, fails before a revert (the engine pauses and asks
//          a human instead of reverting); for status it passes with a warning
#pragma once

#include <cstdint>

#include "agent/core/gate.hpp"

namespace cutover::gates {

enum class ReversibilityPolicy { kAllow, kWarn, kBlock };

class ReversibilityGate : public Gate {
 public:
  ReversibilityGate(ReversibilityPolicy policy, std::uint64_t max_writes);

  std::string name() const override { return "reversibility"; }
  GateOutcome Evaluate(const GateContext& context) override;
  bool checks_steps() const override { return false; }
  bool checks_reverts() const override { return true; }

 private:
  ReversibilityPolicy policy_;
  std::uint64_t max_writes_;
};

}  // namespace cutover::gates
