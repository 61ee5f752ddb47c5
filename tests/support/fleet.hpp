// A fleet on loopback: N nodes, each a Site (nginx with the module in
// front of its own blue and green backends) and a cutover-agent of the
// fleet on that nginx's state file, all on one real PostgreSQL: directly,
// or through a TcpRelay the test can cut.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/agent.hpp"
#include "support/postgres.hpp"
#include "support/process.hpp"
#include "support/site.hpp"
#include "support/tcp_relay.hpp"

namespace cutover::test {

struct FleetOptions {
  int nodes = 3;
  std::vector<int> relayed;  // nodes whose database connection goes through a TcpRelay
  std::string password;      // put in every node's DSN (the test server trusts anyone)
  bool metrics = false;
  int workers = 1;                    // nginx workers per node
  std::string database = "postgres";  // the fleet's database
};

class FleetSite {
 public:
  FleetSite(const Postgres& pg, FleetOptions options = {});

  int size() const { return static_cast<int>(nodes_.size()); }
  Site& site(int i) { return *nodes_.at(i)->site; }
  AgentProcess& agent(int i) { return *nodes_.at(i)->agent; }
  TcpRelay& relay(int i);
  const TempDir& dir(int i) const { return *nodes_.at(i)->dir; }
  std::string name(int i) const { return "node-" + std::to_string(i + 1); }
  int metrics_port(int i) const { return nodes_.at(i)->metrics_port; }

  // Starts every agent (in order; each answers before the next starts).
  void StartAll();
  // The green weight (basis points) in node i's state file.
  std::uint32_t Weight(int i) const;
  bool AllAt(std::uint32_t green_bp) const;
  v1::Cutover Status(int i);  // GetStatus "app" through node i's agent
  // The node every running agent (but `except`) names as the decider, once
  // they agree; -1 if they do not in time.
  int AwaitDecider(int except = -1);
  // cutoverctl pointed at node i's agent.
  RunResult Ctl(int i, std::vector<std::string> args) const;

 private:
  struct Node {
    std::unique_ptr<TempDir> dir;
    std::unique_ptr<Site> site;
    std::unique_ptr<TcpRelay> relay;
    std::unique_ptr<AgentProcess> agent;
    int metrics_port = 0;
  };
  std::vector<std::unique_ptr<Node>> nodes_;
};

}  // namespace cutover::test
