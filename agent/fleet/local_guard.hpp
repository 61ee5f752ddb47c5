// The node-local guard: every node of a fleet judges its own window of a
// running rollout against the plan's thresholds, every tick, and when it
// breaches sends its own traffic back to the slot that was live at the
// start (one store into its state file, no network) and hands the revert to
// the fleet, where it becomes the fleet's decision. It is what keeps a node
// safe while it cannot reach the fleet's database, and what catches a green
// that fails behind one node only (a failure the pooled windows may dilute).
//
// It acts only where the plan lets a revert happen without asking anyone:
// on_breach revert, and no gate that guards reverts (reversibility). Those
// plans are left to the decider's pooled judgement.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/core/clock.hpp"
#include "agent/core/counter_history.hpp"
#include "agent/fleet/local_weights.hpp"
#include "agent/server/controller.hpp"

namespace cutover::fleet {

class LocalGuard final : public agent::ControllerListener {
 public:
  // Receives the guard's breach and reverted events, for the fleet.
  using Hand = std::function<void(std::vector<v1::Event> events)>;

  LocalGuard(std::string node, LocalWeights& weights, const agent::Clock& clock, Hand hand);

  void OnTick(const std::vector<state::RecordSnapshot>& records,
              const std::map<std::string, v1::Rollout>& rollouts) override;
  void OnEvent(const v1::Event&) override {}

  // One round, with the times given (OnTick's, for tests).
  void Observe(agent::SteadyTime at, agent::WallTime now,
               const std::vector<state::RecordSnapshot>& records,
               const std::map<std::string, v1::Rollout>& rollouts);

 private:
  struct Watch {
    std::uint32_t failing = 0;  // distinct failing windows in a row
    agent::WallTime last_counted{};
    // As the controller judges: only traffic served after the weight in
    // force (its epoch) reached this node's nginx counts, so the failures
    // of a rollout reverted a moment ago are not the next one's.
    std::uint64_t epoch = 0;
    agent::SteadyTime evidence_after = agent::SteadyTime::min();
  };
  bool Guards(const v1::Rollout& rollout) const;

  std::string node_;
  LocalWeights& weights_;
  const agent::Clock& clock_;
  Hand hand_;
  agent::CounterHistory history_;
  std::map<std::string, Watch> watches_;                  // by rollout id
  std::set<std::string> reverted_;                        // rollout ids this guard reverted
  agent::SteadyTime last_at_ = agent::SteadyTime::min();  // the previous round's
};

}  // namespace cutover::fleet
