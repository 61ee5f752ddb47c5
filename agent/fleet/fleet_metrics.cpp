#include "agent/fleet/fleet_metrics.hpp"

#include "agent/core/units.hpp"

namespace cutover::fleet {

namespace {

prometheus::Family<prometheus::Gauge>& Gauge(prometheus::Registry& registry, const char* name,
                                             const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

}  // namespace

FleetMetrics::FleetMetrics(prometheus::Registry& registry)
    : connected_(Gauge(registry, "cutover_fleet_connected",
                       "1 while this node reaches the fleet's database")),
      deciding_(Gauge(registry, "cutover_fleet_deciding",
                      "1 while this node holds the lease and makes the fleet's decisions")),
      lease_epoch_(Gauge(registry, "cutover_fleet_lease_epoch",
                         "The lease's fencing token, as this node last saw it")),
      decided_epoch_(Gauge(registry, "cutover_fleet_decided_epoch",
                           "The fleet's last decision epoch, by cutover")),
      heartbeat_age_(Gauge(registry, "cutover_fleet_node_heartbeat_age_seconds",
                           "Age of each node's last heartbeat (the database's clock)")),
      stale_(Gauge(registry, "cutover_fleet_node_stale",
                   "1 for a node without a heartbeat within the liveness timeout")),
      applied_epoch_(Gauge(registry, "cutover_fleet_node_applied_epoch",
                           "The decision epoch each node last applied, by cutover")),
      applied_percent_(Gauge(registry, "cutover_fleet_node_applied_green_percent",
                             "Green's share each node last applied, by cutover")),
      lagging_(Gauge(registry, "cutover_fleet_node_lagging",
                     "1 for a node whose applied epoch is behind the decided one, by cutover")) {}

void FleetMetrics::Set(prometheus::Family<prometheus::Gauge>& family, const Labels& labels,
                       double value,
                       std::set<std::pair<prometheus::Family<prometheus::Gauge>*, Labels>>& seen) {
  family.Add(labels).Set(value);
  seen.insert({&family, labels});
}

void FleetMetrics::Update(bool connected, bool deciding, std::uint64_t lease_epoch,
                          const std::map<std::string, v1::FleetStatus>& by_cutover) {
  std::lock_guard lock(mutex_);
  std::set<std::pair<prometheus::Family<prometheus::Gauge>*, Labels>> seen;
  Set(connected_, {}, connected ? 1 : 0, seen);
  Set(deciding_, {}, deciding ? 1 : 0, seen);
  Set(lease_epoch_, {}, static_cast<double>(lease_epoch), seen);
  for (const auto& [cutover, fleet] : by_cutover) {
    Set(decided_epoch_, {{"cutover", cutover}}, static_cast<double>(fleet.decided_epoch()), seen);
    for (const auto& n : fleet.nodes()) {
      const Labels node{{"node", n.name()}};
      Set(heartbeat_age_, node, agent::ToMillis(agent::FromProto(n.heartbeat_age())) / 1000.0,
          seen);
      Set(stale_, node, n.stale() ? 1 : 0, seen);
      const Labels both{{"cutover", cutover}, {"node", n.name()}};
      Set(applied_epoch_, both, static_cast<double>(n.applied_epoch()), seen);
      Set(applied_percent_, both, n.applied_green_percent(), seen);
      Set(lagging_, both, n.lagging() ? 1 : 0, seen);
    }
  }
  for (const auto& [family, labels] : present_)
    if (!seen.count({family, labels})) family->Remove(&family->Add(labels));
  present_ = std::move(seen);
}

}  // namespace cutover::fleet
