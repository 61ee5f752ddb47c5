// One side of a parity comparison: a database whose tables can be listed,
// counted and checksummed. All reads of one source see one snapshot.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/core/canonical.hpp"
#include "agent/gates/deadline.hpp"
#include "agent/gates/row_checksum.hpp"

namespace cutover::gates {

// How a column's values are rendered for checksums: as they are, or as points
// in time (one spelling per instant, see agent/core/canonical.hpp). Known from the
// PostgreSQL side's column type; SQLite's declared types promise nothing.
enum class ColumnKind { kPlain, kTimestamp, kTimestampTz };

struct Column {
  std::string name;  // as the database spells it
  ColumnKind kind = ColumnKind::kPlain;
};

class TableSource {
 public:
  virtual ~TableSource() = default;
  // Base tables of the default schema (PostgreSQL) or the file (SQLite).
  virtual std::vector<std::string> Tables() = 0;
  // The table's columns; nullopt when the table does not exist.
  virtual std::optional<std::vector<Column>> Columns(const std::string& table) = 0;
  virtual std::uint64_t CountRows(const std::string& table) = 0;
  // Rows of `columns` (in that order, rendered as their kinds say), hashed and summed.
  virtual TableChecksum Checksum(const std::string& table, const std::vector<Column>& columns) = 0;
};

// "sqlite:..." opens the file read-only; anything else is a PostgreSQL DSN.
// Throws GateError when the database cannot be opened within the deadline.
std::unique_ptr<TableSource> OpenTableSource(const std::string& dsn, const Deadline& deadline);

using agent::QuoteIdentifier;  // agent/core/canonical.hpp
using agent::QuoteQualifiedName;

}  // namespace cutover::gates
