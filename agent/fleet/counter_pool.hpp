// The pooled counters a fleet's rollouts are judged on. Each node sends its
// module's cumulative counters in its heartbeats; the pool adds up, per
// cutover and slot, what every live node served since its previous
// snapshot, into counters that only ever grow, like the module's own. A
// window over them is then the fleet's window, with a true P99 of the
// summed histograms. A node that joins, comes back, or restarts its nginx
// adds nothing for the snapshot it is first seen with, so no window ever
// sees a jump that was not traffic.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "cutover/state_file.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::fleet {

using SlotPair = std::array<state::SlotSnapshot, state::kSlotCount>;
using NodeCounters = std::map<std::string, SlotPair>;  // by cutover

// A heartbeat's counters, both ways (binary protobuf: FleetCounters).
std::string EncodeCounters(const std::vector<state::RecordSnapshot>& records);
NodeCounters DecodeCounters(const std::string& bytes);

class CounterPooling {
 public:
  // Adds what the live nodes (`nodes`, by name, this one included) served
  // since the previous call; nodes not given are forgotten, so a node that
  // comes back starts from its then counters.
  void Update(const std::map<std::string, NodeCounters>& nodes);
  // `local` with the pooled counters in place of this node's own (zero for
  // records the pool has not seen yet).
  std::vector<state::RecordSnapshot> Apply(const std::vector<state::RecordSnapshot>& local) const;
  const SlotPair* Pooled(const std::string& cutover) const;

 private:
  std::map<std::string, NodeCounters> last_;  // each node's previous snapshot
  std::map<std::string, SlotPair> pooled_;    // by cutover
};

}  // namespace cutover::fleet
