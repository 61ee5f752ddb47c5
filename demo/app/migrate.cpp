#include "migrate.hpp"

#include <filesystem>

#include "postgres_store.hpp"
#include "sqlite_store.hpp"

namespace demo {

namespace {

constexpr int kPage = 1000;

void RequireEmpty(PgConnection& pg, std::string_view table) {
  const auto rows = pg.Exec("SELECT count(*) FROM " + std::string(table)).Int(0, 0);
  if (rows != 0)
    throw StoreError("target table " + std::string(table) + " already holds " +
                     std::to_string(rows) + " rows: migrate into an empty database");
}

}  // namespace

void Migrate(const std::string& from_sqlite_dsn, const std::string& to_postgres_dsn,
             std::ostream& log, std::int64_t blue_ids_from) {
  if (!IsSqliteDsn(from_sqlite_dsn)) throw std::invalid_argument("--from must be sqlite:PATH");
  if (!IsPostgresDsn(to_postgres_dsn)) throw std::invalid_argument("--to must be postgresql://...");
  const std::string path = SqlitePathOf(from_sqlite_dsn);
  if (!std::filesystem::exists(path)) throw StoreError("no SQLite database at " + path);

  SqliteStore source(path);
  PgConnection target(to_postgres_dsn);

  target.Exec("BEGIN");
  try {
    target.Exec(kPostgresSchema);
    for (auto table : kTablesInDependencyOrder) RequireEmpty(target, table);

    source.InSnapshot([&] {
      // Parents before children, so every foreign key holds row by row.
      const auto customers = source.AllCustomers();
      for (const auto& c : customers)
        target.Exec("INSERT INTO customers (id, name, email) VALUES ($1, $2, $3)",
                    {std::to_string(c.id), c.name, c.email});

      for (std::int64_t after = 0;;) {
        const auto page = source.ListOrders(after, kPage);
        for (const auto& o : page)
          target.Exec(
              "INSERT INTO orders (id, customer_id, item, quantity, created_at) "
              "VALUES ($1, $2, $3, $4, $5)",
              {std::to_string(o.id), std::to_string(o.customer_id), o.item,
               std::to_string(o.quantity), o.created_at});
        if (page.size() < kPage) break;
        after = page.back().id;
      }

      for (auto table : kTablesInDependencyOrder) {
        const auto source_rows = source.CountRows(table);
        const auto target_rows =
            target.Exec("SELECT count(*) FROM " + std::string(table)).Int(0, 0);
        if (source_rows != target_rows)
          throw StoreError(std::string(table) + ": copied " + std::to_string(target_rows) +
                           " rows of " + std::to_string(source_rows));
        // The ids were copied as they are, so the sequence must continue
        // where SQLite would have: otherwise the first insert on green
        // collides with a migrated row.
        const auto next_id = source.NextId(table);
        target.Exec("SELECT setval(pg_get_serial_sequence($1, 'id'), $2, false)",
                    {std::string(table), std::to_string(next_id)});
        log << "migrate: " << table << ": " << target_rows << " rows copied, next id " << next_id
            << "\n";
      }
    });
    if (blue_ids_from > 0)
      for (auto table : kTablesInDependencyOrder) {
        if (source.NextId(table) > blue_ids_from)
          throw StoreError(std::string(table) + ": SQLite's ids already reach " +
                           std::to_string(source.NextId(table)) + ", past --blue-ids-from " +
                           std::to_string(blue_ids_from));
      }
    target.Exec("COMMIT");
  } catch (...) {
    if (target.ok()) target.Exec("ROLLBACK");
    throw;
  }
  if (blue_ids_from > 0)
    for (auto table : kTablesInDependencyOrder) {
      source.MoveIdsTo(table, blue_ids_from);
      log << "migrate: " << table << ": SQLite's next id is now " << blue_ids_from
          << " (green keeps the ids below)\n";
    }
}

}  // namespace demo
