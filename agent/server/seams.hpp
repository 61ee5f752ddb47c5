// The seams through which an agent becomes one node of a fleet. A single
// agent is given none of them and decides alone on its own state file,
// exactly as without them; agent/fleet implements them all (see the fleet
// section of docs/architecture.md).
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cutover/state_file.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {

// Where a decided weight goes. Alone: the local state file. In a fleet: the
// fleet's decision log, fenced by the lease, from which every node applies it.
class WeightStore {
 public:
  virtual ~WeightStore() = default;
  // Puts `green_bp` in force for `cutover` because of `decision` (its kind
  // says whether it moves traffic back to safety) and returns the epoch the
  // decision's event records. Throws ApiError when the decision was refused
  // (nothing stands), any other std::exception when the store failed.
  virtual std::uint64_t Store(state::StateFile& file, const std::string& cutover,
                              std::uint32_t green_bp, const v1::Event& decision) = 0;
};

// What rollouts are judged on. Alone: this node's counters. In a fleet: the
// counters of every live node added up (monotonic, like the module's own).
class CounterPool {
 public:
  virtual ~CounterPool() = default;
  // Called every tick with this node's snapshot; the records to judge on.
  virtual std::vector<state::RecordSnapshot> Pool(
      const std::vector<state::RecordSnapshot>& local) = 0;
};

// Whether this agent decides. Alone: always. In a fleet: while it holds the
// lease; the others follow the shared journal.
class DecisionRole {
 public:
  virtual ~DecisionRole() = default;
  virtual bool Deciding() const = 0;
  // Changes whenever the shared journal may hold what this agent did not
  // decide itself (it gained or lost the lease, another node reverted): the
  // controller then rebuilds its rollouts from the journal.
  virtual std::uint64_t Generation() const = 0;
  // Whether every live node has applied the last decided weight of `cutover`:
  // a step's hold and analysis start only then.
  virtual bool Applied(const std::string& cutover) const = 0;
};

// The fleet as the API sees it: a node that does not decide hands mutating
// calls to the one that does, and every status answer carries the fleet.
class FleetFront {
 public:
  virtual ~FleetFront() = default;
  virtual bool Forwards() const = 0;
  // Runs RPC `verb` with `request` on the decider as `actor` and fills
  // `response`; throws ApiError with the decider's code and message.
  virtual void Forward(const std::string& verb, const google::protobuf::Message& request,
                       const std::string& actor, google::protobuf::Message* response) = 0;
  virtual void Annotate(v1::Cutover* cutover) const = 0;
};

}  // namespace cutover::agent
