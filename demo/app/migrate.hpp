// SQLite -> PostgreSQL: the one-off copy the seed runbooks describe.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace demo {

// Copies every table of an SQLite orders database into an empty PostgreSQL
// one in a single PostgreSQL transaction: schema first, then rows in
// dependency order with their ids kept, then each sequence set to the id
// SQLite would have given next, then row counts checked table by table.
// Throws (and leaves the target untouched) on any failure.
//
// With `blue_ids_from` (> 0), for a two-way sync where both slots insert:
// SQLite's ids then continue from that number, a range of their own above
// PostgreSQL's. (SQLite's AUTOINCREMENT always continues past the largest id
// it holds, so it must be the one above: green's ids synced into blue stay
// below its range, and blue's synced into green never touch green's sequence.)
void Migrate(const std::string& from_sqlite_dsn, const std::string& to_postgres_dsn,
             std::ostream& log, std::int64_t blue_ids_from = 0);

}  // namespace demo
