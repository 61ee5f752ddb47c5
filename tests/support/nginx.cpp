#include "support/nginx.hpp"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

namespace cutover::test {

std::string ModulePath() {
  return std::string(CUTOVER_BINARY_DIR) + "/ngx_module/ngx_http_cutover_module.so";
}

Nginx::Nginx(std::string http_body, int workers, std::string main_extra)
    : dir_("cutover-nginx"), workers_(workers), main_extra_(std::move(main_extra)) {
  std::filesystem::create_directories(dir_ / "logs");
  std::filesystem::create_directories(dir_ / "temp");
  WriteConfig(http_body);
}

Nginx::~Nginx() {
  if (master_.pid() > 0) Stop();
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
  conf += http_body;
  conf += "\n}\n";
  return conf;
}

void Nginx::WriteConfig(const std::string& http_body) { WriteFile(conf_path(), Render(http_body)); }

void Nginx::Start(int ready_port) {
  const std::string pid_file = dir_ / "logs/nginx.pid";
  std::filesystem::remove(pid_file);
  master_ = Process({CUTOVER_NGINX_BINARY, "-p", dir_.path() + "/", "-c", conf_path()},
                    dir_ / "logs/nginx");
  const bool up = WaitFor([&] {
    if (!master_.Running()) return true;  // fail fast below
    if (!FileExists(pid_file)) return false;
    if (static_cast<int>(Workers().size()) < workers_) return false;
    return ready_port == 0 || TcpPortAnswers(ready_port);
  });
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
  auto r = Run({CUTOVER_NGINX_BINARY, "-t", "-p", dir_.path() + "/", "-c", conf_path()});
  r.err = r.out + r.err;
  return r;
}

}  // namespace cutover::test
