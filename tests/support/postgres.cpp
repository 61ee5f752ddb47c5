#include "support/postgres.hpp"

#include <libpq-fe.h>
#include <unistd.h>

#include <stdexcept>

namespace cutover::test {

namespace {
const std::string kBin = CUTOVER_PG_BINDIR;
}

std::vector<std::string> AsPostgresUser(std::vector<std::string> argv) {
  if (::geteuid() != 0) return argv;
  std::vector<std::string> wrapped = {"runuser", "-u", "postgres", "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

Postgres::Postgres(const std::string& extra_conf) : dir_("cutover-pg") {
  data_ = dir_ / "data";
  if (::geteuid() == 0) Run({"chown", "postgres:postgres", dir_.path()});
  auto init = Run(AsPostgresUser({kBin + "/initdb", "-D", data_, "--auth=trust", "-U", "postgres",
                                  "--no-sync", "-E", "UTF8", "--locale=C"}));
  if (init.exit_code != 0) throw std::runtime_error("initdb failed: " + init.err);
  Configure(extra_conf);
  Start();
}

Postgres::Postgres(BaseBackupOf from, const std::string& extra_conf) : dir_("cutover-standby") {
  data_ = dir_ / "data";
  if (::geteuid() == 0) Run({"chown", "postgres:postgres", dir_.path()});
  // -R writes standby.signal and primary_conninfo; -X stream brings the WAL
  // the copy needs; -c fast does not wait for the primary's next checkpoint.
  auto backup = Run(AsPostgresUser({kBin + "/pg_basebackup", "-h", "127.0.0.1", "-p",
                                    std::to_string(from.primary.port()), "-U", "postgres", "-D",
                                    data_, "-R", "-X", "stream", "-c", "fast", "--no-sync"}));
  if (backup.exit_code != 0) throw std::runtime_error("pg_basebackup failed: " + backup.err);
  Configure(extra_conf);
  Start();
}

void Postgres::Configure(const std::string& extra_conf) {
  if (!extra_conf.empty()) {
    const std::string conf = ReadFile(data_ + "/postgresql.conf");
    WriteFile(data_ + "/postgresql.conf", conf + "\n" + extra_conf + "\n");
  }
  port_ = FreePort();
}

void Postgres::Start() {
  if (running_) return;
  const std::string opts = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " +
                           data_ + " -c fsync=off";
  // -w returns once the server accepts connections (read-only ones, for a standby).
  auto start = Run(AsPostgresUser({kBin + "/pg_ctl", "-D", data_, "-w", "-t", "60", "-l",
                                   data_ + "/server.log", "-o", opts, "start"}));
  if (start.exit_code != 0)
    throw std::runtime_error("pg_ctl start failed: " + start.err + ReadFile(data_ + "/server.log"));
  running_ = true;
}

Postgres::~Postgres() { Stop(); }

void Postgres::Stop() {
  if (!running_) return;
  Run(AsPostgresUser({kBin + "/pg_ctl", "-D", data_, "-w", "-t", "60", "-m", "fast", "stop"}));
  running_ = false;
}

std::string Postgres::Uri(const std::string& db) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

std::string Postgres::Psql(const std::string& sql, const std::string& db) const {
  auto r = Run(
      {kBin + "/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", Uri(db), "-c", sql});
  if (r.exit_code != 0) throw std::runtime_error("psql failed: " + r.err);
  return r.out;
}

PgClient::PgClient(const std::string& uri) : conn_(PQconnectdb(uri.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    const std::string why = PQerrorMessage(conn_);
    PQfinish(conn_);
    throw std::runtime_error("cannot connect to " + uri + ": " + why);
  }
}

PgClient::~PgClient() { PQfinish(conn_); }

std::vector<std::vector<std::string>> PgClient::Query(const std::string& sql,
                                                      const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  PGresult* result = params.empty()
                         ? PQexec(conn_, sql.c_str())
                         : PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()),
                                        nullptr, values.data(), nullptr, nullptr, 0);
  const ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const std::string why = PQresultErrorMessage(result);
    PQclear(result);
    throw std::runtime_error("postgresql: " + why + " in: " + sql);
  }
  std::vector<std::vector<std::string>> rows;
  for (int r = 0; r < PQntuples(result); ++r) {
    std::vector<std::string> row;
    for (int c = 0; c < PQnfields(result); ++c)
      row.emplace_back(PQgetisnull(result, r, c) ? "NULL" : PQgetvalue(result, r, c));
    rows.push_back(std::move(row));
  }
  PQclear(result);
  return rows;
}

}  // namespace cutover::test
