// Green's side of the sync: the PostgreSQL database. Blue's changes are
// applied in one transaction per batch whose first statement stores blue's
// position (cutover_sync.position), so the position and the rows commit
// together, and that first row marks the transaction as the sync's own when
// it comes back through the slot (no echo). Green's own changes are read
// from a logical replication slot with pgoutput over a replication
// connection, and confirmed only once blue has committed them.
//
//   schema cutover_sync, table cutover_sync.position (cutover, blue_seq, applied)
//   publication and logical slot "cutover_sync_<cutover>" (pgoutput)
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/sync/blue.hpp"
#include "agent/sync/pg_link.hpp"
#include "agent/sync/pgoutput.hpp"
#include "agent/sync/schema.hpp"
#include "agent/sync/spec.hpp"

namespace cutover::sync {

inline constexpr char kPositionSchema[] = "cutover_sync";
inline constexpr char kPositionTable[] = "position";

class GreenDatabase {
 public:
  GreenDatabase(const SyncConfig& config, const Waker& waker);

  // Refuses a server the sync cannot read (wal_level below logical) and a
  // role that may not open a replication connection, saying so.
  void RequireLogicalReplication();
  TableSchema Describe(const std::string& table);

  struct Position {
    bool exists = false;
    std::int64_t blue_seq = 0;  // blue's changes applied up to here
    std::uint64_t applied = 0;  // how many, ever
  };
  Position ReadPosition();
  // Creates what is missing: the position row (at `start_seq`), the
  // publication (set to exactly `tables`), then the slot. Returns the slot's
  // consistent point when it was created now.
  std::optional<Lsn> Install(const std::vector<SyncedTable>& tables, std::int64_t start_seq);
  // Throws SyncError naming what is gone (the slot, the publication).
  void RequireInstalled();
  void Uninstall();

  // Prepares the statements for `tables` on this connection.
  void Use(const std::vector<SyncedTable>& tables);
  // Applies blue's changes and the new position in one transaction.
  void Apply(const std::vector<BlueChange>& changes, std::int64_t new_seq,
             std::uint64_t applied_total);
  // A non-transactional logical decoding message: everything committed on
  // green before it reaches the slot before it.
  void EmitMarker(const std::string& content);

  // The prefix of the sync's markers in the stream.
  std::string MarkerPrefix() const { return "cutover_sync:" + config_.green_object; }

 private:
  const SyncConfig& config_;
  PgLink link_;
  std::vector<SyncedTable> tables_;
  std::vector<std::string> upsert_names_, delete_names_;
  std::string position_name_ = "cutover_sync_position";
};

// The replication connection: START_REPLICATION on the sync's slot.
class GreenStream {
 public:
  GreenStream(const SyncConfig& config, const Waker& waker, Lsn start);
  // Waits up to `timeout` for data, then hands out every frame received.
  std::vector<std::string> Read(std::chrono::milliseconds timeout);
  // Standby status: `flushed` becomes the slot's confirmed position.
  void Confirm(Lsn flushed, std::int64_t pg_micros_now, bool reply_requested = false);

 private:
  PgLink link_;
};

}  // namespace cutover::sync
