#include "support/fleet.hpp"

#include <algorithm>
#include <stdexcept>

#include "cutover/state_file.hpp"
#include "support/cutoverctl.hpp"

namespace cutover::test {

FleetSite::FleetSite(const Postgres& pg, FleetOptions options) {
  for (int i = 0; i < options.nodes; ++i) {
    auto node = std::make_unique<Node>();
    node->dir = std::make_unique<TempDir>("fleet-" + name(i));
    node->site = std::make_unique<Site>(options.workers);
    int port = pg.port();
    if (std::find(options.relayed.begin(), options.relayed.end(), i) != options.relayed.end()) {
      node->relay = std::make_unique<TcpRelay>(pg.port());
      port = node->relay->port();
    }
    AgentOptions o;
    o.state_file = node->site->nginx().state_path();
    o.socket = *node->dir / "agent.sock";
    o.fleet = "postgresql://postgres" + (options.password.empty() ? "" : ":" + options.password) +
              "@127.0.0.1:" + std::to_string(port) + "/" + options.database;
    o.node = name(i);
    if (options.metrics) {
      node->metrics_port = FreePort();
      o.metrics = "127.0.0.1:" + std::to_string(node->metrics_port);
    }
    node->agent = std::make_unique<AgentProcess>(o, *node->dir / "agent");
    nodes_.push_back(std::move(node));
  }
}

TcpRelay& FleetSite::relay(int i) {
  if (!nodes_.at(i)->relay) throw std::logic_error(name(i) + " is not behind a relay");
  return *nodes_.at(i)->relay;
}

void FleetSite::StartAll() {
  for (auto& n : nodes_) n->agent->Start();
}

std::uint32_t FleetSite::Weight(int i) const {
  return state::StateFile::Open(nodes_.at(i)->site->nginx().state_path(),
                                state::StateFile::Access::kReadOnly)
      .ReadControl("app")
      ->weight_bp;
}

bool FleetSite::AllAt(std::uint32_t green_bp) const {
  for (int i = 0; i < size(); ++i)
    if (Weight(i) != green_bp) return false;
  return true;
}

v1::Cutover FleetSite::Status(int i) {
  v1::GetStatusRequest req;
  req.set_cutover("app");
  v1::GetStatusResponse resp;
  auto status = agent(i).UnixStub()->GetStatus(Context().get(), req, &resp);
  if (!status.ok()) throw std::runtime_error(name(i) + ": GetStatus: " + status.error_message());
  return resp.cutover();
}

int FleetSite::AwaitDecider(int except) {
  int decider = -1;
  WaitFor([&] {
    std::string seen;
    for (int i = 0; i < size(); ++i) {
      if (i == except || !agent(i).Running()) continue;
      const std::string d = Status(i).fleet().decider();
      if (d.empty() || (!seen.empty() && d != seen)) return false;
      seen = d;
    }
    for (int i = 0; i < size(); ++i)
      if (name(i) == seen && i != except) decider = i;
    return decider >= 0;
  });
  return decider;
}

RunResult FleetSite::Ctl(int i, std::vector<std::string> args) const {
  args.insert(args.begin(), {"--agent", "unix:" + nodes_.at(i)->agent->options().socket});
  return Cutoverctl(args);
}

}  // namespace cutover::test
