#include "support/split_server.hpp"

#include <httplib.h>

#include <stdexcept>

#include "support/process.hpp"

namespace cutover::test {

SplitServer::SplitServer(SplitServerOptions options)
    : options_(std::move(options)),
      server_(std::make_unique<httplib::Server>()),
      current_(options_.weights.size(), 0) {
  // Keep-alive connections each hold a worker thread: allow more than any
  // test's concurrency so none waits for another's connection to close.
  server_->new_task_queue = [] { return new httplib::ThreadPool(64); };
  server_->set_keep_alive_max_count(1000000);
  // Headers and body go out in separate writes: without this, Nagle and
  // delayed ACKs add 40 ms to every keep-alive request.
  server_->set_tcp_nodelay(true);
  server_->Get(R"(.*)", [this](const httplib::Request& req, httplib::Response& res) {
    const std::uint64_t n = ++requests_;
    const std::string slot = req.has_header(options_.force_header)
                                 ? req.get_header_value(options_.force_header)
                                 : NextSlot();
    const auto every = [n](int k) { return k > 0 && n % static_cast<std::uint64_t>(k) == 0; };
    if (every(options_.status_503_every)) res.status = 503;
    if (!every(options_.missing_every)) {
      res.headers.emplace(options_.header, slot);
      if (every(options_.repeated_every)) res.headers.emplace(options_.header, slot);
    }
    res.set_content(slot + "\n", "text/plain");
  });
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("split server: cannot bind");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  if (!WaitFor([this] { return server_->is_running() && TcpPortAnswers(port_); }))
    throw std::runtime_error("split server did not come up");
}

SplitServer::~SplitServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string SplitServer::NextSlot() {
  std::lock_guard lock(mutex_);
  int total = 0;
  std::size_t best = 0;
  for (std::size_t i = 0; i < options_.weights.size(); ++i) {
    current_[i] += options_.weights[i].second;
    total += options_.weights[i].second;
    if (current_[i] > current_[best]) best = i;
  }
  current_[best] -= total;
  return options_.weights[best].first;
}

}  // namespace cutover::test
