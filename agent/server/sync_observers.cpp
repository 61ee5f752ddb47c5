#include "agent/server/sync_observers.hpp"

namespace cutover::agent {

SyncMetrics::SyncMetrics(sync::SyncManager& syncs, prometheus::Registry& registry)
    : syncs_(syncs),
      lag_(prometheus::BuildGauge()
               .Name("cutover_sync_lag_seconds")
               .Help("Age of the oldest change not yet applied on the other side, by cutover "
                     "and direction (0 when caught up)")
               .Register(registry)),
      pending_(prometheus::BuildGauge()
                   .Name("cutover_sync_pending")
                   .Help("Row changes captured and not yet applied on the other side, by cutover "
                         "and direction")
                   .Register(registry)),
      applied_(prometheus::BuildCounter()
                   .Name("cutover_sync_applied_total")
                   .Help("Row changes applied, by cutover and direction")
                   .Register(registry)),
      streaming_(prometheus::BuildGauge()
                     .Name("cutover_sync_streaming")
                     .Help("1 while the direction is connected and applying, by cutover")
                     .Register(registry)),
      conflicts_(prometheus::BuildCounter()
                     .Name("cutover_sync_conflicts_total")
                     .Help("Keys changed on both sides before either change was applied, by "
                           "cutover")
                     .Register(registry)),
      state_(prometheus::BuildGauge()
                 .Name("cutover_sync_state")
                 .Help("Sync state: 1 starting, 2 running, 3 paused, 4 retrying, 5 stopped")
                 .Register(registry)) {}

void SyncMetrics::Count(prometheus::Family<prometheus::Counter>& family,
                        const std::map<std::string, std::string>& labels, std::uint64_t total) {
  std::string key;
  for (const auto& [k, v] : labels) key += k + "=" + v + ",";
  key += family.GetName();
  auto [it, fresh] = last_.try_emplace(key, 0);
  // A total below the last one: the sync was removed and started anew.
  const std::uint64_t before = fresh || total < it->second ? 0 : it->second;
  family.Add(labels).Increment(static_cast<double>(total - before));
  it->second = total;
}

void SyncMetrics::OnTick(const std::vector<state::RecordSnapshot>&,
                         const std::map<std::string, v1::Rollout>&) {
  std::lock_guard lock(mutex_);
  for (const v1::Sync& s : syncs_.All()) {
    for (const auto& [direction, d] : {std::pair{"blue_to_green", &s.blue_to_green()},
                                       std::pair{"green_to_blue", &s.green_to_blue()}}) {
      const std::map<std::string, std::string> labels{{"cutover", s.cutover()},
                                                      {"direction", direction}};
      lag_.Add(labels).Set(d->lag_ms() / 1000.0);
      pending_.Add(labels).Set(static_cast<double>(d->pending()));
      streaming_.Add(labels).Set(d->streaming() ? 1 : 0);
      Count(applied_, labels, d->applied());
    }
    Count(conflicts_, {{"cutover", s.cutover()}}, s.conflicts());
    state_.Add({{"cutover", s.cutover()}}).Set(s.state());
  }
}

}  // namespace cutover::agent
