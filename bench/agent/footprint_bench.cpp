// The agent's own cost: CPU and RSS with N cutovers, each in a running
// rollout, at a 100 ms tick with metrics on, while a writer thread adds
// traffic to every record's counters the way the module's log phase does.
// Measured from /proc over SECONDS.
//
// Usage: cutover-agent-footprint-bench [CUTOVERS] [SECONDS]
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "cutover/state_file.hpp"
#include "support/agent.hpp"
#include "support/site.hpp"

using namespace cutover;
using namespace cutover::test;
using namespace std::chrono_literals;

namespace {

std::string StatusField(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name + ":", 0) == 0) return line.substr(name.size() + 1);
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  const int cutovers = argc > 1 ? std::atoi(argv[1]) : 8;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 30;
  TempDir dir("agent-footprint");
  auto file = state::StateFile::Create(dir / "cutover.state");
  for (int i = 0; i < cutovers; ++i)
    file.AddRecord("app" + std::to_string(i), "blue" + std::to_string(i),
                   "green" + std::to_string(i), 0);
  AgentOptions o = LocalAgent(dir, dir / "cutover.state");
  o.metrics = "127.0.0.1:" + std::to_string(FreePort());
  AgentProcess agent(o, dir / "agent");
  agent.Start();
  auto stub = agent.UnixStub();
  for (int i = 0; i < cutovers; ++i) {
    v1::StartRolloutRequest start;
    start.set_cutover("app" + std::to_string(i));
    for (double p : {5.0, 50.0, 100.0}) {
      auto* s = start.mutable_plan()->add_steps();
      s->set_percent(p);
      s->mutable_hold()->set_seconds(3600);
    }
    start.mutable_plan()->mutable_analysis()->mutable_window()->set_seconds(10);
    start.mutable_plan()->mutable_analysis()->set_min_requests(50);
    start.mutable_plan()->mutable_analysis()->set_max_error_rate(0.01);
    v1::RolloutResponse resp;
    auto status = stub->StartRollout(Context().get(), start, &resp);
    if (!status.ok()) {
      std::fprintf(stderr, "start: %s\n", status.error_message().c_str());
      return 1;
    }
  }
  // ~1,000 requests per second per cutover, in 10 ms batches.
  std::atomic<bool> stop{false};
  std::thread traffic([&] {
    std::uint64_t n = 0;
    while (!stop) {
      for (int i = 0; i < cutovers; ++i) {
        state::Record* r = file.MutableRecord("app" + std::to_string(i));
        for (auto slot : {0, 1}) {
          auto& c = r->slots[slot][n % state::kShards];
          c.scalar[state::kRequests].fetch_add(5, std::memory_order_relaxed);
          c.scalar[state::kResponses2xx].fetch_add(5, std::memory_order_relaxed);
          c.latency[state::LatencyBucket(1000 + (n % 50) * 100)].fetch_add(5);
        }
      }
      ++n;
      std::this_thread::sleep_for(10ms);
    }
  });
  std::this_thread::sleep_for(2s);  // warm-up (a bench: fixed durations are the measurement)
  const double cpu0 = CpuSeconds(agent.pid());
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  const double cpu1 = CpuSeconds(agent.pid());
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop = true;
  traffic.join();
  std::printf("%d cutovers, tick 100ms, metrics on, %ds: CPU %.2f%% of a core, RSS%s, peak%s\n",
              cutovers, seconds, 100.0 * (cpu1 - cpu0) / wall,
              StatusField(agent.pid(), "VmRSS").c_str(), StatusField(agent.pid(), "VmHWM").c_str());
  agent.StopWith(SIGTERM);
  return 0;
}
