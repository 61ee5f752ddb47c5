// sync {max_lag, max_conflicts}: holds a step while the cutover's database
// sync (agent/sync, through the status the server injects) is not running,
// is behind by more than max_lag in either direction, or has seen more than
// max_conflicts conflicts. Reads a status, connects to nothing.
#pragma once

#include <chrono>
#include <cstdint>

#include "agent/core/gate.hpp"

namespace cutover::gates {

inline constexpr std::chrono::milliseconds kDefaultSyncMaxLag{1000};

class SyncGate : public Gate {
 public:
  SyncGate(std::chrono::milliseconds max_lag, std::uint64_t max_conflicts);

  std::string name() const override { return "sync"; }
  GateOutcome Evaluate(const GateContext& context) override;

 private:
  std::chrono::milliseconds max_lag_;
  std::uint64_t max_conflicts_;
};

}  // namespace cutover::gates
