// The kinds of journal events (cutover.v1.Event.kind): what the agent
// emits, what the journal restores from and what watchers match on. The
// proto's comment lists the same set.
#pragma once

namespace cutover::agent::event_kind {

inline constexpr char kAgentStarted[] = "agent_started";
inline constexpr char kWeightSet[] = "weight_set";
inline constexpr char kRolloutStarted[] = "rollout_started";
inline constexpr char kStepAdvanced[] = "step_advanced";
// In a fleet: every live node applied the step's weight; its hold starts.
inline constexpr char kStepApplied[] = "step_applied";
inline constexpr char kInconclusive[] = "inconclusive";
inline constexpr char kGateFailed[] = "gate_failed";
inline constexpr char kBreach[] = "breach";
inline constexpr char kReverted[] = "reverted";
inline constexpr char kPaused[] = "paused";
inline constexpr char kResumed[] = "resumed";
inline constexpr char kPromoted[] = "promoted";
inline constexpr char kCompleted[] = "completed";
inline constexpr char kAborted[] = "aborted";
inline constexpr char kPeerStateSet[] = "peer_state_set";
// A signal crossed its warning level (warn_error_rate, warn_p99, a metric's
// warn_max...): journaled once, acts on nothing.
inline constexpr char kWarning[] = "warning";
// The database sync (agent/sync): started or resumed (with its spec), stopped,
// a conflict and how it was resolved, and the proof that every change of the
// slot a revert left reached the slot it went back to.
inline constexpr char kSyncStarted[] = "sync_started";
inline constexpr char kSyncStopped[] = "sync_stopped";
inline constexpr char kSyncConflict[] = "sync_conflict";
inline constexpr char kRevertSynced[] = "revert_synced";

}  // namespace cutover::agent::event_kind
