// exec {command, dir}: runs a command (a smoke test, a script of the
// runbook's) and passes when it exits 0. It sees a clean environment: PATH,
// LANG and what the rollout is (CUTOVER_CUTOVER, CUTOVER_STAGE, CUTOVER_STEP,
// CUTOVER_NEW_SLOT, CUTOVER_GREEN_PEERS, CUTOVER_BLUE_PEERS), nothing of the
// agent's own.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "agent/core/gate.hpp"

namespace cutover::gates {

// The tail of a command's output an outcome keeps.
inline constexpr std::size_t kExecOutputLimit = 4096;
inline constexpr char kExecPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

class ExecGate : public Gate {
 public:
  struct Spec {
    std::vector<std::string> command;
    std::string dir;
    bool before_promotion = false;
  };

  // Throws std::invalid_argument naming `field` ("gates[0].exec.command: ...").
  ExecGate(Spec spec, std::chrono::milliseconds timeout, const std::string& field);

  std::string name() const override { return "exec"; }
  GateOutcome Evaluate(const GateContext& context) override;
  bool checks_promotion() const override { return spec_.before_promotion; }

  // The environment a command runs with in `context`.
  static std::vector<std::string> Environment(const GateContext& context);

 private:
  Spec spec_;
  std::chrono::milliseconds timeout_;
};

}  // namespace cutover::gates
