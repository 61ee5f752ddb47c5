// What the agent's integration tests and benchmarks share: the real
// cutover-agent binary as a child process with a gRPC stub to it, nginx
// with the module in front of a blue and a green backend, and a paced load
// generator that tallies X-Backend-Server.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cutover/v1/cutover.grpc.pb.h"
#include "support/backend.hpp"
#include "support/nginx.hpp"
#include "support/process.hpp"

namespace cutover::test {

std::string AgentBinary();

struct AgentOptions {
  std::string state_file;
  std::string journal;  // DIR or postgresql://
  std::string socket;   // unix socket path ("" for none)
  int tcp_port = 0;     // 0 for none
  std::string token_file;
  std::string tls_cert, tls_key;
  std::string metrics;  // HOST:PORT
  std::string tick = "100ms";
};

// The usual agent of a test: on `state_file`, journaling into DIR/journal,
// serving the unix socket DIR/agent.sock.
AgentOptions LocalAgent(const TempDir& dir, const std::string& state_file);

// A state file at DIR/cutover.state holding cutover "app" (app_blue,
// app_green) at 0%, made the way nginx makes it; returns its path.
std::string MakeAppStateFile(const TempDir& dir);

class AgentProcess {
 public:
  AgentProcess(AgentOptions options, std::string log_prefix);
  ~AgentProcess();

  // Starts the agent and waits until every listener answers.
  void Start();
  // Sends `sig` and waits for the process to end; its exit code.
  int StopWith(int sig);
  pid_t pid() const { return process_.pid(); }
  std::string Stderr() const { return process_.Stderr(); }
  const AgentOptions& options() const { return options_; }

  std::unique_ptr<v1::CutoverService::Stub> UnixStub() const;
  std::unique_ptr<v1::CutoverService::Stub> TcpStub(
      std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr) const;
  std::shared_ptr<grpc::Channel> UnixChannel() const;

 private:
  AgentOptions options_;
  std::string log_prefix_;
  Process process_;
};

// A deadline on every RPC, so a broken agent fails a test instead of hanging it.
std::unique_ptr<grpc::ClientContext> Context(const std::string& token = "");

// nginx with a `cutover` upstream "app" over one blue and one green backend.
class Site {
 public:
  // With `green_down`, green's only peer is a loopback port nobody listens
  // on: every attempt there fails and nginx fails over to blue.
  explicit Site(int workers = 2, bool green_down = false);
  std::string Url(const std::string& path = "/") const;
  Nginx& nginx() { return *nginx_; }
  Backend& blue() { return *blue_; }
  Backend& green() { return *green_; }

 private:
  std::unique_ptr<Backend> blue_, green_;
  int port_ = 0;
  std::unique_ptr<Nginx> nginx_;
};

// GETs at a steady rate from `threads` threads until stopped, `max_time`
// passes or `max_requests` were sent; tallies who answered.
class Load {
 public:
  Load(std::string url, int requests_per_second, std::chrono::milliseconds max_time,
       std::uint64_t max_requests, int threads = 1);
  ~Load();
  void Stop();

  std::uint64_t total() const { return total_; }
  std::uint64_t green() const { return green_; }
  std::uint64_t blue() const { return blue_; }
  std::uint64_t non_200() const { return non_200_; }
  // When the last response tagged green arrived (epoch if none yet).
  std::chrono::steady_clock::time_point last_green() const;

 private:
  void Run(int rps, std::chrono::steady_clock::time_point until, std::uint64_t max_requests);

  std::string url_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> total_{0}, green_{0}, blue_{0}, non_200_{0};
  std::atomic<std::int64_t> last_green_ns_{0};
  std::vector<std::thread> threads_;
};

}  // namespace cutover::test
