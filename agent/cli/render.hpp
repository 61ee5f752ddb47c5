// Text for people: the tables and one-liners every verb prints without
// --json. Pure functions of the agent's messages, so they are unit-tested.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "cutover/v1/cutover.pb.h"

namespace cutover::cli {

// Columns padded to their widest cell, two spaces apart, no trailing blanks.
// Given a width (a terminal's), the widest columns are narrowed until a row
// fits, their cells cut with "…", instead of wrapping.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string Render(std::size_t max_width = 0) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::string SlotName(cutover::v1::Slot slot);            // "blue", "green", "-"
std::string StateName(cutover::v1::RolloutState state);  // "running", ..., "none"
bool RolloutEnded(cutover::v1::RolloutState state);      // completed, reverted, aborted
std::chrono::nanoseconds ToNanos(const google::protobuf::Duration& d);
std::string FormatTimestamp(const google::protobuf::Timestamp& t);  // 2026-11-21T01:20:00Z
std::string FormatMillis(double ms);                                // "12.3ms", "-" for 0
std::string ProgressBar(double fraction, int width);                // "[#####-----]"
std::size_t DisplayWidth(const std::string& text);                  // UTF-8 code points
// Lines of `text` cut to `width` columns ("…" where cut); 0: unchanged.
std::string FitLines(const std::string& text, std::size_t width);
// A peer state for people: "up", "drain", "down".
std::string PeerStateName(cutover::v1::PeerState state);

// The numbers a window was judged on beside the thresholds they were judged
// against ("requests 234 (min 50), 5xx 0.43% (max 1.00%), p99 6.4ms (max
// 200ms)"). Read from the Measurement message field by field, so a field
// the judge adds (a measured x with its max_x, min_x or warn_x) appears
// without a change here.
std::string JudgedText(const cutover::v1::Measurement& measurement);

// `status` without a name: one row per cutover. `width`: the terminal's, 0: any.
std::string RenderCutoverList(const cutover::v1::ListCutoversResponse& list, std::size_t width = 0);
// `status NAME`: the slot table, the peers and the rollout in force.
std::string RenderCutover(const cutover::v1::Cutover& cutover, std::size_t width = 0);
// One paragraph about a rollout (answers of the rollout verbs).
std::string RenderRollout(const cutover::v1::Rollout& rollout);
// A fleet's nodes (status NAME), and its one-line summary (the list, watch).
std::string RenderFleet(const cutover::v1::FleetStatus& fleet, std::size_t width = 0);
std::string FleetSummary(const cutover::v1::FleetStatus& fleet);
std::string RenderHistory(const cutover::v1::GetHistoryResponse& history, std::size_t width = 0);
std::string RenderPlan(const cutover::v1::Plan& plan);
std::string RenderPreflight(const cutover::v1::PreflightResponse& preflight);
std::string RenderSetWeight(const cutover::v1::SetWeightResponse& response);
std::string RenderPeerState(const cutover::v1::SetPeerStateResponse& response);

// `sync start|status|stop`: the sync's state, both directions, conflicts and
// the last revert's proof.
std::string RenderSync(const cutover::v1::Sync& sync);
// One line about a cutover's sync, for watch.
std::string SyncLine(const cutover::v1::Sync& sync);
// The proof the sync journaled for this cutover's rollout's revert; null
// until it has (or when no sync runs).
const cutover::v1::SyncRevertProof* RevertProofOf(const cutover::v1::Cutover& cutover);

// `watch`: the multi-line frame redrawn on a terminal, and the single line
// printed per refresh when the output is piped.
std::string RenderWatchFrame(const cutover::v1::Cutover& cutover);
std::string RenderWatchLine(const cutover::v1::Cutover& cutover);

// Protobuf's JSON mapping with the proto's own field names and every field
// present, so scripts see zeros instead of missing keys.
std::string ProtoToJson(const google::protobuf::Message& message);

}  // namespace cutover::cli
