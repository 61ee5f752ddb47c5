// The fleet in Prometheus: the same view as the status's fleet section (it
// is built from the same FleetStatus), per node and cutover.
#pragma once

#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <set>
#include <string>

#include "cutover/v1/cutover.pb.h"

namespace cutover::fleet {

class FleetMetrics {
 public:
  explicit FleetMetrics(prometheus::Registry& registry);
  // Every cutover's fleet status as this node sees it; labels of nodes or
  // cutovers no longer there are removed.
  void Update(bool connected, bool deciding, std::uint64_t lease_epoch,
              const std::map<std::string, v1::FleetStatus>& by_cutover);

 private:
  using Labels = std::map<std::string, std::string>;
  void Set(prometheus::Family<prometheus::Gauge>& family, const Labels& labels, double value,
           std::set<std::pair<prometheus::Family<prometheus::Gauge>*, Labels>>& seen);

  std::mutex mutex_;
  prometheus::Family<prometheus::Gauge>& connected_;
  prometheus::Family<prometheus::Gauge>& deciding_;
  prometheus::Family<prometheus::Gauge>& lease_epoch_;
  prometheus::Family<prometheus::Gauge>& decided_epoch_;
  prometheus::Family<prometheus::Gauge>& heartbeat_age_;
  prometheus::Family<prometheus::Gauge>& stale_;
  prometheus::Family<prometheus::Gauge>& applied_epoch_;
  prometheus::Family<prometheus::Gauge>& applied_percent_;
  prometheus::Family<prometheus::Gauge>& lagging_;
  std::set<std::pair<prometheus::Family<prometheus::Gauge>*, Labels>> present_;
};

}  // namespace cutover::fleet
