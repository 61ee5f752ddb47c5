#include "agent/gates/table_source.hpp"

#include "agent/core/dsn.hpp"
#include "agent/gates/pg_table_source.hpp"
#include "agent/gates/sqlite_table_source.hpp"

namespace cutover::gates {

using agent::IsSqliteDsn;
using agent::SqlitePath;

std::unique_ptr<TableSource> OpenTableSource(const std::string& dsn, const Deadline& deadline) {
  if (IsSqliteDsn(dsn)) return std::make_unique<SqliteTableSource>(SqlitePath(dsn), deadline);
  return std::make_unique<PgTableSource>(dsn, deadline);
}

}  // namespace cutover::gates
