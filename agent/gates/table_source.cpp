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

std::string QuoteIdentifier(const std::string& name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string QuoteQualifiedName(const std::string& name) {
  const auto dot = name.find('.');
  if (dot == std::string::npos) return QuoteIdentifier(name);
  return QuoteIdentifier(name.substr(0, dot)) + "." + QuoteIdentifier(name.substr(dot + 1));
}

}  // namespace cutover::gates
