// The real cutover-agent binary as a child process, with gRPC stubs to it:
// what every test and benchmark that runs the agent shares.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cutover/v1/cutover.grpc.pb.h"
#include "support/process.hpp"

namespace cutover::test {

std::string AgentBinary();  // the built cutover-agent

struct AgentOptions {
  std::string state_file;
  std::string journal;  // DIR or postgresql:// ("" for none: a fleet's agent)
  std::string fleet;    // --fleet postgresql://... (with node)
  std::string node;
  std::string socket;  // unix socket path ("" for none)
  int tcp_port = 0;    // 0 for none
  std::string token_file;
  std::string tls_cert, tls_key;
  std::string metrics;  // HOST:PORT
  std::string tick = "100ms";
  std::string binary;  // "" for the built cutover-agent
  std::vector<std::string>
      command_prefix;               // runs the agent under it ({"prlimit", "--fsize=N", "--"})
  std::string socket_group;         // --socket-group ("" for the agent's default)
  std::string http_socket;          // --http unix:PATH ("" for none)
  int http_port = 0;                // --http 127.0.0.1:PORT (0 for none)
  std::vector<std::string> notify;  // --notify URL...
};

// The usual agent of a test: on `state_file`, journaling into DIR/journal,
// serving the unix socket DIR/agent.sock.
AgentOptions LocalAgent(const TempDir& dir, const std::string& state_file);

// A self-signed certificate for `san` ("IP:127.0.0.1", "DNS:agent.test"),
// made with the openssl tool into `dir` as cert.pem and key.pem; false (with
// openssl's words in `error`) when it could not be made.
bool MakeCertificate(const TempDir& dir, const std::string& san, std::string* error = nullptr);

// A state file at DIR/cutover.state holding cutover "app" (app_blue,
// app_green) at 0%, made the way nginx makes it; returns its path.
std::string MakeAppStateFile(const TempDir& dir);

class AgentProcess {
 public:
  AgentProcess(AgentOptions options, std::string log_prefix);
  ~AgentProcess();

  // Starts the agent and waits until every listener answers.
  void Start();
  // SIGTERM, then SIGKILL after a grace period; nothing when it is not running.
  void Stop();
  // Stops it if it runs and starts it again on the same options.
  void Restart();
  bool Running() { return process_.pid() > 0 && process_.Running(); }
  // Sends `sig` and waits for the process to end; its exit code.
  int StopWith(int sig);
  pid_t pid() const { return process_.pid(); }
  std::string Stderr() const { return process_.Stderr(); }
  // Everything it said (stdout and stderr), for failure messages.
  std::string Log() const { return process_.Stdout() + process_.Stderr(); }
  const AgentOptions& options() const { return options_; }

  std::unique_ptr<v1::CutoverService::Stub> UnixStub() const;
  std::unique_ptr<v1::CutoverService::Stub> TcpStub(
      std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr) const;
  std::shared_ptr<grpc::Channel> UnixChannel() const;
  // The HTTP/JSON listener on TCP: "http://127.0.0.1:PORT" + path ("https" with TLS).
  std::string HttpUrl(const std::string& path = "") const;

 private:
  AgentOptions options_;
  std::string log_prefix_;
  Process process_;
};

// A deadline on every RPC, so a broken agent fails a test instead of hanging it.
std::unique_ptr<grpc::ClientContext> Context(const std::string& token = "");

// grpc.health.v1.Health/Check of `service` ("" for the whole server): the
// call's status and, when it answered, the serving status (1 SERVING,
// 2 NOT_SERVING). No generated code: the two messages are one field each.
struct HealthCheck {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  int serving = 0;
};
HealthCheck Health(const std::shared_ptr<grpc::Channel>& channel, const std::string& service);

// GetStatus of one cutover over `stub`; a failing call fails the test.
v1::Cutover StatusOf(v1::CutoverService::Stub& stub, const std::string& cutover);

}  // namespace cutover::test
