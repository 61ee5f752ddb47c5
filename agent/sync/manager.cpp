#include "agent/sync/manager.hpp"

#include "agent/core/dsn.hpp"
#include "agent/core/event_kinds.hpp"
#include "agent/core/log.hpp"
#include "agent/core/sync_status.hpp"
#include "agent/core/units.hpp"
#include "agent/sync/sync_error.hpp"

namespace cutover::sync {

namespace {

std::string Describe(const SyncConfig& c) {
  std::string tables = c.all_tables ? "all" : "";
  for (const auto& t : c.tables) tables += (tables.empty() ? "" : ", ") + t;
  return c.blue_dsn + " <-> " + agent::RedactDsn(c.green_dsn) + ", tables " + tables +
         ", on_conflict " + agent::SyncPolicyName(c.on_conflict);
}

}  // namespace

// Marks a cutover's sync as being started or stopped, so two calls do not race.
class SyncManager::Busy {
 public:
  Busy(SyncManager& m, const std::string& cutover) : m_(m), cutover_(cutover) {
    std::lock_guard lock(m_.mutex_);
    if (!m_.busy_.insert(cutover).second)
      throw Unfit("cutover \"" + cutover + "\": a sync start or stop is already in progress");
  }
  ~Busy() {
    std::lock_guard lock(m_.mutex_);
    m_.busy_.erase(cutover_);
  }

 private:
  SyncManager& m_;
  std::string cutover_;
};

SyncManager::SyncManager(SyncDependencies deps) : deps_(std::move(deps)) {}

SyncManager::~SyncManager() { Shutdown(); }

std::shared_ptr<CutoverSync> SyncManager::Find(const std::string& cutover) const {
  std::lock_guard lock(mutex_);
  const auto it = syncs_.find(cutover);
  return it == syncs_.end() ? nullptr : it->second;
}

void SyncManager::Publish(v1::Event event, const std::string& cutover, const std::string& actor) {
  *event.mutable_time() = agent::ToProtoTimestamp(deps_.clock->Now());
  event.set_cutover(cutover);
  event.set_actor(actor);
  event.set_step(-1);
  if (deps_.publish) deps_.publish(std::move(event));
}

v1::Sync SyncManager::Start(const std::string& cutover, const v1::SyncSpec& spec,
                            const std::string& reason, const std::string& actor) {
  Busy busy(*this, cutover);
  std::shared_ptr<CutoverSync> existing = Find(cutover);
  v1::SyncSpec wanted = spec;
  if (existing) {
    // The databases of a running sync stay; the rest may change.
    const SyncConfig& old = existing->config();
    if (wanted.blue().empty()) wanted.set_blue(old.blue_dsn);
    if (wanted.green().empty()) wanted.set_green(old.green_dsn);
    if (wanted.blue() != old.blue_dsn)
      throw SyncError(SyncError::Kind::kInvalidArgument, "spec.blue: the sync of \"" + cutover +
                                                             "\" runs on " + old.blue_dsn +
                                                             "; stop it to sync another database");
    if (wanted.green() != old.green_dsn)
      throw SyncError(SyncError::Kind::kInvalidArgument,
                      "spec.green: the sync of \"" + cutover + "\" runs on " +
                          agent::RedactDsn(old.green_dsn) + "; stop it to sync another database");
    if (wanted.tables_size() == 0 && !wanted.all_tables()) {
      for (const auto& t : old.tables) wanted.add_tables(t);
      wanted.set_all_tables(old.all_tables);
    }
  }
  SyncConfig config = ConfigFromSpec(cutover, wanted);
  {
    std::lock_guard lock(mutex_);
    for (const auto& [other, sync] : syncs_)
      if (other != cutover && sync->config().blue_path == config.blue_path)
        throw Unfit("spec.blue: sqlite:" + config.blue_path + " is already synced by cutover \"" +
                    other + "\"");
  }
  CutoverSync::Carry carry;
  if (existing) {
    existing->Halt();
    carry = existing->TakeCarry();
  }
  auto fresh = std::make_shared<CutoverSync>(config, deps_);
  try {
    fresh->SetUp(/*install=*/true);
  } catch (...) {
    if (existing) {  // as it was
      existing->Adopt(carry);
      existing->Run(/*set_up=*/true);
    }
    throw;
  }
  if (existing) fresh->Adopt(std::move(carry));
  fresh->Run(/*set_up=*/false);
  {
    std::lock_guard lock(mutex_);
    syncs_[cutover] = fresh;
    stopped_.erase(cutover);
  }
  std::string said = reason.empty() ? Describe(config) : reason;
  if (agent::RedactDsn(config.green_dsn) != config.green_dsn) {
    // The journal keeps the DSN without its password.
    said +=
        " [green's password is not journaled: a restarted agent resumes this sync only if "
        "libpq finds it in ~/.pgpass or PGPASSFILE]";
    agent::LogWarning(cutover + ": " + said);
  }
  v1::Event started;
  started.set_kind(agent::event_kind::kSyncStarted);
  started.set_reason(said);
  *started.mutable_sync_spec() = config.RedactedSpec();
  Publish(std::move(started), cutover, actor);
  return fresh->Status();
}

v1::Sync SyncManager::Stop(const std::string& cutover, bool keep, const std::string& reason,
                           const std::string& actor) {
  Busy busy(*this, cutover);
  std::shared_ptr<CutoverSync> sync = Find(cutover);
  if (!sync) throw Unfit("cutover \"" + cutover + "\" has no sync");
  sync->Halt();
  v1::Sync status = sync->Status();
  const CutoverSync::Carry carry = sync->TakeCarry();
  std::string said = std::to_string(status.blue_to_green().pending()) + " blue and " +
                     std::to_string(status.green_to_blue().pending()) +
                     " green changes were not yet applied";
  if (keep) {
    said += "; capture, change log and slot kept: sync start resumes from here";
  } else {
    try {
      sync->Uninstall();
      said += "; capture, change log, slot and publication removed";
    } catch (const std::exception& e) {
      said += "; " + std::string(e.what());
    }
  }
  status.set_state(v1::SYNC_STATE_STOPPED);
  status.set_reason(said);
  for (auto* d : {status.mutable_blue_to_green(), status.mutable_green_to_blue()}) {
    d->set_streaming(false);
    d->set_lag_ms(0);  // nothing is on its way any more
  }
  {
    std::lock_guard lock(mutex_);
    syncs_.erase(cutover);
    stopped_[cutover] = status;
  }
  for (const auto& flip : carry.flips) {
    v1::Event unproven;
    unproven.set_kind(agent::event_kind::kRevertSynced);
    unproven.set_rollout_id(flip.rollout_id());
    unproven.set_reason(
        "not proven: the sync was stopped before every change in flight at the " +
        std::string(flip.kind() == agent::event_kind::kAborted ? "abort" : "revert") +
        " was known to have arrived");
    unproven.mutable_revert_proof()->set_reverted_sequence(flip.sequence());
    unproven.mutable_revert_proof()->set_rollout_id(flip.rollout_id());
    Publish(std::move(unproven), cutover, "agent");
  }
  v1::Event stopped;
  stopped.set_kind(agent::event_kind::kSyncStopped);
  stopped.set_reason(reason.empty() ? said : reason + " (" + said + ")");
  Publish(std::move(stopped), cutover, actor);
  return status;
}

v1::Sync SyncManager::Get(const std::string& cutover) const {
  if (auto sync = SyncOf(cutover)) return *sync;
  v1::Sync none;
  none.set_cutover(cutover);
  none.set_state(v1::SYNC_STATE_UNSPECIFIED);
  return none;
}

std::optional<v1::Sync> SyncManager::SyncOf(const std::string& cutover) const {
  if (auto sync = Find(cutover)) return sync->Status();
  std::lock_guard lock(mutex_);
  const auto it = stopped_.find(cutover);
  if (it == stopped_.end()) return std::nullopt;
  return it->second;
}

std::vector<v1::Sync> SyncManager::All() const {
  std::vector<std::shared_ptr<CutoverSync>> syncs;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [cutover, sync] : syncs_) syncs.push_back(sync);
  }
  std::vector<v1::Sync> all;
  for (const auto& s : syncs) all.push_back(s->Status());
  return all;
}

void SyncManager::Restore(const std::vector<v1::Event>& journal) {
  std::map<std::string, const v1::Event*> last;
  for (const auto& e : journal)
    if (e.kind() == agent::event_kind::kSyncStarted || e.kind() == agent::event_kind::kSyncStopped)
      last[e.cutover()] = &e;
  for (const auto& [cutover, event] : last) {
    if (event->kind() != agent::event_kind::kSyncStarted) continue;
    try {
      auto sync = std::make_shared<CutoverSync>(ConfigFromSpec(cutover, event->sync_spec()), deps_);
      sync->Run(/*set_up=*/true);
      std::lock_guard lock(mutex_);
      syncs_[cutover] = std::move(sync);
      agent::LogInfo(cutover + ": resuming the sync started at journal sequence " +
                     std::to_string(event->sequence()));
    } catch (const std::exception& e) {
      agent::LogError(cutover + ": cannot resume the sync of journal sequence " +
                      std::to_string(event->sequence()) + ": " + e.what());
    }
  }
}

void SyncManager::OnEvent(const v1::Event& event) {
  if (event.kind() != agent::event_kind::kReverted && event.kind() != agent::event_kind::kAborted)
    return;
  if (auto sync = Find(event.cutover())) sync->NoteFlip(event);
}

void SyncManager::Shutdown() {
  std::map<std::string, std::shared_ptr<CutoverSync>> syncs;
  {
    std::lock_guard lock(mutex_);
    syncs.swap(syncs_);
  }
  for (auto& [cutover, sync] : syncs) sync->Halt();
}

}  // namespace cutover::sync
