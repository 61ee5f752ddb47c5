// Every sync the agent runs, one per cutover: started and stopped through
// the API, resumed from the journal when the agent starts (a sync outlives
// rollouts and restarts: its positions live in the two databases, its
// configuration in the journal's last sync_started), told of reverts, and
// the status the gates read (agent/core/sync_status.hpp).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/core/sync_status.hpp"
#include "agent/sync/cutover_sync.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::sync {

class SyncManager final : public agent::SyncStatusSource {
 public:
  explicit SyncManager(SyncDependencies deps);
  ~SyncManager() override;
  SyncManager(const SyncManager&) = delete;
  SyncManager& operator=(const SyncManager&) = delete;

  // Starts a sync, or restarts the one the cutover has (to resume it after a
  // pause, or with other tables or another conflict policy), and journals
  // sync_started. Blocks while it connects, checks and installs. Throws
  // SyncError: invalid argument naming the field, failed precondition with
  // the reason the databases are not fit, unavailable when one cannot be
  // reached.
  v1::Sync Start(const std::string& cutover, const v1::SyncSpec& spec, const std::string& reason,
                 const std::string& actor);
  // Stops it and (unless `keep`) removes its objects from both databases;
  // journals sync_stopped with what was still pending.
  v1::Sync Stop(const std::string& cutover, bool keep, const std::string& reason,
                const std::string& actor);
  // The cutover's sync; state SYNC_STATE_UNSPECIFIED when it has none.
  v1::Sync Get(const std::string& cutover) const;
  std::optional<v1::Sync> SyncOf(const std::string& cutover) const override;
  std::vector<v1::Sync> All() const;

  // Resumes every sync whose last journaled word is sync_started (call once,
  // at start). Each resumes in its own worker, retrying until it can.
  void Restore(const std::vector<v1::Event>& journal);
  // Every journaled event: a revert or an abort starts that cutover's proof.
  // Never blocks on a database (the controller calls it with its lock held).
  void OnEvent(const v1::Event& event);
  // Stops every worker, removing nothing (the agent is stopping).
  void Shutdown();

 private:
  class Busy;
  std::shared_ptr<CutoverSync> Find(const std::string& cutover) const;
  void Publish(v1::Event event, const std::string& cutover, const std::string& actor);

  SyncDependencies deps_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<CutoverSync>> syncs_;
  std::map<std::string, v1::Sync> stopped_;  // the last word of syncs stopped in this run
  std::set<std::string> busy_;               // a start or stop in progress
};

}  // namespace cutover::sync
