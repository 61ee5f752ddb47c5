// A TCP relay from a loopback port to another, that a test can cut and
// restore: a network partition between a client (an agent) and its server
// (the fleet's PostgreSQL), made on loopback. Cut is a blackhole, as a real
// partition is: nothing is closed, nothing answers, new connections are
// accepted and hang. Restore drops what was held (the peer of a dead
// connection finds it dead) and relays new connections again.
#pragma once

#include <atomic>
#include <thread>
#include <vector>

namespace cutover::test {

class TcpRelay {
 public:
  explicit TcpRelay(int target_port);
  ~TcpRelay();
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  int port() const { return port_; }
  void Cut();
  void Restore();
  bool cut() const { return cut_; }

 private:
  struct Pair {
    int client = -1;
    int server = -1;  // -1: accepted while cut, held
  };
  void Run();
  void Wake();
  void CloseAll();

  int target_port_;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<bool> cut_{false};
  std::atomic<bool> stop_{false};
  std::atomic<bool> drop_{false};  // Restore asked the thread to drop every pair
  std::vector<Pair> pairs_;        // the relay thread's
  std::thread thread_;
};

}  // namespace cutover::test
