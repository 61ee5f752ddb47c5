// A throwaway PostgreSQL 15 cluster: initdb into a temp directory, started
// with pg_ctl on a free loopback port (as the postgres user when root), and
// stopped by its pid when the object dies.
#pragma once

#include <string>

#include "support/process.hpp"

namespace cutover::test {

class Postgres {
 public:
  // `extra_conf` is appended to postgresql.conf (e.g. wal_level = logical).
  explicit Postgres(const std::string& extra_conf = "");
  ~Postgres();
  Postgres(const Postgres&) = delete;
  Postgres& operator=(const Postgres&) = delete;

  int port() const { return port_; }
  const std::string& data_dir() const { return data_; }
  // postgresql://postgres@127.0.0.1:PORT/DB
  std::string Uri(const std::string& db = "postgres") const;
  // Runs SQL through psql; throws with psql's stderr on failure; returns
  // the unaligned, tuples-only output.
  std::string Psql(const std::string& sql, const std::string& db = "postgres") const;
  void Stop();

 private:
  std::vector<std::string> AsPostgres(std::vector<std::string> argv) const;

  TempDir dir_;
  std::string data_;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace cutover::test
