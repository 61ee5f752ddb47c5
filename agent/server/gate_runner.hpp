// Runs gates off the engine's tick: gates block on databases (bounded by
// their timeouts), the tick must not. One worker thread evaluates one job at
// a time and hands the outcomes to a callback.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "agent/core/gate.hpp"
#include "agent/server/worker.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {

using GateSet = std::vector<std::unique_ptr<gates::Gate>>;
// Builds the gates of a plan; throws std::invalid_argument naming the field
// ("gates[1].sql.query: must not be empty").
using GateFactory = std::function<std::shared_ptr<GateSet>(
    const google::protobuf::RepeatedPtrField<v1::Gate>& specs)>;

// The gates library's factory (agent/gates/factory.hpp).
GateFactory DefaultGateFactory();

// Replaces the passwords in a plan's gate DSNs and URLs, and the paths of its
// notify webhooks, by "***": for every copy of a plan that is journaled,
// logged or returned.
void RedactPlan(v1::Plan* plan);

// Evaluates one gate; one that throws fails with the reason.
gates::GateOutcome EvaluateGate(gates::Gate& gate, const gates::GateContext& context);

// Evaluates the gates that apply (step gates; revert gates when
// context.before_revert; promotion gates when context.before_promotion); a
// gate that throws fails with the reason.
std::vector<gates::GateOutcome> EvaluateGates(GateSet& gates, const gates::GateContext& context);

class GateRunner {
 public:
  using Done = std::function<void(std::vector<gates::GateOutcome>)>;

  void Submit(std::shared_ptr<GateSet> gates, gates::GateContext context, Done done);
  // Drops queued jobs, tells the one running to give up (GateContext::cancel:
  // an exec gate's command is killed) and waits for it (its callback runs):
  // call before whatever the callbacks touch is destroyed. Idempotent.
  void Stop();

 private:
  std::atomic<bool> cancel_{false};  // every job's GateContext::cancel
  Worker worker_;
};

}  // namespace cutover::agent
