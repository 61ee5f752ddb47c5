#include "store.hpp"

#include <ctime>

#include "postgres_store.hpp"
#include "sqlite_store.hpp"

namespace demo {

bool IsSqliteDsn(const std::string& dsn) { return dsn.starts_with("sqlite:"); }

bool IsPostgresDsn(const std::string& dsn) {
  return dsn.starts_with("postgresql://") || dsn.starts_with("postgres://");
}

std::string SqlitePathOf(const std::string& dsn) {
  // "sqlite:///var/lib/app.db" (the URI form the gates use) and "sqlite:app.db".
  std::string path = dsn.substr(dsn.starts_with("sqlite://") ? 9 : 7);
  if (path.empty()) throw std::invalid_argument("no path in \"" + dsn + "\"");
  return path;
}

std::unique_ptr<OrderStore> OpenStore(const std::string& dsn) {
  if (IsSqliteDsn(dsn)) return std::make_unique<SqliteStore>(SqlitePathOf(dsn));
  if (IsPostgresDsn(dsn)) return std::make_unique<PostgresStore>(dsn);
  throw std::invalid_argument("unknown database \"" + dsn +
                              "\": expected sqlite:PATH or postgresql://...");
}

std::string UtcTime(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string UtcNow() { return UtcTime(std::time(nullptr)); }

}  // namespace demo
