// The whole stack cutoverctl drives, all real: two backends, nginx with the
// cutover module in front of them, and cutover-agent on nginx's state file,
// listening on a unix socket in a temp directory (and on TCP when asked).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/backend.hpp"
#include "support/nginx.hpp"
#include "support/process.hpp"

namespace cutover::test {

struct StackOptions {
  std::string token;     // non-empty: the agent also listens on TCP with this token
  std::string tls_cert;  // and, with these PEM files, serves TLS there
  std::string tls_key;
};

class Stack {
 public:
  explicit Stack(const StackOptions& options = {});
  ~Stack();

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }
  std::string agent() const { return "unix:" + dir_ / "agent.sock"; }
  std::string agent_tcp() const { return "127.0.0.1:" + std::to_string(agent_port_); }
  std::string token_file() const { return dir_ / "token"; }
  const TempDir& dir() const { return dir_; }
  Backend& green() { return green_; }
  Process& agent_process() { return agent_; }
  // Stops the agent (if running) and starts it again on the same state file,
  // journal and sockets; waits until it answers.
  void RestartAgent();
  std::string AgentLog() const { return agent_.Stdout() + agent_.Stderr(); }

  // cutoverctl with --agent pointing at this stack's unix socket.
  RunResult Ctl(std::vector<std::string> args) const;

 private:
  void StartAgent();

  TempDir dir_{"cutover-cli-stack"};
  Backend blue_{"blue"};
  Backend green_{"green"};
  int port_ = 0;
  int agent_port_ = 0;
  std::unique_ptr<Nginx> nginx_;
  std::vector<std::string> agent_argv_;
  Process agent_;
};

}  // namespace cutover::test
