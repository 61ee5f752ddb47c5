// cutover-agent's command line (names as in docs/design.md).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "agent/core/clock.hpp"

namespace cutover::agent {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct AgentFlags {
  std::string state_file;
  std::vector<std::string> listen;  // "unix:/path" or "HOST:PORT"
  std::string socket_group;         // group of the unix sockets; empty: the state file's
  std::vector<std::string> http;    // the HTTP/JSON listeners, same forms
  std::vector<std::string> notify;  // webhook URLs told of every decision
  std::string token_file;
  std::string tls_cert;
  std::string tls_key;
  std::string journal = "/var/lib/cutover/journal";  // DIR or postgresql://...
  // --fleet postgresql://... --node NAME: one node of a fleet whose rollouts,
  // journal and heartbeats live in that database (then also the journal).
  std::string fleet;
  std::string node;
  std::string metrics;  // HOST:PORT, empty: off
  Nanos tick = std::chrono::milliseconds(100);
  // --help / --version: print and exit 0; the other flags are not checked.
  bool help = false;
  bool version = false;
};

inline constexpr const char* kDefaultListen = "unix:/run/cutover/agent.sock";

// Accepts "--flag value" and "--flag=value"; throws UsageError naming the flag.
AgentFlags ParseFlags(const std::vector<std::string>& args);
// The synopsis printed under a usage error.
std::string Usage();
// The whole of --help (the manual page is made from it): what the agent does,
// every flag with its default, durations, signals, files and exit codes.
std::string Help();

bool IsUnixAddress(const std::string& listen);
std::string UnixPath(const std::string& listen);  // "unix:/a/b" -> "/a/b"

}  // namespace cutover::agent
