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

// Where a decision goes, in two steps. Alone: the weight into the local
// state file, and the event to the journal writer, which numbers it and
// writes it off the decision path. In a fleet: the decision is committed to
// the fleet's database first, fenced by the lease, in one transaction that
// also journals it under the number the database gives; every node applies
// its weight from there (see the fleet section of docs/architecture.md).
class DecisionStore {
 public:
  virtual ~DecisionStore() = default;
  // Step one, for a decision that moves traffic: puts `green_bp` in force
  // for `cutover` as far as this node can now (`decision`'s kind says
  // whether it moves traffic back to safety, which is stored here at once)
  // and returns the control word the decision's event records.
  virtual state::Control Store(state::StateFile& file, const std::string& cutover,
                               std::uint32_t green_bp, const v1::Event& decision) = 0;
  // Step two, for every event, before it is published: true when `event` is
  // committed under the sequence (and epoch) it now carries, and the journal
  // writer has only to confirm it; false when it stands on this node alone
  // for now (back to safety while the database is out of reach, delivered
  // later under a number given then). Throws ApiError when it was refused:
  // nothing of it may stand or be published.
  virtual bool Commit(v1::Event& event) = 0;
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
