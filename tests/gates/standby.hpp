// A streaming standby of a test Postgres: pg_basebackup -R of the primary into
// a temporary directory, started on a free loopback port, stopped by pg_ctl
// when the object dies (as the postgres user when running as root).
#pragma once

#include <string>
#include <vector>

#include "support/postgres.hpp"
#include "support/process.hpp"

namespace cutover::test {

class Standby {
 public:
  // `extra_conf` is appended to the standby's postgresql.conf.
  explicit Standby(const Postgres& primary, const std::string& extra_conf = "");
  ~Standby();
  Standby(const Standby&) = delete;
  Standby& operator=(const Standby&) = delete;

  int port() const { return port_; }
  // postgresql://postgres@127.0.0.1:PORT/DB
  std::string Uri(const std::string& db = "postgres") const;
  // Runs SQL through psql; throws with psql's stderr on failure.
  std::string Psql(const std::string& sql, const std::string& db = "postgres") const;
  void Stop();

 private:
  TempDir dir_;
  std::string data_;
  int port_ = 0;
  bool running_ = false;
};

// Runs a PostgreSQL binary as the postgres user when running as root.
std::vector<std::string> AsPostgresUser(std::vector<std::string> argv);

}  // namespace cutover::test
