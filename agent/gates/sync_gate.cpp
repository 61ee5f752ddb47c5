#include "agent/gates/sync_gate.hpp"

#include "agent/core/sync_status.hpp"
#include "agent/gates/evaluation.hpp"

namespace cutover::gates {

namespace {

std::string DirectionText(const char* name, const v1::SyncDirection& d) {
  return std::string(name) + " " + std::to_string(d.pending()) + " pending, lag " +
         FormatSeconds(d.lag_ms() / 1000.0);
}

}  // namespace

SyncGate::SyncGate(std::chrono::milliseconds max_lag, std::uint64_t max_conflicts)
    : max_lag_(max_lag), max_conflicts_(max_conflicts) {}

GateOutcome SyncGate::Evaluate(const GateContext& context) {
  return Evaluated(name(), [&] {
    GateOutcome outcome;
    if (context.cutover.empty()) {
      outcome.detail = "needs the cutover whose sync it reads (preflight --cutover NAME)";
      return outcome;
    }
    const auto sync =
        context.sync != nullptr ? context.sync->SyncOf(context.cutover) : std::optional<v1::Sync>();
    if (!sync || sync->state() == v1::SYNC_STATE_UNSPECIFIED) {
      outcome.detail = "no sync runs for cutover \"" + context.cutover +
                       "\" (cutoverctl sync start " + context.cutover + " ...)";
      return outcome;
    }
    const std::string limits = " (max_lag " + FormatSeconds(max_lag_.count() / 1000.0) +
                               ", max_conflicts " + std::to_string(max_conflicts_) + ")";
    const std::string seen = DirectionText("blue->green", sync->blue_to_green()) + "; " +
                             DirectionText("green->blue", sync->green_to_blue()) + "; " +
                             std::to_string(sync->conflicts()) + " conflict" +
                             (sync->conflicts() == 1 ? "" : "s");
    if (sync->state() != v1::SYNC_STATE_RUNNING) {
      outcome.detail = "sync " + agent::SyncStateName(sync->state()) +
                       (sync->reason().empty() ? "" : ": " + sync->reason()) + limits;
      return outcome;
    }
    if (sync->conflicts() > max_conflicts_) {
      outcome.detail = std::to_string(sync->conflicts()) + " conflicts > max_conflicts " +
                       std::to_string(max_conflicts_);
      if (sync->has_last_conflict())
        outcome.detail += " (last: " + sync->last_conflict().table() + " " +
                          sync->last_conflict().key() + ", " + sync->last_conflict().resolution() +
                          ")";
      return outcome;
    }
    for (const auto& [label, d] : {std::pair{"blue->green", &sync->blue_to_green()},
                                   std::pair{"green->blue", &sync->green_to_blue()}}) {
      if (!d->streaming()) {
        outcome.detail = std::string(label) + " is not streaming: " + seen + limits;
        return outcome;
      }
      if (d->lag_ms() > static_cast<double>(max_lag_.count())) {
        outcome.detail = std::string(label) + " lag " + FormatSeconds(d->lag_ms() / 1000.0) +
                         " > max " + FormatSeconds(max_lag_.count() / 1000.0) + ": " + seen;
        return outcome;
      }
    }
    outcome.passed = true;
    outcome.detail = seen + limits;
    return outcome;
  });
}

}  // namespace cutover::gates
