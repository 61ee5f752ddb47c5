#include "agent/sync/cutover_sync.hpp"

#include <poll.h>

#include <algorithm>

#include "agent/core/event_kinds.hpp"
#include "agent/core/log.hpp"
#include "agent/core/sync_status.hpp"
#include "agent/core/units.hpp"
#include "agent/sync/sync_error.hpp"

namespace cutover::sync {

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t UnixMicros(agent::WallTime t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

double AgeMs(agent::WallTime now, std::int64_t unix_us) {
  return std::max(0.0, static_cast<double>(UnixMicros(now) - unix_us) / 1000.0);
}

std::string Plural(std::uint64_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

CutoverSync::CutoverSync(SyncConfig config, const SyncDependencies& deps)
    : config_(std::move(config)), deps_(deps) {
  status_.set_cutover(config_.cutover);
  status_.set_state(v1::SYNC_STATE_STARTING);
  *status_.mutable_spec() = config_.RedactedSpec();
  *status_.mutable_started_at() = agent::ToProtoTimestamp(Now());
}

CutoverSync::~CutoverSync() { Halt(); }

// ------------------------------------------------------------------ set up

void CutoverSync::SetUp(bool install) {
  Disconnect();
  blue_ = std::make_unique<BlueDatabase>(config_.blue_path);
  green_ = std::make_unique<GreenDatabase>(config_, waker_);
  green_->RequireLogicalReplication();
  std::vector<std::string> names = config_.tables;
  if (config_.all_tables) {
    names = blue_->ApplicationTables();
    if (names.empty()) throw Unfit("tables: all: sqlite:" + config_.blue_path + " has no tables");
  }
  std::vector<TableSchema> blue_schemas, green_schemas;
  for (const auto& name : names) {
    blue_schemas.push_back(blue_->Describe(name));
    green_schemas.push_back(green_->Describe(blue_schemas.back().name));
  }
  std::vector<SyncedTable> tables = MatchTables(blue_schemas, green_schemas);
  std::optional<BlueState> state = blue_->ReadState();
  if (install) {
    const GreenDatabase::Position position = green_->ReadPosition();
    if (state && position.exists && state->cutover == config_.cutover) {
      const std::int64_t waiting = blue_->MaxSeq() - position.blue_seq;
      for (const auto& t : tables) {
        const auto it = state->columns.find(t.name);
        if (waiting > 0 && it != state->columns.end() && it->second != t.ColumnList())
          throw Unfit("tables: " + t.name + ": the columns to sync would change (" + it->second +
                      " -> " + t.ColumnList() + ") while " + Plural(waiting, "change") +
                      " of blue are not yet on green; start again once they are");
      }
    }
    blue_->Install(config_.cutover, tables);
    blue_->Use(tables);
    const std::int64_t start_seq = position.exists ? position.blue_seq : blue_->MaxSeq();
    if (const auto created = green_->Install(tables, start_seq)) {
      // A new slot streams from its consistent point; nothing the sync
      // applied before it can come back through it.
      BlueState fresh = *blue_->ReadState();
      fresh.green_lsn = *created;
      fresh.echoed_seq = start_seq;
      BlueDatabase::Writer writer(*blue_);
      writer.Commit(fresh);
    }
    state = blue_->ReadState();
  } else {
    if (!state || state->cutover != config_.cutover)
      throw Unavailable("the capture is not installed in sqlite:" + config_.blue_path +
                        " (removed by hand?): run sync start again");
    for (const auto& t : tables) {
      const auto it = state->columns.find(t.name);
      if (it == state->columns.end() || it->second != t.ColumnList())
        throw Unavailable("tables: " + t.name + ": the capture was installed for columns (" +
                          (it == state->columns.end() ? "none" : it->second) +
                          ") but both sides now have (" + t.ColumnList() +
                          "): run sync start again");
    }
    green_->RequireInstalled();
    blue_->Use(tables);
  }
  green_->Use(tables);
  tables_ = tables;
  const GreenDatabase::Position position = green_->ReadPosition();
  applied_seq_ = position.blue_seq;
  applied_to_green_ = position.applied;
  green_lsn_ = persisted_lsn_ = state->green_lsn;
  echoed_seq_ = state->echoed_seq;
  applied_to_blue_ = state->applied;
  conflicts_ = state->conflicts;
  relations_.clear();
  open_.reset();
  ready_.clear();
  last_data_version_ = -1;
  blue_dirty_ = true;
  stream_ = std::make_unique<GreenStream>(config_, waker_, green_lsn_);
  ready_to_run_ = true;
  {
    std::lock_guard lock(mutex_);
    status_.clear_tables();
    for (const auto& t : tables_) status_.add_tables(t.name);
  }
  SetState(v1::SYNC_STATE_RUNNING, "");
  UpdateStatus();
}

void CutoverSync::Disconnect() {
  stream_.reset();
  green_.reset();
  blue_.reset();
  ready_to_run_ = false;
}

// ------------------------------------------------------------------ the worker

void CutoverSync::Run(bool set_up) {
  if (worker_.joinable()) return;
  stopping_ = false;
  waker_.Drain();
  worker_ = std::thread([this, set_up] { Loop(set_up); });
}

void CutoverSync::Halt() {
  stopping_ = true;
  waker_.Wake();
  if (worker_.joinable()) worker_.join();
  Disconnect();
}

void CutoverSync::Loop(bool set_up) {
  auto delay = deps_.tuning.retry_min;
  std::string last_error;
  if (set_up) ready_to_run_ = false;
  while (!stopping_) {
    try {
      if (!ready_to_run_) {
        SetUp(false);
        if (!last_error.empty()) agent::LogInfo(config_.cutover + ": sync running again");
        last_error.clear();
        delay = deps_.tuning.retry_min;
      }
      Iterate();
    } catch (const Woken&) {
      break;
    } catch (const PauseForConflict& pause) {
      Disconnect();
      SetState(v1::SYNC_STATE_PAUSED, pause.reason);
      agent::LogWarning(config_.cutover + ": sync paused: " + pause.reason);
      if (deps_.pause_rollout) deps_.pause_rollout(config_.cutover, "sync " + pause.reason);
      return;
    } catch (const std::exception& e) {
      Disconnect();
      SetState(v1::SYNC_STATE_RETRYING, e.what());
      if (last_error != e.what())
        agent::LogWarning(config_.cutover + ": sync: " + e.what() + " (retrying)");
      last_error = e.what();
      pollfd fd{waker_.fd(), POLLIN, 0};
      if (::poll(&fd, 1, static_cast<int>(delay.count())) > 0) break;
      delay = std::min(delay * 2, deps_.tuning.retry_max);
    }
  }
  Disconnect();
}

void CutoverSync::Iterate() {
  for (const auto& frame : stream_->Read(deps_.tuning.poll)) Handle(frame);
  ApplyGreen(false);
  PersistQuietPositions();
  CheckBlue();
  HandleFlips();
  const auto now = Clock::now();
  if (reply_wanted_ || now - last_feedback_ >= deps_.tuning.feedback) Confirm(false);
  UpdateStatus();
}

// ------------------------------------------------------------------ green -> blue: decoding

void CutoverSync::Handle(const std::string& frame) {
  const CopyFrame parsed = ParseCopyFrame(frame);
  if (const auto* keepalive = std::get_if<Keepalive>(&parsed)) {
    server_wal_end_ = std::max(server_wal_end_, keepalive->wal_end);
    reply_wanted_ = reply_wanted_ || keepalive->reply_requested;
    return;
  }
  Handle(ParsePgOutput(std::get<XLogData>(parsed).payload));
}

void CutoverSync::Handle(const PgOutputMessage& message) {
  if (const auto* begin = std::get_if<BeginMessage>(&message)) {
    open_ = GreenTxn{};
    open_->commit_unix_us = UnixMicrosFromPg(begin->commit_time);
    return;
  }
  if (const auto* relation = std::get_if<RelationMessage>(&message)) {
    Relation r;
    if (relation->nspname == kPositionSchema && relation->relname == kPositionTable) {
      r.kind = Relation::Kind::kPosition;
      for (std::size_t i = 0; i < relation->columns.size(); ++i) {
        if (relation->columns[i].name == "cutover") r.position_cutover = static_cast<int>(i);
        if (relation->columns[i].name == "blue_seq") r.position_seq = static_cast<int>(i);
      }
    }
    for (std::size_t t = 0; t < tables_.size(); ++t) {
      if (tables_[t].pg_nspname != relation->nspname || tables_[t].pg_relname != relation->relname)
        continue;
      r.kind = Relation::Kind::kTable;
      r.table = t;
      for (const auto& column : relation->columns) {
        int index = -1;
        for (std::size_t c = 0; c < tables_[t].columns.size(); ++c)
          if (tables_[t].columns[c].green_name == column.name) index = static_cast<int>(c);
        r.column.push_back(index);
        r.type.push_back(column.type_oid);
      }
    }
    relations_[relation->oid] = std::move(r);
    return;
  }
  if (const auto* change = std::get_if<ChangeMessage>(&message)) {
    if (!open_) throw Unavailable("malformed replication stream: a change outside a transaction");
    const auto it = relations_.find(change->relation);
    if (it == relations_.end())
      throw Unavailable("malformed replication stream: a change before its relation");
    const Relation& r = it->second;
    if (r.kind == Relation::Kind::kPosition) {
      // The sync's own transaction writes blue's position first.
      if (open_->changes.empty() && !open_->echo && r.position_cutover >= 0 &&
          r.position_seq >= 0 &&
          static_cast<std::size_t>(std::max(r.position_cutover, r.position_seq)) <
              change->new_tuple.size() &&
          change->new_tuple[static_cast<std::size_t>(r.position_cutover)].text == config_.cutover) {
        open_->echo = true;
        open_->echo_seq =
            std::stoll(change->new_tuple[static_cast<std::size_t>(r.position_seq)].text);
      }
      return;
    }
    if (open_->echo || r.kind != Relation::Kind::kTable) return;
    open_->changes.push_back(Change(r, *change));
    return;
  }
  if (const auto* truncate = std::get_if<TruncateMessage>(&message)) {
    if (!open_ || open_->echo) return;
    for (std::uint32_t oid : truncate->relations) {
      const auto it = relations_.find(oid);
      if (it == relations_.end() || it->second.kind != Relation::Kind::kTable) continue;
      GreenChange c;
      c.op = GreenChange::Op::kTruncate;
      c.table = it->second.table;
      open_->changes.push_back(std::move(c));
    }
    return;
  }
  if (const auto* commit = std::get_if<CommitMessage>(&message)) {
    if (!open_) throw Unavailable("malformed replication stream: a commit without a begin");
    open_->end_lsn = commit->end_lsn;
    ready_.push_back(std::move(*open_));
    open_.reset();
    return;
  }
  if (const auto* logical = std::get_if<LogicalMessage>(&message)) {
    if (!logical->transactional && green_ && logical->prefix == green_->MarkerPrefix())
      ready_.push_back(Marker{logical->content});
  }
}

CutoverSync::GreenChange CutoverSync::Change(const Relation& r, const ChangeMessage& m) const {
  const SyncedTable& t = tables_[r.table];
  const auto row_of = [&](const Tuple& tuple) {
    std::vector<std::optional<Value>> row(t.columns.size(), Value::Null());
    for (std::size_t i = 0; i < tuple.size() && i < r.column.size(); ++i) {
      if (r.column[i] < 0) continue;  // green's own column: not synced
      const TupleField& f = tuple[i];
      auto& slot = row[static_cast<std::size_t>(r.column[i])];
      if (f.kind == TupleField::Kind::kUnchanged)
        slot.reset();
      else if (f.kind == TupleField::Kind::kNull)
        slot = Value::Null();
      else
        slot = FromPostgresText(f.text, agent::ClassifyPgType(r.type[i]));
    }
    return row;
  };
  const auto key_of = [&](const std::vector<std::optional<Value>>& row) {
    std::vector<Value> key;
    for (std::size_t k : t.key) key.push_back(row[k].value_or(Value::Null()));
    return key;
  };
  GreenChange c;
  c.table = r.table;
  if (m.op == ChangeMessage::Op::kDelete) {
    c.op = GreenChange::Op::kDelete;
    c.key = key_of(row_of(*m.old_tuple));
    return c;
  }
  c.op = GreenChange::Op::kUpsert;
  c.row = row_of(m.new_tuple);
  c.key = key_of(c.row);
  if (m.old_tuple) {
    auto old_key = key_of(row_of(*m.old_tuple));
    if (old_key != c.key) c.old_key = std::move(old_key);
  }
  return c;
}

// ------------------------------------------------------------------ green -> blue: applying

void CutoverSync::ApplyGreen(bool force) {
  if (ready_.empty()) return;
  const bool only_own = std::all_of(ready_.begin(), ready_.end(), [](const Ready& r) {
    const auto* txn = std::get_if<GreenTxn>(&r);
    return txn != nullptr && txn->changes.empty();
  });
  const auto now = Clock::now();
  if (only_own && !force && now - last_persist_ < deps_.tuning.quiet_persist) {
    // Nothing to write but positions: kept in memory, written with the next
    // change (the slot is not confirmed past them until then, so a crash
    // replays them).
    for (const Ready& r : ready_) {
      const auto& txn = std::get<GreenTxn>(r);
      if (txn.end_lsn <= green_lsn_) continue;
      if (txn.echo) echoed_seq_ = std::max(echoed_seq_, txn.echo_seq);
      green_lsn_ = txn.end_lsn;
    }
    ready_.clear();
    return;
  }
  BlueState state{config_.cutover, green_lsn_, echoed_seq_, applied_to_blue_, conflicts_, {}};
  std::vector<v1::SyncConflict> conflicts;
  std::vector<std::string> markers;
  std::optional<std::string> pause;
  bool repushed = false;
  std::uint64_t applied_now = 0;
  std::size_t done = 0;
  {
    BlueDatabase::Writer writer(*blue_);
    for (; done < ready_.size() && !pause; ++done) {
      if (const auto* marker = std::get_if<Marker>(&ready_[done])) {
        markers.push_back(marker->content);
        continue;
      }
      const GreenTxn& txn = std::get<GreenTxn>(ready_[done]);
      if (txn.end_lsn <= state.green_lsn) continue;  // applied before a restart
      if (txn.echo) {
        state.echoed_seq = std::max(state.echoed_seq, txn.echo_seq);
        state.green_lsn = txn.end_lsn;
        continue;
      }
      writer.Savepoint();
      std::uint64_t applied_here = 0;
      std::vector<v1::SyncConflict> conflicts_here;
      for (const GreenChange& c : txn.changes) {
        std::vector<std::vector<Value>> keys;
        if (c.op != GreenChange::Op::kTruncate) keys.push_back(c.key);
        if (c.old_key) keys.push_back(*c.old_key);
        bool conflict = false;
        if (c.op == GreenChange::Op::kTruncate)
          conflict = writer.ChangedSince(c.table, {}, state.echoed_seq);
        for (const auto& key : keys)
          conflict = conflict || writer.ChangedSince(c.table, key, state.echoed_seq);
        if (conflict) {
          v1::SyncConflict record;
          *record.mutable_time() = agent::ToProtoTimestamp(Now());
          record.set_table(tables_[c.table].name);
          record.set_key(c.op == GreenChange::Op::kTruncate ? "(every row: TRUNCATE)"
                                                            : KeyText(c.table, c.key));
          record.set_policy(config_.on_conflict);
          // A TRUNCATE against blue's unsynced rows pauses whatever the policy.
          if (config_.on_conflict == v1::SYNC_CONFLICT_POLICY_PAUSE ||
              c.op == GreenChange::Op::kTruncate) {
            record.set_resolution("sync paused");
            conflicts_here.push_back(record);
            pause = "conflict on " + record.table() + " " + record.key() +
                    ": changed on both sides before either change reached the other";
            break;
          }
          const bool blue_wins = config_.on_conflict == v1::SYNC_CONFLICT_POLICY_BLUE_WINS;
          record.set_resolution(blue_wins ? "blue's row kept" : "green's row kept");
          conflicts_here.push_back(record);
          if (!blue_wins) {
            if (c.old_key) writer.Delete(c.table, *c.old_key);
            if (c.op == GreenChange::Op::kDelete)
              writer.Delete(c.table, c.key);
            else
              writer.Upsert(c.table, c.row);
            ++applied_here;
          }
          // Either way both sides must end with blue's row as it now is.
          for (const auto& key : keys) writer.Repush(c.table, key);
          repushed = true;
          continue;
        }
        switch (c.op) {
          case GreenChange::Op::kUpsert:
            if (c.old_key) writer.Delete(c.table, *c.old_key);
            writer.Upsert(c.table, c.row);
            break;
          case GreenChange::Op::kDelete:
            writer.Delete(c.table, c.key);
            break;
          case GreenChange::Op::kTruncate:
            writer.DeleteAll(c.table);
            break;
        }
        ++applied_here;
      }
      if (pause) {
        // Counted once resolved; while paused the status adds it.
        writer.RollbackToSavepoint();
        conflicts.insert(conflicts.end(), conflicts_here.begin(), conflicts_here.end());
        break;
      }
      writer.ReleaseSavepoint();
      state.green_lsn = txn.end_lsn;
      state.applied += applied_here;
      state.conflicts += conflicts_here.size();
      applied_now += applied_here;
      conflicts.insert(conflicts.end(), conflicts_here.begin(), conflicts_here.end());
      last_green_lag_ms_ = AgeMs(Now(), txn.commit_unix_us);
    }
    if (now - last_trim_ >= std::chrono::seconds(1)) {
      writer.Trim(std::min(state.echoed_seq, applied_seq_));
      last_trim_ = now;
    }
    PublishGreenToBlue(state.applied, state.green_lsn, state.conflicts, done);
    try {
      writer.Commit(state);
    } catch (...) {
      PublishGreenToBlue(applied_to_blue_, green_lsn_, conflicts_, 0);
      throw;
    }
  }
  green_lsn_ = persisted_lsn_ = state.green_lsn;
  echoed_seq_ = state.echoed_seq;
  conflicts_ = state.conflicts;
  applied_to_blue_ = state.applied;
  last_persist_ = now;
  if (applied_now > 0) {
    last_green_commit_ = Now();
    last_green_apply_ = now;
  }
  if (repushed) blue_dirty_ = true;  // the sync's own log entries: data_version does not see them
  ready_.erase(ready_.begin(), ready_.begin() + static_cast<std::ptrdiff_t>(done));
  Confirm(false);
  for (const auto& conflict : conflicts) PublishConflict(conflict);
  for (const auto& content : markers) {
    std::lock_guard lock(mutex_);
    for (auto& flip : flips_)
      if (flip.armed && flip.to == v1::SLOT_BLUE && flip.marker == content) flip.marker.clear();
  }
  if (pause) throw PauseForConflict{*pause};
}

void CutoverSync::PersistQuietPositions() {
  const auto now = Clock::now();
  if (green_lsn_ == persisted_lsn_ || now - last_persist_ < deps_.tuning.quiet_persist) return;
  BlueState state{config_.cutover, green_lsn_, echoed_seq_, applied_to_blue_, conflicts_, {}};
  BlueDatabase::Writer writer(*blue_);
  writer.Commit(state);
  persisted_lsn_ = green_lsn_;
  last_persist_ = now;
  Confirm(false);
}

std::string CutoverSync::KeyText(std::size_t table, const std::vector<Value>& key) const {
  const SyncedTable& t = tables_[table];
  std::string text;
  for (std::size_t k = 0; k < t.key.size() && k < key.size(); ++k)
    text += std::string(k ? ", " : "") + t.columns[t.key[k]].blue_name + "=" + Describe(key[k]);
  return text;
}

void CutoverSync::Confirm(bool reply_requested) {
  if (!stream_) return;
  Lsn flushed = persisted_lsn_;
  // Idle, with nothing held in memory: what the server has sent since needs
  // nothing from blue, so the slot may move past it.
  if (!open_ && ready_.empty() && green_lsn_ == persisted_lsn_)
    flushed = std::max(flushed, server_wal_end_);
  stream_->Confirm(flushed, PgMicrosFromUnix(UnixMicros(Now())), reply_requested);
  last_feedback_ = Clock::now();
  reply_wanted_ = false;
}

// ------------------------------------------------------------------ blue -> green

void CutoverSync::CheckBlue() {
  const auto now = Clock::now();
  const std::int64_t version = blue_->DataVersion();
  // data_version moves when another connection commits; the timer is a
  // safety net for a change it could not see.
  if (version == last_data_version_ && !blue_dirty_ &&
      now - last_blue_check_ < std::chrono::milliseconds(250))
    return;
  last_data_version_ = version;
  last_blue_check_ = now;
  blue_dirty_ = false;
  const std::vector<BlueChange> changes = blue_->ReadChanges(applied_seq_, deps_.tuning.batch);
  if (changes.empty()) return;
  blue_dirty_ = changes.size() == deps_.tuning.batch;  // more waiting
  std::uint64_t app_changes = 0;
  for (const auto& c : changes) app_changes += (c.op == 'I' || c.op == 'U' || c.op == 'D') ? 1 : 0;
  PublishBlueToGreen(applied_to_green_ + app_changes, changes.back().seq);
  try {
    green_->Apply(changes, changes.back().seq, applied_to_green_ + app_changes);
  } catch (...) {
    // Not committed, or not known to be: the position SetUp reads back from
    // green settles it.
    PublishBlueToGreen(applied_to_green_, applied_seq_);
    throw;
  }
  applied_seq_ = changes.back().seq;
  applied_to_green_ += app_changes;
  if (app_changes > 0) last_blue_commit_ = Now();
}

// ------------------------------------------------------------------ reverts

void CutoverSync::NoteFlip(const v1::Event& event) {
  Flip flip;
  flip.event = event;
  flip.to = event.weight_after() <= 0.0 ? v1::SLOT_BLUE : v1::SLOT_GREEN;
  flip.applied_at_flip =
      flip.to == v1::SLOT_BLUE ? applied_to_blue_.load() : applied_to_green_.load();
  std::lock_guard lock(mutex_);
  flips_.push_back(std::move(flip));
}

void CutoverSync::HandleFlips() {
  std::vector<Flip*> to_arm;
  {
    std::lock_guard lock(mutex_);
    for (auto& flip : flips_)
      if (!flip.armed) to_arm.push_back(&flip);
  }
  for (Flip* flip : to_arm) {
    std::string marker;
    std::int64_t seq = 0;
    if (flip->to == v1::SLOT_BLUE) {
      std::lock_guard lock(mutex_);
      marker = "revert:" + std::to_string(flip->event.sequence()) + ":" +
               std::to_string(++flip_counter_);
    } else {
      seq = blue_->MaxSeq();
    }
    if (!marker.empty()) green_->EmitMarker(marker);
    std::lock_guard lock(mutex_);
    flip->marker = marker;
    flip->marker_seq = seq;
    flip->armed = true;
  }
  std::vector<Flip> proven;
  {
    std::lock_guard lock(mutex_);
    for (auto it = flips_.begin(); it != flips_.end();) {
      const bool arrived = it->armed && (it->to == v1::SLOT_BLUE ? it->marker.empty()
                                                                 : applied_seq_ >= it->marker_seq);
      if (arrived) {
        proven.push_back(std::move(*it));
        it = flips_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& flip : proven) Prove(flip);
}

void CutoverSync::Prove(Flip& flip) {
  const bool to_blue = flip.to == v1::SLOT_BLUE;
  const std::uint64_t now_applied = to_blue ? applied_to_blue_.load() : applied_to_green_.load();
  const std::uint64_t in_flight =
      now_applied >= flip.applied_at_flip ? now_applied - flip.applied_at_flip : 0;
  const agent::WallTime flipped = agent::FromProto(flip.event.time());
  const agent::WallTime last = to_blue ? last_green_commit_ : last_blue_commit_;
  const agent::Nanos took = in_flight == 0 || last < flipped ? agent::Nanos(0) : last - flipped;
  v1::SyncRevertProof proof;
  proof.set_rollout_id(flip.event.rollout_id());
  proof.set_reverted_sequence(flip.event.sequence());
  proof.set_to_slot(flip.to);
  proof.set_in_flight(in_flight);
  proof.set_applied(in_flight);
  proof.set_lost(0);
  *proof.mutable_took() = agent::ToProtoDuration(took);
  proof.set_done(true);
  const std::string reason = agent::RevertProofText(proof);
  v1::Event event;
  event.set_kind(agent::event_kind::kRevertSynced);
  event.set_reason(reason);
  event.set_rollout_id(flip.event.rollout_id());
  event.set_step(flip.event.step());
  event.set_weight_before(flip.event.weight_after());
  event.set_weight_after(flip.event.weight_after());
  *event.mutable_revert_proof() = proof;
  {
    std::lock_guard lock(mutex_);
    *status_.mutable_last_revert() = proof;
  }
  Publish(std::move(event));
}

// ------------------------------------------------------------------ status and events

void CutoverSync::Publish(v1::Event event) {
  *event.mutable_time() = agent::ToProtoTimestamp(Now());
  event.set_cutover(config_.cutover);
  event.set_actor("agent");
  if (deps_.publish) deps_.publish(std::move(event));
}

void CutoverSync::PublishConflict(const v1::SyncConflict& conflict) {
  {
    std::lock_guard lock(mutex_);
    *status_.mutable_last_conflict() = conflict;
  }
  v1::Event event;
  event.set_kind(agent::event_kind::kSyncConflict);
  event.set_step(-1);
  event.set_reason("conflict on " + conflict.table() + " " + conflict.key() +
                   ": changed on both sides before either change reached the other; " +
                   conflict.resolution() + " (on_conflict " +
                   agent::SyncPolicyName(conflict.policy()) + ")");
  *event.mutable_sync_conflict() = conflict;
  Publish(std::move(event));
}

void CutoverSync::SetState(v1::SyncState state, const std::string& reason) {
  std::lock_guard lock(mutex_);
  status_.set_state(state);
  status_.set_reason(reason);
  status_.set_conflicts(conflicts_ + (state == v1::SYNC_STATE_PAUSED ? 1 : 0));
  if (state != v1::SYNC_STATE_RUNNING) {
    status_.mutable_blue_to_green()->set_streaming(false);
    status_.mutable_green_to_blue()->set_streaming(false);
  }
}

void CutoverSync::UpdateStatus() {
  PublishBlueToGreen(applied_to_green_, applied_seq_);
  PublishGreenToBlue(applied_to_blue_, green_lsn_, conflicts_, 0);
}

void CutoverSync::PublishBlueToGreen(std::uint64_t applied, std::int64_t seq) {
  const agent::WallTime now = Now();
  const BlueDatabase::Pending pending = blue_->PendingAfter(seq);
  std::lock_guard lock(mutex_);
  auto* b2g = status_.mutable_blue_to_green();
  b2g->set_pending(pending.count);
  b2g->set_applied(applied);
  b2g->set_lag_ms(pending.oldest_ms ? AgeMs(now, *pending.oldest_ms * 1000) : 0);
  b2g->set_streaming(true);
  b2g->set_position(std::to_string(seq));
}

void CutoverSync::PublishGreenToBlue(std::uint64_t applied, Lsn lsn, std::uint64_t conflicts,
                                     std::size_t committing) {
  const agent::WallTime now = Now();
  std::uint64_t pending = open_ ? open_->changes.size() : 0;
  std::optional<std::int64_t> oldest;
  if (open_) oldest = open_->commit_unix_us;
  for (std::size_t i = committing; i < ready_.size(); ++i)
    if (const auto* txn = std::get_if<GreenTxn>(&ready_[i])) {
      pending += txn->changes.size();
      if (!txn->changes.empty() && !oldest) oldest = txn->commit_unix_us;
    }
  double lag = oldest && pending > 0 ? AgeMs(now, *oldest) : 0;
  // Right after an apply, the lag it had (a stream working through a backlog
  // shows it between transactions too).
  if (Clock::now() - last_green_apply_ < std::chrono::seconds(1))
    lag = std::max(lag, last_green_lag_ms_);
  std::lock_guard lock(mutex_);
  auto* g2b = status_.mutable_green_to_blue();
  g2b->set_pending(pending);
  g2b->set_applied(applied);
  g2b->set_lag_ms(lag);
  g2b->set_streaming(true);
  g2b->set_position(FormatLsn(lsn));
  status_.set_conflicts(conflicts);
}

v1::Sync CutoverSync::Status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

CutoverSync::Carry CutoverSync::TakeCarry() {
  std::lock_guard lock(mutex_);
  Carry carry;
  if (status_.has_last_conflict()) carry.last_conflict = status_.last_conflict();
  if (status_.has_last_revert()) carry.last_revert = status_.last_revert();
  carry.started_at = status_.started_at();
  for (auto& flip : flips_) carry.flips.push_back(flip.event);
  flips_.clear();
  return carry;
}

void CutoverSync::Adopt(Carry carry) {
  for (const auto& event : carry.flips) NoteFlip(event);
  std::lock_guard lock(mutex_);
  if (carry.last_conflict) *status_.mutable_last_conflict() = *carry.last_conflict;
  if (carry.last_revert) *status_.mutable_last_revert() = *carry.last_revert;
  *status_.mutable_started_at() = carry.started_at;
}

// ------------------------------------------------------------------ removal

void CutoverSync::Uninstall() {
  Halt();
  const Waker waker;  // the worker's has fired for good
  std::string left;
  try {
    GreenDatabase(config_, waker).Uninstall();
  } catch (const std::exception& e) {
    left += std::string("green: ") + e.what();
  }
  try {
    BlueDatabase(config_.blue_path).Uninstall();
  } catch (const std::exception& e) {
    left += std::string(left.empty() ? "" : "; ") + "blue: " + e.what();
  }
  if (!left.empty()) throw Unavailable("could not remove everything: " + left);
}

}  // namespace cutover::sync
