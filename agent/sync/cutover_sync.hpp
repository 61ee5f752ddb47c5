// One cutover's sync: a worker thread that carries both directions, so that
// every decision about a key (apply, conflict, resolution) is taken in one
// place, in order:
//
//   green -> blue  read the slot; each green transaction is applied to SQLite
//                  in commit order under the capture guard, with green's LSN
//                  in the same transaction; the slot is confirmed after that
//                  commit. The sync's own transactions (their first row is
//                  blue's position) are not applied back: no echo.
//   blue -> green  read the change log after blue's position (SQLite's
//                  data_version says when another process committed) and
//                  apply it to PostgreSQL in one transaction per batch, with
//                  the new position as its first statement.
//
// A conflict: green changed a key that blue changed after the last of blue's
// changes green is known to have (its position came back through the slot),
// i.e. each side changed the key before it had the other's change. Resolved
// by the policy: pause (nothing more is applied, the rollout is paused),
// blue_wins (blue's row is pushed to green again) or green_wins (green's row
// is applied to blue and pushed back so both agree).
//
// Reverts: told of a revert (or abort), the worker marks the stream (a
// logical message on green, or blue's last sequence) and journals how many
// changes were in flight and how long they took to arrive: revert_synced.
// The revert itself never waits for any of this.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "agent/core/clock.hpp"
#include "agent/sync/blue.hpp"
#include "agent/sync/green.hpp"
#include "agent/sync/pg_link.hpp"
#include "agent/sync/spec.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::sync {

struct SyncTuning {
  // The longest a wait on green lasts, hence how often blue is looked at.
  std::chrono::milliseconds poll{5};
  std::size_t batch = 2000;  // changes per transaction, either way
  std::chrono::milliseconds retry_min{200}, retry_max{5000};
  // Green's position after transactions of the sync's own (nothing to apply)
  // is written to SQLite at least this often (and with the next change).
  std::chrono::milliseconds quiet_persist{1000};
  std::chrono::milliseconds feedback{2000};  // standby status at least this often
};

struct SyncDependencies {
  // Journals an event and tells watchers (serialized with the controller's events).
  std::function<void(v1::Event)> publish;
  // Pauses the cutover's rollout, if one runs (a conflict under policy pause).
  std::function<void(const std::string& cutover, const std::string& reason)> pause_rollout;
  const agent::Clock* clock = nullptr;
  SyncTuning tuning;
};

class CutoverSync {
 public:
  CutoverSync(SyncConfig config, const SyncDependencies& deps);
  ~CutoverSync();
  CutoverSync(const CutoverSync&) = delete;
  CutoverSync& operator=(const CutoverSync&) = delete;

  // Connects to both, checks wal_level and both schemas, and installs the
  // capture (install) or checks that it is there (resume). Throws SyncError.
  void SetUp(bool install);
  // Starts the worker; with `set_up`, the worker sets up first (resume after
  // a restart or a reconnect), retrying until it can.
  void Run(bool set_up);
  // Stops the worker; removes nothing.
  void Halt();
  // After Halt: removes the capture, the change log, the slot, the
  // publication and the positions. Throws SyncError (what is left says so).
  void Uninstall();

  v1::Sync Status() const;
  // A revert or an abort was journaled (reverted / aborted): prove the sync.
  void NoteFlip(const v1::Event& event);
  const SyncConfig& config() const { return config_; }

  // What a restarted sync inherits from the one it replaces.
  struct Carry {
    std::optional<v1::SyncConflict> last_conflict;
    std::optional<v1::SyncRevertProof> last_revert;
    google::protobuf::Timestamp started_at;
    std::vector<v1::Event> flips;  // not yet proven
  };
  Carry TakeCarry();
  void Adopt(Carry carry);

 private:
  // One change of a green transaction, ready for SQLite.
  struct GreenChange {
    enum class Op { kUpsert, kDelete, kTruncate } op = Op::kUpsert;
    std::size_t table = 0;
    std::vector<std::optional<Value>> row;      // upsert: per synced column (nullopt: unchanged)
    std::vector<Value> key;                     // the row's key
    std::optional<std::vector<Value>> old_key;  // when an update changed the key
  };
  struct GreenTxn {
    Lsn end_lsn = 0;
    std::int64_t commit_unix_us = 0;
    bool echo = false;  // the sync's own transaction
    std::int64_t echo_seq = 0;
    std::vector<GreenChange> changes;
  };
  struct Marker {
    std::string content;
  };
  using Ready = std::variant<GreenTxn, Marker>;
  struct Relation {
    enum class Kind { kUnknown, kTable, kPosition } kind = Kind::kUnknown;
    std::size_t table = 0;
    std::vector<int> column;  // per relation column: the synced column, or -1
    std::vector<std::uint32_t> type;
    int position_cutover = -1, position_seq = -1;
  };
  struct Flip {
    v1::Event event;
    v1::Slot to = v1::SLOT_BLUE;
    std::uint64_t applied_at_flip = 0;
    bool armed = false;
    std::string marker;           // to blue: the marker's content on green
    std::int64_t marker_seq = 0;  // to green: blue's last sequence at the flip
  };
  struct PauseForConflict {
    std::string reason;
  };

  void Loop(bool set_up);
  void Iterate();
  void Disconnect();
  void Handle(const std::string& frame);
  void Handle(const PgOutputMessage& message);
  GreenChange Change(const Relation& relation, const ChangeMessage& message) const;
  void ApplyGreen(bool force);
  // Writes the positions held only in memory (after the sync's own
  // transactions) once they are quiet_persist old, so the slot may move on.
  void PersistQuietPositions();
  void CheckBlue();
  void HandleFlips();
  void Prove(Flip& flip);
  void Confirm(bool reply_requested);
  void Publish(v1::Event event);
  void PublishConflict(const v1::SyncConflict& conflict);
  std::string KeyText(std::size_t table, const std::vector<Value>& key) const;
  void UpdateStatus();
  // One direction's part of the status. Called with a commit's counts before
  // the commit (and again with the old ones if it fails), so that whoever
  // sees the rows on the other side sees them counted: the counters may lead
  // the rows by a commit's duration, never trail them.
  void PublishBlueToGreen(std::uint64_t applied, std::int64_t seq);
  // `committing`: the ready_ entries the commit under way carries.
  void PublishGreenToBlue(std::uint64_t applied, Lsn lsn, std::uint64_t conflicts,
                          std::size_t committing);
  void SetState(v1::SyncState state, const std::string& reason);
  agent::WallTime Now() const { return deps_.clock->Now(); }

  SyncConfig config_;
  const SyncDependencies& deps_;
  Waker waker_;
  std::thread worker_;
  std::atomic<bool> stopping_{false};

  // Worker-owned (the RPC thread's SetUp hands them over before Run).
  std::unique_ptr<BlueDatabase> blue_;
  std::unique_ptr<GreenDatabase> green_;
  std::unique_ptr<GreenStream> stream_;
  std::vector<SyncedTable> tables_;
  std::map<std::uint32_t, Relation> relations_;
  std::optional<GreenTxn> open_;
  std::deque<Ready> ready_;
  bool ready_to_run_ = false;
  Lsn green_lsn_ = 0;       // applied (in memory: echo-only transactions may be ahead)
  Lsn persisted_lsn_ = 0;   // in the SQLite file: what may be confirmed
  Lsn server_wal_end_ = 0;  // from keepalives
  bool reply_wanted_ = false;
  std::int64_t echoed_seq_ = 0;
  std::int64_t applied_seq_ = 0;  // blue's changes on green up to here
  std::uint64_t conflicts_ = 0;   // resolved ones (a pausing one is counted while paused)
  std::int64_t last_data_version_ = -1;
  bool blue_dirty_ = true;
  std::chrono::steady_clock::time_point last_blue_check_{}, last_persist_{}, last_feedback_{},
      last_trim_{};
  std::chrono::steady_clock::time_point last_green_apply_{};
  double last_green_lag_ms_ = 0;
  agent::WallTime last_green_commit_{}, last_blue_commit_{};
  std::atomic<std::uint64_t> applied_to_blue_{0}, applied_to_green_{0};

  // Shared with status readers and NoteFlip.
  mutable std::mutex mutex_;
  v1::Sync status_;
  std::list<Flip> flips_;  // stable: the worker holds pointers while NoteFlip appends
  std::uint64_t flip_counter_ = 0;
};

}  // namespace cutover::sync
