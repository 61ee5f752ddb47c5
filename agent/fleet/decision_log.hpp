// The fleet's decision log: how one decision (a journal event, and the
// weight it puts in force if any) becomes the fleet's, in one call of
// cutover_fleet_decide (schema.cpp): fencing check, journal entry, decided
// weight and notification in one transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "agent/fleet/pg_link.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::fleet {

// Decisions that send traffic back to the slot that was live at the start
// (and the breach that explains one): any node may make them, at any time,
// for the rollout the fleet runs.
bool IsSafeDecision(const std::string& kind);
// Whether journaling `kind` needs the lease: everything but the safe
// decisions and what is one node's own (a peer's admin state in its nginx).
bool NeedsLease(const std::string& kind);
// What a node records of its own, deciding nothing for the fleet: its
// start (no cutover) and its database syncs' events.
bool IsNodeRecord(const v1::Event& event);
// The decided weight an event puts in force (its weight_after), if its kind moves one.
std::optional<std::uint32_t> DecidedWeight(const v1::Event& event);

struct Commit {
  enum class Outcome {
    kCommitted,   // journaled (and the weight decided): the fleet's decision
    kStale,       // fenced and this node's lease epoch is not the live one: refused
    kSuperseded,  // a safe decision for a rollout the fleet no longer runs: dropped
  };
  Outcome outcome = Outcome::kStale;
  std::uint64_t epoch = 0;     // the cutover's decided epoch after it
  std::uint64_t sequence = 0;  // the journal's sequence of the event
};

struct Decider {
  std::string node;
  std::uint64_t lease_epoch = 0;  // the fencing token this node holds (0: none)
  std::string origin;             // "controller" or "guard": who inside the node decided
};

// Journals `event`, a node's record (IsNodeRecord), as `node`'s under the
// fleet journal's next sequence (filled in), in the same order as the
// decisions. Throws FleetDbError when the database could not be asked.
void RecordEvent(PgLink& link, const std::string& node, v1::Event* event);

// Commits `event` (its node, sequence and epoch are filled in on success).
// Throws FleetDbError when the database could not be asked. A journal
// sequence taken by a concurrent writer is retried.
Commit CommitDecision(PgLink& link, const Decider& decider, v1::Event* event);

}  // namespace cutover::fleet
