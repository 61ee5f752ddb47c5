// A real HTTP server on a loopback port that labels its answers with a slot
// header in an exact, known proportion (smooth weighted round robin over a
// shared counter), so `cutoverctl sample` can be checked against a split that
// is known to the request. It can also leave the header out, repeat it, or
// answer with an error status every Nth request.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace cutover::test {

struct SplitServerOptions {
  std::vector<std::pair<std::string, int>> weights;  // {"blue", 4}, {"green", 1}
  std::string header = "X-Backend-Server";
  int missing_every = 0;   // every Nth answer has no header (0: never)
  int repeated_every = 0;  // every Nth answer has it twice
  int status_503_every = 0;
  // A request carrying this header gets the slot named by its value instead.
  std::string force_header = "X-Force-Slot";
};

class SplitServer {
 public:
  explicit SplitServer(SplitServerOptions options);
  ~SplitServer();
  SplitServer(const SplitServer&) = delete;
  SplitServer& operator=(const SplitServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }
  std::uint64_t requests() const { return requests_; }

 private:
  std::string NextSlot();

  SplitServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<std::uint64_t> requests_{0};
  std::mutex mutex_;
  std::vector<int> current_;  // smooth weighted round robin state
};

}  // namespace cutover::test
