// A real HTTP backend on a loopback port (cpp-httplib in a thread), which
// answers with its own name so tests can tell who served a request. It also
// serves as a webhook receiver: it keeps what it was sent, and can hold its
// answers (a receiver that hangs).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace cutover::test {

class Backend {
 public:
  explicit Backend(std::string name);
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& name() const { return name_; }

  // Every answer from now on has this status (default 200).
  void SetStatus(int status) { status_ = status; }
  // Every answer from now on takes at least this long (default 0).
  void SetDelay(std::chrono::milliseconds delay) { delay_ms_ = delay.count(); }
  // Answers only requests whose path starts with `prefix` with this status;
  // the rest keep SetStatus's ("/health" answering 503 while "/" serves).
  void SetPathStatus(const std::string& prefix, int status);
  // While held, every request waits (unanswered) until Release().
  void Hold();
  void Release();
  // Requests that arrived (answered or held), and those answered.
  std::uint64_t arrived() const { return arrived_; }

  struct Received {
    std::string method;
    std::string path;
    std::string content_type;
    std::string body;
  };
  // Every request answered so far, in order.
  std::vector<Received> received() const;
  // Also send `X-Backend-Server: spoofed` to test that nginx replaces it.
  void SetSpoofHeader(bool on) { spoof_ = on; }
  std::uint64_t requests() const { return requests_; }
  std::uint64_t posts() const { return posts_; }

 private:
  std::string name_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> status_{200};
  std::atomic<long> delay_ms_{0};
  std::atomic<bool> spoof_{false};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> posts_{0};
  std::atomic<std::uint64_t> arrived_{0};
  mutable std::mutex mutex_;
  std::condition_variable released_;
  bool held_ = false;
  bool stopping_ = false;
  std::string path_prefix_;
  int path_status_ = 200;
  std::vector<Received> received_;
};

}  // namespace cutover::test
