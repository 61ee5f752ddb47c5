// Throwaway PostgreSQL 15 clusters: initdb (or pg_basebackup, for a
// standby) into a temporary directory, started with pg_ctl on a free
// loopback port (as the postgres user when root), stopped by pg_ctl when the
// object dies. Stop() and Start() keep the data and the port, so a test can
// restart the server under a client.
#pragma once

#include <string>
#include <vector>

#include "support/process.hpp"

struct pg_conn;  // libpq's PGconn

namespace cutover::test {

class Postgres {
 public:
  // `extra_conf` is appended to postgresql.conf (e.g. "wal_level = logical").
  explicit Postgres(const std::string& extra_conf = "");
  virtual ~Postgres();
  Postgres(const Postgres&) = delete;
  Postgres& operator=(const Postgres&) = delete;

  int port() const { return port_; }
  const std::string& data_dir() const { return data_; }
  // postgresql://postgres@127.0.0.1:PORT/DB
  std::string Uri(const std::string& db = "postgres") const;
  // Runs SQL through psql; throws with psql's stderr on failure; returns
  // the unaligned, tuples-only output.
  std::string Psql(const std::string& sql, const std::string& db = "postgres") const;
  // pg_ctl stop -m fast; Start() brings the same cluster back on the same port.
  void Stop();
  void Start();

 protected:
  struct BaseBackupOf {
    const Postgres& primary;
  };
  Postgres(BaseBackupOf from, const std::string& extra_conf);

 private:
  void Configure(const std::string& extra_conf);

  TempDir dir_;
  std::string data_;
  int port_ = 0;
  bool running_ = false;
};

// A streaming standby of a test Postgres: pg_basebackup -R of the primary.
class Standby : public Postgres {
 public:
  explicit Standby(const Postgres& primary, const std::string& extra_conf = "")
      : Postgres(BaseBackupOf{primary}, extra_conf) {}
};

// Runs a PostgreSQL binary as the postgres user when running as root.
std::vector<std::string> AsPostgresUser(std::vector<std::string> argv);

// A libpq connection of a test's own (an application writing to green, a
// checker reading it), where psql per statement would be too slow.
class PgClient {
 public:
  explicit PgClient(const std::string& uri);
  ~PgClient();
  PgClient(const PgClient&) = delete;
  PgClient& operator=(const PgClient&) = delete;
  // Runs SQL (several statements without params); throws with the server's
  // message. Rows of the last result, each value as text ("NULL" for NULL).
  std::vector<std::vector<std::string>> Query(const std::string& sql,
                                              const std::vector<std::string>& params = {});
  void Exec(const std::string& sql) { Query(sql); }

 private:
  ::pg_conn* conn_ = nullptr;
};

}  // namespace cutover::test
