// A real nginx with the cutover module loaded, run with `daemon off` as a
// direct child, its prefix, pid, logs and temp paths in a temp directory.
#pragma once

#include <string>
#include <vector>

#include "support/process.hpp"

namespace cutover::test {

std::string ModulePath();  // the built ngx_http_cutover_module.so

class Nginx {
 public:
  // `http_body` goes inside http { }; `main_extra` at the top level.
  explicit Nginx(std::string http_body, int workers = 2, std::string main_extra = "");
  ~Nginx();

  const std::string& prefix() const { return dir_.path(); }
  std::string conf_path() const { return dir_ / "nginx.conf"; }
  std::string error_log_path() const { return dir_ / "logs/error.log"; }
  std::string state_path() const { return dir_ / "logs/cutover.state"; }
  pid_t master_pid() const { return master_.pid(); }

  // Writes nginx.conf for this body (used by the constructor and by reloads).
  void WriteConfig(const std::string& http_body);
  // Starts nginx and waits until the pid file names a master whose workers
  // are up and `ready_port` (if given) answers.
  void Start(int ready_port = 0);
  // SIGHUP; waits until every old worker has gone and `workers` new ones run.
  void Reload();
  // SIGQUIT (graceful) and wait for the master to exit.
  void Stop();
  // `nginx -t` on the current config; exit code with the combined output.
  RunResult Test() const;
  std::string ErrorLog() const { return ReadFile(error_log_path()); }
  std::vector<pid_t> Workers() const { return ChildrenOf(master_.pid()); }

 private:
  std::string Render(const std::string& http_body) const;

  TempDir dir_;
  int workers_;
  std::string main_extra_;
  Process master_;
};

}  // namespace cutover::test
