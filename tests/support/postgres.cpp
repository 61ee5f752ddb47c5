#include "support/postgres.hpp"

#include <unistd.h>

#include <stdexcept>

namespace cutover::test {

namespace {
const std::string kBin = CUTOVER_PG_BINDIR;
}

std::vector<std::string> Postgres::AsPostgres(std::vector<std::string> argv) const {
  if (::geteuid() != 0) return argv;
  std::vector<std::string> wrapped = {"runuser", "-u", "postgres", "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

Postgres::Postgres(const std::string& extra_conf) : dir_("cutover-pg") {
  data_ = dir_ / "data";
  if (::geteuid() == 0) Run({"chown", "postgres:postgres", dir_.path()});
  auto init = Run(AsPostgres({kBin + "/initdb", "-D", data_, "--auth=trust", "-U", "postgres",
                              "--no-sync", "-E", "UTF8", "--locale=C"}));
  if (init.exit_code != 0) throw std::runtime_error("initdb failed: " + init.err);
  if (!extra_conf.empty()) {
    std::string conf = ReadFile(data_ + "/postgresql.conf");
    WriteFile(data_ + "/postgresql.conf", conf + "\n" + extra_conf + "\n");
  }
  port_ = FreePort();
  const std::string opts = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " +
                           data_ + " -c fsync=off";
  auto start = Run(AsPostgres({kBin + "/pg_ctl", "-D", data_, "-w", "-t", "60", "-l",
                               data_ + "/server.log", "-o", opts, "start"}));
  if (start.exit_code != 0)
    throw std::runtime_error("pg_ctl start failed: " + start.err + ReadFile(data_ + "/server.log"));
  running_ = true;
}

Postgres::~Postgres() { Stop(); }

void Postgres::Stop() {
  if (!running_) return;
  Run(AsPostgres({kBin + "/pg_ctl", "-D", data_, "-w", "-t", "60", "-m", "fast", "stop"}));
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

}  // namespace cutover::test
