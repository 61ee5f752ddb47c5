// Text for people: the tables and one-liners every verb prints without
// --json. Pure functions of the agent's messages, so they are unit-tested.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "cutover/v1/cutover.pb.h"

namespace cutover::cli {

// Columns padded to their widest cell, two spaces apart, no trailing blanks.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string Render() const;

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

// `status` without a name: one row per cutover.
std::string RenderCutoverList(const cutover::v1::ListCutoversResponse& list);
// `status NAME`: the slot table and the rollout in force.
std::string RenderCutover(const cutover::v1::Cutover& cutover);
// One paragraph about a rollout (answers of the rollout verbs).
std::string RenderRollout(const cutover::v1::Rollout& rollout);
// A fleet's nodes (status NAME), and its one-line summary (the list, watch).
std::string RenderFleet(const cutover::v1::FleetStatus& fleet);
std::string FleetSummary(const cutover::v1::FleetStatus& fleet);
std::string RenderHistory(const cutover::v1::GetHistoryResponse& history);
std::string RenderPlan(const cutover::v1::Plan& plan);
std::string RenderPreflight(const cutover::v1::PreflightResponse& preflight);
std::string RenderSetWeight(const cutover::v1::SetWeightResponse& response);

// `watch`: the multi-line frame redrawn on a terminal, and the single line
// printed per refresh when the output is piped.
std::string RenderWatchFrame(const cutover::v1::Cutover& cutover);
std::string RenderWatchLine(const cutover::v1::Cutover& cutover);

// Protobuf's JSON mapping with the proto's own field names and every field
// present, so scripts see zeros instead of missing keys.
std::string ProtoToJson(const google::protobuf::Message& message);

}  // namespace cutover::cli
