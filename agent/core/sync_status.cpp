#include "agent/core/sync_status.hpp"

#include <cstdio>

#include "agent/core/units.hpp"

namespace cutover::agent {

std::string SyncStateName(v1::SyncState state) {
  switch (state) {
    case v1::SYNC_STATE_STARTING:
      return "starting";
    case v1::SYNC_STATE_RUNNING:
      return "running";
    case v1::SYNC_STATE_PAUSED:
      return "paused";
    case v1::SYNC_STATE_RETRYING:
      return "retrying";
    case v1::SYNC_STATE_STOPPED:
      return "stopped";
    default:
      return "none";
  }
}

std::string SyncPolicyName(v1::SyncConflictPolicy policy) {
  switch (policy) {
    case v1::SYNC_CONFLICT_POLICY_BLUE_WINS:
      return "blue_wins";
    case v1::SYNC_CONFLICT_POLICY_GREEN_WINS:
      return "green_wins";
    default:
      return "pause";
  }
}

std::string RevertProofText(const v1::SyncRevertProof& proof) {
  const std::string to = proof.to_slot() == v1::SLOT_GREEN ? "green" : "blue";
  const std::string from = proof.to_slot() == v1::SLOT_GREEN ? "blue" : "green";
  const std::uint64_t n = proof.in_flight();
  std::string text =
      std::to_string(n) + " " + from + " write" + (n == 1 ? "" : "s") + " in flight at the revert";
  if (!proof.done())
    return text + ", " + std::to_string(proof.applied()) + " applied to " + to +
           " so far: not proven yet";
  if (n == 0) return text + " (every " + from + " change was already in " + to + "), 0 lost";
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.0f ms", ToMillis(FromProto(proof.took())));
  return text + ", " + (proof.lost() == 0 ? "all" : std::to_string(proof.applied())) +
         " applied to " + to + " " + ms + " later, " + std::to_string(proof.lost()) + " lost";
}

}  // namespace cutover::agent
