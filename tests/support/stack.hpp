// The whole stack cutoverctl drives, all real: the Site (nginx with the
// module in front of a blue and a green backend) and cutover-agent on
// nginx's state file, on a unix socket in a temp directory (and on TCP with
// a token, and TLS, when asked).
#pragma once

#include <string>
#include <vector>

#include "support/agent.hpp"
#include "support/process.hpp"
#include "support/site.hpp"

namespace cutover::test {

// A plan that stays on its first step (10% for an hour): no window can ever
// hold a million requests. For tests that drive a rollout by hand.
inline constexpr const char* kHoldingPlan = R"(steps:
  - {percent: 10, hold: 1h}
  - {percent: 50, hold: 1h}
  - {percent: 100, hold: 1h}
analysis:
  window: 10s
  min_requests: 1000000
  max_error_rate: 5%
on_breach: revert
gates: []
)";

struct StackOptions {
  std::string token;     // non-empty: the agent also listens on TCP with this token
  std::string tls_cert;  // and, with these PEM files, serves TLS there
  std::string tls_key;
  SiteOptions site;   // the nginx site (green in a process of its own, ...)
  bool http = false;  // the HTTP/JSON API too: on DIR/http.sock, and on TCP with a token
  std::vector<std::string> notify;  // --notify URLs
  bool metrics = false;             // --metrics on a free loopback port
};

class Stack {
 public:
  explicit Stack(const StackOptions& options = {});

  std::string url() const { return site_.Url("/"); }
  std::string agent() const { return "unix:" + agent_.options().socket; }
  std::string agent_tcp() const { return "127.0.0.1:" + std::to_string(agent_.options().tcp_port); }
  std::string token_file() const { return dir_ / "token"; }
  // The HTTP/JSON API (StackOptions::http): its unix socket, and its TCP URL
  // (with a token) + path.
  std::string http_socket() const { return agent_.options().http_socket; }
  std::string http_url(const std::string& path = "") const { return agent_.HttpUrl(path); }
  // The Prometheus scrape URL (StackOptions::metrics).
  std::string metrics_url() const { return "http://" + agent_.options().metrics + "/metrics"; }
  const TempDir& dir() const { return dir_; }
  Site& site() { return site_; }
  Backend& green() { return site_.green(); }
  AgentProcess& agent_process() { return agent_; }
  // Stops the agent (if running) and starts it again on the same state file,
  // journal and sockets; waits until it answers.
  void RestartAgent() { agent_.Restart(); }
  std::string AgentLog() const { return agent_.Log(); }

  // cutoverctl with --agent pointing at this stack's unix socket.
  RunResult Ctl(std::vector<std::string> args) const;

 private:
  static AgentOptions Options(const TempDir& dir, const Site& site, const StackOptions& options);

  TempDir dir_{"cutover-stack"};
  Site site_;
  AgentProcess agent_;
};

}  // namespace cutover::test
