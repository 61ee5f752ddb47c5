#include "agent/fleet/decision_log.hpp"

#include "agent/core/event_kinds.hpp"
#include "agent/core/units.hpp"
#include "agent/journal/journal.hpp"

namespace cutover::fleet {

namespace ek = agent::event_kind;

bool IsSafeDecision(const std::string& kind) {
  return kind == ek::kReverted || kind == ek::kAborted || kind == ek::kBreach;
}

bool NeedsLease(const std::string& kind) {
  return !IsSafeDecision(kind) && kind != ek::kPeerStateSet;
}

bool IsNodeRecord(const v1::Event& event) {
  const std::string& k = event.kind();
  return event.cutover().empty() || k == ek::kSyncStarted || k == ek::kSyncStopped ||
         k == ek::kSyncConflict || k == ek::kRevertSynced;
}

std::optional<std::uint32_t> DecidedWeight(const v1::Event& event) {
  const std::string& k = event.kind();
  if (k == ek::kWeightSet || k == ek::kStepAdvanced || k == ek::kCompleted || k == ek::kPromoted ||
      k == ek::kReverted || k == ek::kAborted)
    return agent::PercentToBp(event.weight_after());
  return std::nullopt;
}

void RecordEvent(PgLink& link, const std::string& node, v1::Event* event) {
  event->set_node(node);
  event->set_sequence(0);
  const double seconds = static_cast<double>(event->time().seconds()) + event->time().nanos() / 1e9;
  const PgResult r =
      link.Exec("SELECT cutover_fleet_record($1::double precision, $2, $3, $4, $5::jsonb)",
                {std::to_string(seconds), event->cutover(), event->kind(), event->rollout_id(),
                 agent::EventToJson(*event)});
  event->set_sequence(static_cast<std::uint64_t>(Int(r.get(), 0, 0)));
}

Commit CommitDecision(PgLink& link, const Decider& decider, v1::Event* event) {
  event->set_node(decider.node);
  event->set_sequence(0);
  const std::string json = agent::EventToJson(*event);
  const auto weight = DecidedWeight(*event);
  const double seconds = static_cast<double>(event->time().seconds()) + event->time().nanos() / 1e9;
  const std::vector<PgLink::Param> params = {
      decider.node,
      std::to_string(decider.lease_epoch),
      NeedsLease(event->kind()) ? "true" : "false",
      decider.origin,
      event->cutover(),
      event->kind(),
      event->rollout_id(),
      weight ? PgLink::Param(std::to_string(*weight)) : std::nullopt,
      std::to_string(seconds),
      json};
  for (int attempt = 0;; ++attempt) {
    try {
      const PgResult r = link.Exec(
          "SELECT outcome, decided_epoch, journal_sequence FROM cutover_fleet_decide("
          "$1, $2::bigint, $3::boolean, $4, $5, $6, $7, $8::integer, $9::double precision, "
          "$10::jsonb)",
          params);
      Commit c;
      const std::string outcome = Text(r.get(), 0, 0);
      c.epoch = static_cast<std::uint64_t>(Int(r.get(), 0, 1));
      c.sequence = static_cast<std::uint64_t>(Int(r.get(), 0, 2));
      c.outcome = outcome == "ok"           ? Commit::Outcome::kCommitted
                  : outcome == "superseded" ? Commit::Outcome::kSuperseded
                                            : Commit::Outcome::kStale;
      if (c.outcome == Commit::Outcome::kCommitted) {
        event->set_sequence(c.sequence);
        event->set_epoch(c.epoch);
      }
      return c;
    } catch (const FleetDbError& e) {
      // Every writer of the fleet's journal numbers under one advisory lock;
      // a journal row written otherwise (an agent given the fleet's database
      // as --journal) may still take a sequence: the next try takes the next.
      if (e.sqlstate() != "23505" || attempt >= 4) throw;
    }
  }
}

}  // namespace cutover::fleet
