// A loopback HTTP backend whose answer the test releases step by step: the
// response header when the header gate opens, the body when the body gate
// opens. It lets a test hold an upstream exactly where it wants (waiting for
// the header, or between header and body) and observe the module there,
// without sleeping. Also a raw client that can hang up mid-request.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cutover::test {

class GatedBackend {
 public:
  // `name` is the body ("green-1\n" for "green-1"); `upgrade` answers
  // 101 Switching Protocols instead of 200 and closes at the body gate;
  // `keep_alive` serves several requests per connection.
  explicit GatedBackend(std::string name, bool upgrade = false, bool keep_alive = false);
  ~GatedBackend();
  GatedBackend(const GatedBackend&) = delete;
  GatedBackend& operator=(const GatedBackend&) = delete;

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void OpenHeaderGate();
  void OpenBodyGate();
  int requests() const { return requests_; }
  int connections() const { return connections_accepted_; }

 private:
  void Serve(int fd);
  void WaitFor(const bool& gate);

  std::string name_;
  bool upgrade_;
  bool keep_alive_;
  std::atomic<int> connections_accepted_{0};
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool header_open_ = false;
  bool body_open_ = false;
  std::thread acceptor_;
  std::vector<std::thread> connections_;
};

// One blocking TCP connection to a loopback port.
class RawClient {
 public:
  explicit RawClient(int port);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  void Send(const std::string& bytes);
  // Reads until `marker` has arrived (or the peer closed); returns all read.
  std::string ReadUntil(const std::string& marker);
  void Close();

 private:
  int fd_ = -1;
};

}  // namespace cutover::test
