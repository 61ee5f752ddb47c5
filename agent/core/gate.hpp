// The gate interface between the rollout engine and the data-safety gates.
// A gate is checked before each step (and, for reversibility, before an
// automatic revert); it never passes by default: an unreachable database, a
// timeout or an error is a failed gate with the reason.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/core/sync_status.hpp"
#include "cutover/state_layout.hpp"

namespace cutover::gates {

struct GateOutcome {
  std::string name;  // "replication_lag", "sql", "parity", "reversibility", "sync"
  bool passed = false;
  bool warning = false;  // passed, but worth a human's look
  std::string detail;    // what it saw; never contains a password
  std::chrono::milliseconds took{0};
};

// What a gate may need to know about the cutover being rolled out.
struct GateContext {
  std::string cutover;
  // Writes (unsafe methods answered 2xx) on the slot being rolled out to,
  // since the rollout began: what a revert would strand.
  std::uint64_t writes_on_new_slot = 0;
  // True when the engine asks before an automatic revert rather than before a step.
  bool before_revert = false;
  // The slot being rolled out to (green unless rolling back from a promoted green).
  state::Slot new_slot = state::Slot::kGreen;
  // The cutover's database sync, when the agent runs syncs (null otherwise).
  const agent::SyncStatusSource* sync = nullptr;
};

class Gate {
 public:
  virtual ~Gate() = default;
  virtual std::string name() const = 0;
  // Blocking; bounded by the gate's timeout. Never throws.
  virtual GateOutcome Evaluate(const GateContext& context) = 0;
  // Whether this gate is consulted before steps, before reverts, or both.
  virtual bool checks_steps() const { return true; }
  virtual bool checks_reverts() const { return false; }
};

}  // namespace cutover::gates
