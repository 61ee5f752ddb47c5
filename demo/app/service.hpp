// The orders HTTP API, the same on either slot, with the fault injection the
// demo uses to make green misbehave on purpose.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "store.hpp"

namespace httplib {
class Server;
}

namespace demo {

struct ServiceOptions {
  std::string slot = "blue";  // blue | green: reported by /health
  std::string version = "1.0.0";
  double fail_rate = 0.0;  // share of /orders requests answered 500
};

// Decides which requests fail for a given share, deterministically: exactly
// floor(n * rate) of the first n requests fail, spread evenly, so a demo or a
// test sees the share it asked for without randomness.
class FaultInjector {
 public:
  explicit FaultInjector(double rate) { set_rate(rate); }
  void set_rate(double rate) { rate_ = rate; }
  double rate() const { return rate_; }
  bool NextFails();

 private:
  std::atomic<double> rate_{0.0};
  std::atomic<std::uint64_t> seen_{0};
};

class OrderService {
 public:
  OrderService(std::unique_ptr<OrderStore> store, ServiceOptions options);
  ~OrderService();

  // Serves until Stop() (from another thread); false when it cannot listen.
  bool Listen(const std::string& host, int port);
  void Stop();

 private:
  void Route();

  std::unique_ptr<OrderStore> store_;
  ServiceOptions options_;
  FaultInjector faults_;
  std::unique_ptr<httplib::Server> server_;
  int listen_socket_ = -1;
};

}  // namespace demo
