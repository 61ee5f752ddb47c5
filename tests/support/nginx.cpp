#include "support/nginx.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace cutover::test {

// Both can be overridden from the environment, so the same tests run against
// an nginx built from another source tree (scripts/module-compat.sh).
std::string ModulePath() {
  if (const char* path = std::getenv("CUTOVER_MODULE_PATH"); path != nullptr && *path) return path;
  return std::string(CUTOVER_BINARY_DIR) + "/ngx_module/ngx_http_cutover_module.so";
}

std::string NginxBinary() {
  if (const char* path = std::getenv("CUTOVER_NGINX_BINARY"); path != nullptr && *path) return path;
  return CUTOVER_NGINX_BINARY;
}

Nginx::Nginx(std::string http_body, int workers, std::string main_extra)
    : dir_("cutover-nginx"), workers_(workers), main_extra_(std::move(main_extra)) {
  std::filesystem::create_directories(dir_ / "logs");
  std::filesystem::create_directories(dir_ / "temp");
  WriteConfig(http_body);
}

Nginx::~Nginx() {
  if (master_.pid() > 0) Stop();
  if (started_) CheckErrorLog();
}

void Nginx::ExpectAlert(std::string fragment) { expected_alerts_.push_back(std::move(fragment)); }

namespace {

bool IsAlarming(const std::string& line) {
  return line.find("[alert]") != std::string::npos || line.find("[crit]") != std::string::npos ||
         line.find("[emerg]") != std::string::npos ||
         std::regex_search(line, std::regex("worker process [0-9]+ exited on signal"));
}

}  // namespace

std::vector<std::string> Nginx::UnexpectedLogLines() const {
  std::vector<std::string> unexpected;
  std::istringstream log(FileExists(error_log_path()) ? ErrorLog() : "");
  for (std::string line; std::getline(log, line);) {
    if (!IsAlarming(line)) continue;
    const bool expected =
        std::any_of(expected_alerts_.begin(), expected_alerts_.end(),
                    [&](const std::string& f) { return line.find(f) != std::string::npos; });
    if (!expected) unexpected.push_back(line);
  }
  return unexpected;
}

void Nginx::CheckErrorLog() const {
  for (const std::string& line : UnexpectedLogLines())
    ADD_FAILURE() << "unexpected line in nginx's error log: " << line;
  const std::string log = FileExists(error_log_path()) ? ErrorLog() : "";
  for (const std::string& f : expected_alerts_)
    if (log.find(f) == std::string::npos)
      ADD_FAILURE() << "expected \"" << f << "\" in nginx's error log, which says:\n" << log;
}

std::string Nginx::Render(const std::string& http_body) const {
  const std::string p = dir_.path();
  std::string conf;
  conf += "load_module " + ModulePath() + ";\n";
  conf += "daemon off;\nmaster_process on;\n";
  conf += "worker_processes " + std::to_string(workers_) + ";\n";
  conf += "user root;\n";
  conf += "pid " + p + "/logs/nginx.pid;\n";
  conf += "error_log " + p + "/logs/error.log notice;\n";
  conf += main_extra_ + "\n";
  conf += "events { worker_connections 1024; }\n";
  conf += "http {\n";
  conf += "  access_log " + p + "/logs/access.log;\n";
  conf += "  client_body_temp_path " + p + "/temp/body;\n";
  conf += "  proxy_temp_path " + p + "/temp/proxy;\n";
  conf += "  fastcgi_temp_path " + p + "/temp/fastcgi;\n";
  conf += "  uwsgi_temp_path " + p + "/temp/uwsgi;\n";
  conf += "  scgi_temp_path " + p + "/temp/scgi;\n";
  // The module's default is nginx's own state directory (/var/lib/nginx with
  // Debian's nginx): every test keeps its file under its own prefix instead.
  if (http_body.find("cutover_state_file") == std::string::npos)
    conf += "  cutover_state_file " + state_path() + ";\n";
  conf += http_body;
  conf += "\n}\n";
  return conf;
}

void Nginx::WriteConfig(const std::string& http_body) { WriteFile(conf_path(), Render(http_body)); }

void Nginx::Start(int ready_port) {
  const std::string pid_file = dir_ / "logs/nginx.pid";
  std::filesystem::remove(pid_file);
  master_ =
      Process({NginxBinary(), "-p", dir_.path() + "/", "-c", conf_path()}, dir_ / "logs/nginx");
  const bool up = WaitFor([&] {
    if (!master_.Running()) return true;  // fail fast below
    if (!FileExists(pid_file)) return false;
    if (static_cast<int>(Workers().size()) < workers_) return false;
    return ready_port == 0 || TcpPortAnswers(ready_port);
  });
  started_ = true;
  if (!up || !master_.Running())
    throw std::runtime_error("nginx did not start:\n" + master_.Stderr() + ErrorLog());
}

void Nginx::Reload() {
  auto old_workers = Workers();
  std::sort(old_workers.begin(), old_workers.end());
  master_.Signal(SIGHUP);
  const bool done = WaitFor([&] {
    auto now = Workers();
    int fresh = 0;
    for (pid_t p : now) {
      if (std::binary_search(old_workers.begin(), old_workers.end(), p)) return false;
      ++fresh;
    }
    return fresh >= workers_;
  });
  if (!done) throw std::runtime_error("nginx reload did not complete:\n" + ErrorLog());
}

void Nginx::Stop() {
  if (master_.pid() <= 0) return;
  master_.Signal(SIGQUIT);
  if (!master_.Wait(20s)) master_.Stop(1s);
  master_.Stop(1s);
}

RunResult Nginx::Test() const {
  auto r = Run({NginxBinary(), "-t", "-p", dir_.path() + "/", "-c", conf_path()});
  r.err = r.out + r.err;
  return r;
}

}  // namespace cutover::test
