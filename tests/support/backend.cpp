#include "support/backend.hpp"

#include <httplib.h>

#include <stdexcept>
#include <thread>

#include "support/process.hpp"

namespace cutover::test {

Backend::Backend(std::string name)
    : name_(std::move(name)), server_(std::make_unique<httplib::Server>()) {
  auto handle = [this](const httplib::Request& req, httplib::Response& res) {
    ++arrived_;
    int status = status_.load();
    {
      std::unique_lock lock(mutex_);
      released_.wait(lock, [&] { return !held_ || stopping_; });
      if (!path_prefix_.empty() && req.path.rfind(path_prefix_, 0) == 0) status = path_status_;
      received_.push_back({req.method, req.path, req.get_header_value("Content-Type"), req.body});
    }
    ++requests_;
    if (req.method == "POST") ++posts_;
    // Latency is the experiment here, not a wait for a condition.
    if (const long ms = delay_ms_.load(); ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    res.status = status;
    if (spoof_) res.set_header("X-Backend-Server", "spoofed");
    res.set_content(name_ + "\n", "text/plain");
  };
  server_->Get(R"(.*)", handle);
  server_->Post(R"(.*)", handle);
  server_->Put(R"(.*)", handle);
  server_->Delete(R"(.*)", handle);
  server_->set_keep_alive_max_count(1000000);
  // Without it, headers and body go out in two writes and Nagle holds the
  // second for ~40 ms on a reused connection.
  server_->set_tcp_nodelay(true);
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("backend " + name_ + ": cannot bind");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  if (!WaitFor([this] { return server_->is_running() && TcpPortAnswers(port_); }))
    throw std::runtime_error("backend " + name_ + " did not come up");
}

void Backend::SetPathStatus(const std::string& prefix, int status) {
  std::lock_guard lock(mutex_);
  path_prefix_ = prefix;
  path_status_ = status;
}

void Backend::Hold() {
  std::lock_guard lock(mutex_);
  held_ = true;
}

void Backend::Release() {
  {
    std::lock_guard lock(mutex_);
    held_ = false;
  }
  released_.notify_all();
}

std::vector<Backend::Received> Backend::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

Backend::~Backend() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  released_.notify_all();
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace cutover::test
