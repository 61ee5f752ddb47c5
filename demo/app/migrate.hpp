// SQLite -> PostgreSQL: the one-off copy the seed runbooks describe.
#pragma once

#include <ostream>
#include <string>

namespace demo {

// Copies every table of an SQLite orders database into an empty PostgreSQL
// one in a single PostgreSQL transaction: schema first, then rows in
// dependency order with their ids kept, then each sequence set to the id
// SQLite would have given next, then row counts checked table by table.
// Throws (and leaves the target untouched) on any failure.
void Migrate(const std::string& from_sqlite_dsn, const std::string& to_postgres_dsn,
             std::ostream& log);

}  // namespace demo
