// Blue's side of the sync: the SQLite file. The capture (a change log, a
// state table and three triggers per synced table) is installed into the
// file itself, so every process that writes it is captured; the sync reads
// the log in commit order (SQLite has one writer at a time, so the log's
// sequence is commit order) and applies green's changes on a connection that
// fires no trigger (the session guard), with green's position in the same
// transaction.
//
//   _cutover_sync_log    seq INTEGER PRIMARY KEY, tbl, op, at, c0..cN
//                        op: I insert, U update, D delete (the row's values,
//                        new or old, in the synced columns' order), R "push
//                        blue's current row for this key" (conflict resolution)
//   _cutover_sync_state  name TEXT PRIMARY KEY, value: cutover, green_lsn,
//                        echoed_seq, applied, conflicts, columns:<table>
//   _cutover_sync_<table>_insert | _update | _delete   the triggers
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/sync/pgoutput.hpp"
#include "agent/sync/schema.hpp"
#include "agent/sync/values.hpp"

namespace cutover::sync {

// What the sync keeps in the SQLite file, written with green's changes.
struct BlueState {
  std::string cutover;
  Lsn green_lsn = 0;            // the end of the last green transaction applied
  std::int64_t echoed_seq = 0;  // blue's changes up to here are known to be on green
  std::uint64_t applied = 0;    // green row changes applied to blue, ever
  std::uint64_t conflicts = 0;
  std::map<std::string, std::string> columns;  // per table: what the triggers capture
};

// One captured change of blue, in commit order.
struct BlueChange {
  std::int64_t seq = 0;
  std::size_t table = 0;  // index into the synced tables
  char op = 'I';          // I, U, D, R (see above; R carries the row read now)
  std::int64_t captured_ms = 0;
  std::vector<Value> values;  // one per synced column (D: the key columns matter)
  bool row_exists = true;     // R: whether blue has the row (else: delete it on green)
};

class BlueDatabase {
 public:
  // Opens the file read-write (never creates it: a wrong path is an error).
  explicit BlueDatabase(const std::string& path);
  ~BlueDatabase();
  BlueDatabase(const BlueDatabase&) = delete;
  BlueDatabase& operator=(const BlueDatabase&) = delete;

  // The application's tables (tables: all): every table but SQLite's and the sync's.
  std::vector<std::string> ApplicationTables();
  TableSchema Describe(const std::string& table);

  // nullopt when no capture is installed.
  std::optional<BlueState> ReadState();
  // Installs (or refreshes) the capture for `tables` on behalf of `cutover`;
  // keeps the positions of an earlier install. Idempotent.
  void Install(const std::string& cutover, const std::vector<SyncedTable>& tables);
  // Removes every object of the sync from the file.
  void Uninstall();
  // Which tables reads and writes below are about (after Install or ReadState).
  void Use(const std::vector<SyncedTable>& tables);

  // Changes when another connection commits: a cheap "anything new?".
  std::int64_t DataVersion();
  std::int64_t MaxSeq();
  // How many changes are after `seq`, and when the oldest of them was captured.
  struct Pending {
    std::uint64_t count = 0;
    std::optional<std::int64_t> oldest_ms;
  };
  Pending PendingAfter(std::int64_t seq);
  // Up to `limit` changes after `seq`, in order, read in one snapshot.
  std::vector<BlueChange> ReadChanges(std::int64_t after, std::size_t limit);

  // One write transaction of green's changes (BEGIN IMMEDIATE), on the
  // connection no trigger fires for, rolled back unless committed.
  class Writer {
   public:
    explicit Writer(BlueDatabase& db);
    ~Writer();
    // Whether blue changed this key after `echoed_seq` (not yet known to be on green).
    bool ChangedSince(std::size_t table, const std::vector<Value>& key, std::int64_t echoed_seq);
    // Writes the row; columns without a value (unchanged on green) are left as they are.
    void Upsert(std::size_t table, const std::vector<std::optional<Value>>& row);
    void Delete(std::size_t table, const std::vector<Value>& key);
    void DeleteAll(std::size_t table);
    // Logs "push blue's row for this key to green" (conflict resolution).
    void Repush(std::size_t table, const std::vector<Value>& key);
    // Each green transaction in its own savepoint: a conflict that pauses the
    // sync undoes that transaction alone, the ones before it are committed.
    void Savepoint();
    void ReleaseSavepoint();
    void RollbackToSavepoint();
    // Drops log entries green has seen (never the newest: its sequence must
    // stay the largest ever handed out).
    void Trim(std::int64_t up_to_seq);
    void Commit(const BlueState& state);

   private:
    BlueDatabase& db_;
    bool open_ = false;
  };

  const std::string& path() const { return path_; }

 private:
  class Statement;
  Statement& Cached(const std::string& sql);
  void Exec(const std::string& sql);
  [[noreturn]] void Fail(const std::string& doing) const;
  std::string KeyWhere(const SyncedTable& table, int first_param) const;
  void WriteState(const BlueState& state);

  std::string path_;
  sqlite3* db_ = nullptr;
  std::vector<SyncedTable> tables_;
  std::map<std::string, std::unique_ptr<Statement>> statements_;
};

}  // namespace cutover::sync
