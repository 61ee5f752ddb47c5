#include "agent/sync/green.hpp"

#include <thread>

#include "agent/core/canonical.hpp"
#include "agent/sync/sync_error.hpp"

namespace cutover::sync {

using agent::QuoteIdentifier;

namespace {

std::string Value0(const PgResult& r) {
  return PQntuples(r.get()) > 0 && PQgetisnull(r.get(), 0, 0) == 0 ? PQgetvalue(r.get(), 0, 0) : "";
}

const std::string kPosition = std::string(kPositionSchema) + "." + kPositionTable;

}  // namespace

GreenDatabase::GreenDatabase(const SyncConfig& config, const Waker& waker)
    : config_(config), link_(config.green_dsn, PgLink::Kind::kPlain, waker) {}

void GreenDatabase::RequireLogicalReplication() {
  const std::string level = Value0(link_.Query("SHOW wal_level"));
  if (level != "logical")
    throw Unfit("green (" + link_.redacted_dsn() + "): wal_level is " + level +
                ", the sync reads a logical replication slot: set wal_level = logical in "
                "postgresql.conf and restart PostgreSQL");
  const std::string can =
      Value0(link_.Query("SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = "
                         "current_user"));
  if (can != "t")
    throw Unfit("green (" + link_.redacted_dsn() +
                "): the role may not open a replication connection (ALTER ROLE ... REPLICATION)");
}

TableSchema GreenDatabase::Describe(const std::string& table) {
  TableSchema schema;
  schema.name = table;
  // The name as SQLite spells it, else folded to lower case as PostgreSQL
  // folds unquoted names.
  PgResult rel = link_.Query(
      "SELECT c.oid, n.nspname, c.relname, c.relreplident, c.oid::regclass::text"
      " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
      " WHERE c.oid = coalesce(to_regclass(quote_ident($1)), to_regclass(quote_ident(lower($1))))"
      " AND c.relkind IN ('r', 'p')",
      {table});
  if (PQntuples(rel.get()) == 0) return schema;
  schema.exists = true;
  const std::string oid = PQgetvalue(rel.get(), 0, 0);
  schema.pg_nspname = PQgetvalue(rel.get(), 0, 1);
  schema.pg_relname = PQgetvalue(rel.get(), 0, 2);
  schema.replica_identity = PQgetvalue(rel.get(), 0, 3)[0];
  schema.pg_qualified = PQgetvalue(rel.get(), 0, 4);
  // Generated columns are computed on green and never published: not synced.
  PgResult columns = link_.Query(
      "SELECT a.attname, a.atttypid, coalesce((SELECT k.n FROM unnest(i.indkey)"
      " WITH ORDINALITY AS k(attnum, n) WHERE k.attnum = a.attnum), 0),"
      " a.attnotnull AND NOT a.atthasdef AND a.attidentity = ''"
      " FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary"
      " WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped"
      " AND a.attgenerated = '' ORDER BY a.attnum",
      {oid});
  for (int i = 0; i < PQntuples(columns.get()); ++i)
    schema.columns.push_back(
        {PQgetvalue(columns.get(), i, 0), std::stoi(PQgetvalue(columns.get(), i, 2)),
         static_cast<std::uint32_t>(std::stoul(PQgetvalue(columns.get(), i, 1))),
         std::string_view(PQgetvalue(columns.get(), i, 3)) == "t"});
  return schema;
}

GreenDatabase::Position GreenDatabase::ReadPosition() {
  Position p;
  if (Value0(link_.Query("SELECT to_regclass($1) IS NOT NULL", {kPosition})) != "t") return p;
  PgResult r = link_.Query("SELECT blue_seq, applied FROM " + kPosition + " WHERE cutover = $1",
                           {config_.cutover});
  if (PQntuples(r.get()) == 0) return p;
  p.exists = true;
  p.blue_seq = std::stoll(PQgetvalue(r.get(), 0, 0));
  p.applied = std::stoull(PQgetvalue(r.get(), 0, 1));
  return p;
}

std::optional<Lsn> GreenDatabase::Install(const std::vector<SyncedTable>& tables,
                                          std::int64_t start_seq) {
  link_.Query(std::string("CREATE SCHEMA IF NOT EXISTS ") + kPositionSchema);
  link_.Query("CREATE TABLE IF NOT EXISTS " + kPosition +
              " (cutover text PRIMARY KEY, blue_seq bigint NOT NULL, applied bigint NOT NULL,"
              " updated_at timestamptz NOT NULL DEFAULT now())");
  link_.Query("INSERT INTO " + kPosition +
                  " (cutover, blue_seq, applied) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING",
              {config_.cutover, std::to_string(start_seq)});
  std::string members;
  for (const auto& t : tables) members += t.pg_qualified + ", ";
  members += kPosition;
  const std::string publication = QuoteIdentifier(config_.green_object);
  // The publication before the slot: pgoutput reads it as of each change.
  if (Value0(link_.Query("SELECT count(*) FROM pg_publication WHERE pubname = $1",
                         {config_.green_object})) == "0")
    link_.Query("CREATE PUBLICATION " + publication + " FOR TABLE " + members);
  else
    link_.Query("ALTER PUBLICATION " + publication + " SET TABLE " + members);
  // Slot names are the cluster's, not the database's.
  const std::string slot_database = Value0(link_.Query(
      "SELECT database FROM pg_replication_slots WHERE slot_name = $1", {config_.green_object}));
  if (!slot_database.empty()) {
    if (slot_database != Value0(link_.Query("SELECT current_database()")))
      throw Unfit("green (" + link_.redacted_dsn() + "): the replication slot " +
                  config_.green_object + " belongs to database " + slot_database +
                  " (the sync of another cutover of that name?)");
    return std::nullopt;
  }
  const std::string lsn =
      Value0(link_.Query("SELECT lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')",
                         {config_.green_object}));
  return ParseLsn(lsn);
}

void GreenDatabase::RequireInstalled() {
  if (Value0(link_.Query("SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1",
                         {config_.green_object})) == "0")
    throw Unavailable("green (" + link_.redacted_dsn() + "): the replication slot " +
                      config_.green_object +
                      " is gone: green's changes since then are not known; check them and run "
                      "sync start again");
  if (Value0(link_.Query("SELECT count(*) FROM pg_publication WHERE pubname = $1",
                         {config_.green_object})) == "0")
    throw Unavailable("green (" + link_.redacted_dsn() + "): the publication " +
                      config_.green_object + " is gone: run sync start again");
}

void GreenDatabase::Uninstall() {
  // The slot cannot go while a walsender still holds it (ours ends a moment
  // after its connection closes).
  for (int attempt = 0;; ++attempt) {
    link_.Query(
        "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots"
        " WHERE slot_name = $1 AND active",
        {config_.green_object});
    try {
      link_.Query(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
          " WHERE slot_name = $1",
          {config_.green_object});
      break;
    } catch (const SyncError&) {
      if (attempt >= 50) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the walsender's exit
    }
  }
  link_.Query("DROP PUBLICATION IF EXISTS " + QuoteIdentifier(config_.green_object));
  if (Value0(link_.Query("SELECT to_regclass($1) IS NOT NULL", {kPosition})) == "t")
    link_.Query("DELETE FROM " + kPosition + " WHERE cutover = $1", {config_.cutover});
}

void GreenDatabase::Use(const std::vector<SyncedTable>& tables) {
  tables_ = tables;
  upsert_names_.clear();
  delete_names_.clear();
  link_.Prepare(position_name_,
                "INSERT INTO " + kPosition +
                    " (cutover, blue_seq, applied) VALUES ($1, $2, $3) ON CONFLICT (cutover) DO "
                    "UPDATE SET blue_seq = excluded.blue_seq, applied = excluded.applied, "
                    "updated_at = now()",
                3);
  for (std::size_t t = 0; t < tables.size(); ++t) {
    const SyncedTable& table = tables[t];
    std::string columns, params, updates, key, where;
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
      const std::string name = QuoteIdentifier(table.columns[i].green_name);
      columns += std::string(i ? ", " : "") + name;
      params += std::string(i ? ", " : "") + "$" + std::to_string(i + 1);
      if (std::find(table.key.begin(), table.key.end(), i) == table.key.end())
        updates += std::string(updates.empty() ? "" : ", ") + name + " = excluded." + name;
    }
    for (std::size_t k = 0; k < table.key.size(); ++k) {
      const std::string name = QuoteIdentifier(table.columns[table.key[k]].green_name);
      key += std::string(k ? ", " : "") + name;
      where += std::string(k ? " AND " : "") + name + " = $" + std::to_string(k + 1);
    }
    upsert_names_.push_back("cutover_sync_upsert_" + std::to_string(t));
    delete_names_.push_back("cutover_sync_delete_" + std::to_string(t));
    // OVERRIDING SYSTEM VALUE: blue's key goes in even into an identity column.
    link_.Prepare(upsert_names_.back(),
                  "INSERT INTO " + table.pg_qualified + " (" + columns +
                      ") OVERRIDING SYSTEM VALUE VALUES (" + params + ") ON CONFLICT (" + key +
                      ") DO " + (updates.empty() ? "NOTHING" : "UPDATE SET " + updates),
                  static_cast<int>(table.columns.size()));
    link_.Prepare(delete_names_.back(), "DELETE FROM " + table.pg_qualified + " WHERE " + where,
                  static_cast<int>(table.key.size()));
  }
}

void GreenDatabase::Apply(const std::vector<BlueChange>& changes, std::int64_t new_seq,
                          std::uint64_t applied_total) {
  std::vector<PgLink::Prepared> statements;
  statements.reserve(changes.size() + 1);
  // First: the position. It commits with the rows, and it tells the slot's
  // reader that this transaction is the sync's own.
  statements.push_back(
      {&position_name_, {config_.cutover, std::to_string(new_seq), std::to_string(applied_total)}});
  for (const BlueChange& c : changes) {
    if (c.op == '-' || c.op == '?') continue;  // a table no longer synced
    const SyncedTable& t = tables_[c.table];
    const bool remove = c.op == 'D' || (c.op == 'R' && !c.row_exists);
    std::vector<Param> params;
    if (remove) {
      for (std::size_t k : t.key)
        params.push_back(ToPostgresText(c.values[k], t.columns[k].pg_class));
      statements.push_back({&delete_names_[c.table], std::move(params)});
    } else {
      for (std::size_t i = 0; i < t.columns.size(); ++i)
        params.push_back(ToPostgresText(c.values[i], t.columns[i].pg_class));
      statements.push_back({&upsert_names_[c.table], std::move(params)});
    }
  }
  link_.RunAtomically(statements);
}

void GreenDatabase::EmitMarker(const std::string& content) {
  link_.Query("SELECT pg_logical_emit_message(false, $1, $2)", {MarkerPrefix(), content});
}

GreenStream::GreenStream(const SyncConfig& config, const Waker& waker, Lsn start)
    : link_(config.green_dsn, PgLink::Kind::kReplication, waker) {
  const PgResult started =
      link_.Query("START_REPLICATION SLOT " + QuoteIdentifier(config.green_object) + " LOGICAL " +
                  FormatLsn(start) + " (proto_version '1', publication_names '" +
                  QuoteIdentifier(config.green_object) + "', messages 'true')");
  if (PQresultStatus(started.get()) != PGRES_COPY_BOTH)
    throw Unavailable("green (" + link_.redacted_dsn() + "): START_REPLICATION did not stream");
}

std::vector<std::string> GreenStream::Read(std::chrono::milliseconds timeout) {
  std::vector<std::string> frames;
  for (auto frame = link_.NextCopyData(); frame; frame = link_.NextCopyData())
    frames.push_back(std::move(*frame));
  if (!frames.empty()) return frames;
  link_.Receive(timeout);
  for (auto frame = link_.NextCopyData(); frame; frame = link_.NextCopyData())
    frames.push_back(std::move(*frame));
  return frames;
}

void GreenStream::Confirm(Lsn flushed, std::int64_t pg_micros_now, bool reply_requested) {
  link_.SendCopyData(
      StandbyStatusUpdate(flushed, flushed, flushed, pg_micros_now, reply_requested));
}

}  // namespace cutover::sync
