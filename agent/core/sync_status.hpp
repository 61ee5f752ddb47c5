// What the rest of the agent may know of a cutover's database sync without
// knowing how it works: the gates ask it (the sync gate, and reversibility
// while a sync runs), the server injects it. agent/sync implements it.
#pragma once

#include <optional>
#include <string>

#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {

// The prefix of every object the sync creates in a SQLite file (its change
// log, state and triggers): they belong to the sync, not to the application,
// so "tables: all" (the sync's and the parity gate's) skips them.
inline constexpr char kSyncObjectPrefix[] = "_cutover_sync_";

class SyncStatusSource {
 public:
  virtual ~SyncStatusSource() = default;
  // The cutover's sync as status shows it; nullopt when none was started.
  // Cheap and thread-safe: it never waits on a database.
  virtual std::optional<v1::Sync> SyncOf(const std::string& cutover) const = 0;
};

// Whether the sync is applying changes into `slot` right now: running, with
// the direction into that slot streaming.
inline bool SyncDelivers(const v1::Sync& sync, v1::Slot slot) {
  const v1::SyncDirection& into =
      slot == v1::SLOT_BLUE ? sync.green_to_blue() : sync.blue_to_green();
  return sync.state() == v1::SYNC_STATE_RUNNING && into.streaming();
}

// A sync's state and conflict policy as people and plan files read them:
// "running", "paused"...; "pause", "blue_wins", "green_wins".
std::string SyncStateName(v1::SyncState state);
std::string SyncPolicyName(v1::SyncConflictPolicy policy);

// The proof a revert_synced event carries, in the journal's, history's and
// watch's words: "37 green writes in flight at the revert, all applied to blue
// 84 ms later, 0 lost" (writes: row changes committed on the slot traffic
// left, not yet in the one it went back to).
std::string RevertProofText(const v1::SyncRevertProof& proof);

}  // namespace cutover::agent
