// The gate interface between the rollout engine and the gates. A gate is
// checked before each step (reversibility: before an automatic revert
// instead; http and exec, where the plan says: before the automatic
// promotion too); it never passes by default: an unreachable database or URL,
// a timeout or an error is a failed gate with the reason.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/core/sync_status.hpp"

namespace cutover::gates {

struct GateOutcome {
  std::string name;  // "replication_lag", "sql", "parity", "reversibility", "sync", "http", "exec"
  bool passed = false;
  bool warning = false;  // passed, but worth a human's look
  std::string detail;    // what it saw; never contains a password
  std::chrono::milliseconds took{0};
  std::string output;  // exec: the tail of its output; http: a failing body's start (bounded)
};

// What a gate may need to know about the cutover being rolled out.
struct GateContext {
  std::string cutover;
  // Writes (unsafe methods answered 2xx) on the slot being rolled out to,
  // since the rollout began: what a revert would strand.
  std::uint64_t writes_on_new_slot = 0;
  // True when the engine asks before an automatic revert rather than before a step.
  bool before_revert = false;
  // True when it asks before the automatic promotion at the end of the plan.
  bool before_promotion = false;
  int step = -1;  // the step the gates guard (before a step); -1 otherwise
  // The peers of each slot in the state file ("10.0.0.2:8000", "unix:/run/app.sock"),
  // and the slot the rollout moves to ("green"/"blue"; "" when no cutover is
  // known): for gates that probe a slot.
  std::vector<std::string> blue_peers;
  std::vector<std::string> green_peers;
  std::string new_slot;
  // Set when the agent stops: a gate that waits on a process or a URL gives up.
  const std::atomic<bool>* cancel = nullptr;
  // The cutover's database sync, when the agent runs syncs (null otherwise).
  const agent::SyncStatusSource* sync = nullptr;
};

class Gate {
 public:
  virtual ~Gate() = default;
  virtual std::string name() const = 0;
  // Blocking; bounded by the gate's timeout. Never throws.
  virtual GateOutcome Evaluate(const GateContext& context) = 0;
  // Whether this gate is consulted before steps, before reverts, before the
  // automatic promotion.
  virtual bool checks_steps() const { return true; }
  virtual bool checks_reverts() const { return false; }
  virtual bool checks_promotion() const { return false; }
};

}  // namespace cutover::gates
