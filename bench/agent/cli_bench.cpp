// What does one weight change cost an operator, and where does the time go?
// Real nginx with the module, real backends, the real agent on a unix socket,
// a paced load of RPS GETs through nginx the whole time. Side by side, CHANGES
// weight changes each:
//   cutoverctl   `cutoverctl set-weight app P`, one process per change, as a
//                person or a script runs it (the binary named by $CUTOVERCTL,
//                else the one built with this bench)
//   gRPC call    one SetWeight on a channel kept open: what automation pays
//   nginx reload the traditional way: rewrite the config, `nginx -s reload`
//                (SIGHUP), until the new workers serve
// and, for cutoverctl, the parts of a command: `cutoverctl --version` (the
// process: exec, dynamic linking, static initialisers) and `cutoverctl status
// app` (the process, a channel to the agent and one read RPC).
// Prints median, p90 and max per change, and the errors the load saw meanwhile.
//
// Usage: cutover-cli-bench [CHANGES] [RPS]
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "support/agent.hpp"
#include "support/site.hpp"

using namespace cutover;
using namespace cutover::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

struct Arm {
  std::string name;
  std::vector<double> ms;
  std::uint64_t load_errors = 0;
  int failures = 0;
};

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

void Print(const Arm& a) {
  std::printf(
      "%-34s n=%-3zu median %8.2f ms  p90 %8.2f ms  max %8.2f ms  failed %d  load errors %llu\n",
      a.name.c_str(), a.ms.size(), Quantile(a.ms, 0.5), Quantile(a.ms, 0.9), Quantile(a.ms, 1.0),
      a.failures, static_cast<unsigned long long>(a.load_errors));
}

// Times `changes` runs of `one` (true: it worked) under the load.
Arm Measure(const std::string& name, int changes, Load& load, const std::function<bool(int)>& one) {
  Arm arm{name, {}, 0, 0};
  const auto errors_before = load.non_200();
  for (int i = 0; i < changes; ++i) {
    const auto start = Clock::now();
    if (!one(i)) ++arm.failures;
    arm.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  arm.load_errors = load.non_200() - errors_before;
  return arm;
}

}  // namespace

int main(int argc, char** argv) {
  const int changes = argc > 1 ? std::atoi(argv[1]) : 50;
  const int rps = argc > 2 ? std::atoi(argv[2]) : 200;
  const char* env = std::getenv("CUTOVERCTL");
  const std::string ctl = env != nullptr ? env : CUTOVERCTL_BINARY;

  TempDir dir("cli-bench");
  Site site(2);
  AgentProcess agent(LocalAgent(dir, site.nginx().state_path()), dir / "agent");
  agent.Start();
  const std::string address = "unix:" + agent.options().socket;
  Load load(site.Url("/"), rps, 600s, 100000000ULL, 2);

  std::vector<Arm> arms;
  arms.push_back(Measure("cutoverctl --version (process)", changes, load, [&](int) {
    return Run({ctl, "--version"}).exit_code == 0;
  }));
  arms.push_back(Measure("cutoverctl status app (+ read RPC)", changes, load, [&](int) {
    return Run({ctl, "--agent", address, "status", "app"}).exit_code == 0;
  }));
  arms.push_back(Measure("cutoverctl set-weight", changes, load, [&](int i) {
    return Run({ctl, "--agent", address, "set-weight", "app", i % 2 ? "20" : "80"}).exit_code == 0;
  }));
  auto stub = agent.UnixStub();
  arms.push_back(Measure("gRPC SetWeight, channel kept open", changes, load, [&](int i) {
    v1::SetWeightRequest request;
    request.set_cutover("app");
    request.set_percent(i % 2 ? 20 : 80);
    v1::SetWeightResponse response;
    auto context = Context();
    return stub->SetWeight(context.get(), request, &response).ok();
  }));
  arms.push_back(Measure("nginx config rewrite + reload", changes, load, [&](int) {
    site.nginx().Reload();  // SIGHUP, then until every new worker runs
    return true;
  }));
  load.Stop();

  std::printf("%d changes each, under %d GET/s through nginx (%llu requests, %llu not 200)\n",
              changes, rps, static_cast<unsigned long long>(load.total()),
              static_cast<unsigned long long>(load.non_200()));
  std::printf("cutoverctl: %s\n", ctl.c_str());
  for (const auto& a : arms) Print(a);
  return 0;
}
