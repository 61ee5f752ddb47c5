// The sync's two ears on the controller (ControllerListener): one hands every
// journaled event to the sync manager, which starts a revert's proof on a
// reverted or aborted event (observing the revert, never holding it up); the
// other exports the syncs' status as Prometheus metrics every tick.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <string>

#include "agent/server/controller.hpp"
#include "agent/sync/manager.hpp"

namespace cutover::agent {

class SyncRevertObserver final : public ControllerListener {
 public:
  explicit SyncRevertObserver(sync::SyncManager& syncs) : syncs_(syncs) {}
  void OnTick(const std::vector<state::RecordSnapshot>&,
              const std::map<std::string, v1::Rollout>&) override {}
  void OnEvent(const v1::Event& event) override { syncs_.OnEvent(event); }

 private:
  sync::SyncManager& syncs_;
};

// cutover_sync_lag_seconds, cutover_sync_pending, cutover_sync_applied_total
// and cutover_sync_streaming by cutover and direction (blue_to_green,
// green_to_blue); cutover_sync_conflicts_total and cutover_sync_state by cutover.
class SyncMetrics final : public ControllerListener {
 public:
  SyncMetrics(sync::SyncManager& syncs, prometheus::Registry& registry);
  void OnTick(const std::vector<state::RecordSnapshot>&,
              const std::map<std::string, v1::Rollout>&) override;
  void OnEvent(const v1::Event&) override {}

 private:
  void Count(prometheus::Family<prometheus::Counter>& family,
             const std::map<std::string, std::string>& labels, std::uint64_t total);

  sync::SyncManager& syncs_;
  std::mutex mutex_;
  prometheus::Family<prometheus::Gauge>& lag_;
  prometheus::Family<prometheus::Gauge>& pending_;
  prometheus::Family<prometheus::Counter>& applied_;
  prometheus::Family<prometheus::Gauge>& streaming_;
  prometheus::Family<prometheus::Counter>& conflicts_;
  prometheus::Family<prometheus::Gauge>& state_;
  std::map<std::string, std::uint64_t> last_;  // counters' last totals, by label set
};

}  // namespace cutover::agent
