#include "support/backend.hpp"

#include <httplib.h>

#include <stdexcept>
#include <thread>

#include "support/process.hpp"

namespace cutover::test {

Backend::Backend(std::string name)
    : name_(std::move(name)), server_(std::make_unique<httplib::Server>()) {
  auto handle = [this](const httplib::Request& req, httplib::Response& res) {
    ++requests_;
    if (req.method == "POST") ++posts_;
    // Latency is the experiment here, not a wait for a condition.
    if (const long ms = delay_ms_.load(); ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    res.status = status_.load();
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

Backend::~Backend() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace cutover::test
