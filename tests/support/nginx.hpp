// A real nginx with the cutover module loaded, run with `daemon off` as a
// direct child, its prefix, pid, logs and temp paths in a temp directory.
//
// Once started, its error log is checked when the object dies: a line at
// [alert], [crit] or [emerg], or a worker that "exited on signal", fails the
// running test unless the test said it expects it (ExpectAlert).
#pragma once

#include <string>
#include <vector>

#include "support/process.hpp"

namespace cutover::test {

std::string ModulePath();   // the built ngx_http_cutover_module.so ($CUTOVER_MODULE_PATH)
std::string NginxBinary();  // /usr/sbin/nginx ($CUTOVER_NGINX_BINARY)

class Nginx {
 public:
  // `http_body` goes inside http { }; `main_extra` at the top level. Unless
  // the body mentions cutover_state_file (kModuleDefaultStateFile, a comment,
  // leaves the module's default), the state file is state_path().
  explicit Nginx(std::string http_body, int workers = 2, std::string main_extra = "");
  ~Nginx();

  const std::string& prefix() const { return dir_.path(); }
  std::string conf_path() const { return dir_ / "nginx.conf"; }
  std::string error_log_path() const { return dir_ / "logs/error.log"; }
  std::string state_path() const { return dir_ / "logs/cutover.state"; }
  static constexpr const char* kModuleDefaultStateFile =
      "  # cutover_state_file: the module's default\n";
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

  // For a test that provokes an alert on purpose: error-log lines that hold
  // `fragment` are expected. Each expected fragment must appear at least
  // once before the object dies, or the test fails.
  void ExpectAlert(std::string fragment);
  // The error-log lines (so far) that would fail the test at the end:
  // [alert], [crit], [emerg] or a worker crash no ExpectAlert covers.
  std::vector<std::string> UnexpectedLogLines() const;

 private:
  std::string Render(const std::string& http_body) const;
  void CheckErrorLog() const;

  TempDir dir_;
  int workers_;
  std::string main_extra_;
  Process master_;
  bool started_ = false;
  std::vector<std::string> expected_alerts_;
};

}  // namespace cutover::test
