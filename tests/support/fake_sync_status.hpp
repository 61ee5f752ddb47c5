// A sync status the test sets by hand, for gates that read one (the sync
// gate, reversibility while a sync runs) without databases behind it.
#pragma once

#include <map>
#include <string>

#include "agent/core/sync_status.hpp"

namespace cutover::test {

class FakeSyncStatus final : public agent::SyncStatusSource {
 public:
  std::optional<v1::Sync> SyncOf(const std::string& cutover) const override {
    const auto it = syncs.find(cutover);
    if (it == syncs.end()) return std::nullopt;
    return it->second;
  }
  // A running sync of `cutover` with both directions streaming, caught up.
  v1::Sync& Running(const std::string& cutover) {
    v1::Sync& s = syncs[cutover];
    s.set_cutover(cutover);
    s.set_state(v1::SYNC_STATE_RUNNING);
    s.mutable_blue_to_green()->set_streaming(true);
    s.mutable_green_to_blue()->set_streaming(true);
    return s;
  }

  std::map<std::string, v1::Sync> syncs;
};

}  // namespace cutover::test
