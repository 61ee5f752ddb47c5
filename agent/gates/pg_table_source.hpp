// A PostgreSQL database as one side of a parity check, read in one
// REPEATABLE READ, READ ONLY transaction so every table is from one snapshot.
#pragma once

#include "agent/gates/pg_session.hpp"
#include "agent/gates/table_source.hpp"

namespace cutover::gates {

class PgTableSource : public TableSource {
 public:
  PgTableSource(const std::string& dsn, const Deadline& deadline);

  std::vector<std::string> Tables() override;
  std::optional<std::vector<Column>> Columns(const std::string& table) override;
  std::uint64_t CountRows(const std::string& table) override;
  TableChecksum Checksum(const std::string& table, const std::vector<Column>& columns) override;

 private:
  PgSession session_;
};

}  // namespace cutover::gates
