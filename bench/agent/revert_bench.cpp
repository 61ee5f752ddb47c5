// How fast does the agent take traffic off a failing green? Real nginx with
// the module, real backends, the real agent on a unix socket, a paced load
// of RPS requests per second. A rollout holds green at 50%; then green
// starts answering 500 and we time from that moment to the last response
// tagged green. Repeated RUNS times; prints every run and the median/max.
//
// Usage: cutover-agent-revert-bench [RPS] [RUNS] [LOAD_THREADS]
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "cutover/state_file.hpp"
#include "support/agent.hpp"
#include "support/site.hpp"

using namespace cutover;
using namespace cutover::test;
using namespace std::chrono_literals;

namespace {

double OneRun(int rps, int threads) {
  TempDir dir("agent-bench");
  Site site(2);
  AgentProcess agent(LocalAgent(dir, site.nginx().state_path()), dir / "agent");
  agent.Start();
  auto stub = agent.UnixStub();

  v1::StartRolloutRequest start;
  start.set_cutover("app");
  auto* step = start.mutable_plan()->add_steps();
  step->set_percent(50);
  step->mutable_hold()->set_seconds(3600);
  start.mutable_plan()->add_steps()->set_percent(100);
  auto* a = start.mutable_plan()->mutable_analysis();
  a->mutable_window()->set_seconds(2);
  a->set_min_requests(20);
  a->set_max_error_rate(0.05);
  v1::RolloutResponse resp;
  if (!stub->StartRollout(Context().get(), start, &resp).ok()) throw std::runtime_error("start");

  const auto load_start = std::chrono::steady_clock::now();
  Load load(site.Url(), rps, 60s, static_cast<std::uint64_t>(rps) * 60, threads);
  // Two full windows of healthy traffic first.
  if (!WaitFor([&] { return load.green() >= static_cast<std::uint64_t>(rps); }, 30s))
    throw std::runtime_error("no green traffic");
  std::this_thread::sleep_for(
      2s);  // let the window fill with healthy traffic (a bench, not a test)
  const auto failing_since = std::chrono::steady_clock::now();
  site.green().SetStatus(500);
  auto file =
      state::StateFile::Open(site.nginx().state_path(), state::StateFile::Access::kReadOnly);
  if (!WaitFor([&] { return file.ReadControl("app")->weight_bp == 0; }, 30s))
    throw std::runtime_error("never reverted");
  // Let every request in flight at the revert come back.
  const auto total = load.total();
  WaitFor([&] { return load.total() >= total + static_cast<std::uint64_t>(rps) / 2; }, 10s);
  load.Stop();
  const double seconds = std::chrono::duration<double>(load.last_green() - failing_since).count();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  std::printf("  run: %d rps offered, %.0f achieved, last green %.3f s after green failed\n", rps,
              static_cast<double>(load.total()) / elapsed, seconds);
  agent.StopWith(SIGTERM);
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  const int rps = argc > 1 ? std::atoi(argv[1]) : 200;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  const int threads = argc > 3 ? std::atoi(argv[3]) : std::max(1, rps / 250);
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) times.push_back(OneRun(rps, threads));
  std::sort(times.begin(), times.end());
  std::printf("revert at %d rps over %d runs: median %.3f s, max %.3f s (target <= 1 s)\n", rps,
              runs, times[times.size() / 2], times.back());
  return 0;
}
