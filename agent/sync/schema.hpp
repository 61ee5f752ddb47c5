// Which tables and columns a sync carries, decided once at start from both
// schemas: the columns both sides have (green may have more, as a
// backward-compatible migration adds them), matched by name ignoring case as
// the parity gate matches them. A table either side lacks, or without a
// primary key, or whose key columns differ, is refused by name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/core/canonical.hpp"

namespace cutover::sync {

// A table as one database describes it.
struct ColumnSchema {
  std::string name;
  int key_position = 0;       // 1-based position in the primary key; 0: not a key column
  std::uint32_t pg_type = 0;  // PostgreSQL's type oid (0 on SQLite)
  bool required = false;      // PostgreSQL: NOT NULL without a default
};
struct TableSchema {
  std::string name;  // as the database spells it
  bool exists = false;
  bool virtual_table = false;   // SQLite: CREATE VIRTUAL TABLE (no triggers)
  char replica_identity = 'd';  // PostgreSQL: pg_class.relreplident
  std::string pg_qualified;     // PostgreSQL: the regclass text ("orders", "app.orders")
  std::string pg_nspname, pg_relname;
  std::vector<ColumnSchema> columns;  // in the table's column order
};

struct SyncedColumn {
  std::string blue_name;  // as SQLite spells it
  std::string green_name;
  std::uint32_t pg_type = 0;
  agent::PgValueClass pg_class = agent::PgValueClass::kText;
};
struct SyncedTable {
  std::string name;  // as SQLite spells it: the change log's table name
  std::string pg_qualified, pg_nspname, pg_relname;
  std::vector<SyncedColumn> columns;  // both sides have them, in SQLite's column order
  std::vector<std::size_t> key;       // indexes into columns, in the primary key's order

  // "id,customer_id,item": what the capture was installed for, to tell a
  // changed schema at a restart.
  std::string ColumnList() const;
};

// Matches `blue` and `green` (one entry per wanted table, same order). Throws
// SyncError (failed precondition) listing every table that cannot be synced
// and why: "audit has no primary key on blue (SQLite); orders: primary key
// (id) on blue but (id, region) on green".
std::vector<SyncedTable> MatchTables(const std::vector<TableSchema>& blue,
                                     const std::vector<TableSchema>& green);

// The widest table: how many value columns the change log needs.
std::size_t WidestTable(const std::vector<SyncedTable>& tables);

}  // namespace cutover::sync
