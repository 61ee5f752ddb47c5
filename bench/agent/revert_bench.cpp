// How fast does the agent take traffic off a failing green? Real nginx with
// the module, real backends, the real agent on a unix socket, a paced load
// of RPS requests per second. A rollout holds green at 50%; then green
// fails and we time how long it keeps traffic. Repeated RUNS times; prints
// every run and the median/max.
//
// Two ways to fail:
//   errors  green starts answering 500: timed from then to the last response
//           tagged green (the default).
//   frozen  green (a process of its own) is stopped with SIGSTOP: its
//           requests never complete. Timed from the SIGSTOP to the revert
//           landing in the state file (no response is ever tagged green
//           again), with max_p99 MAX_P99 (default 1s). After the runs, the
//           same freeze once without max_p99 (the judge before stall
//           detection): whether it reverts within 15 s.
//
// Usage: cutover-agent-revert-bench [RPS] [RUNS] [LOAD_THREADS] [errors|frozen] [MAX_P99]
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cutover/state_file.hpp"
#include "support/agent.hpp"
#include "support/site.hpp"

using namespace cutover;
using namespace cutover::test;
using namespace std::chrono_literals;

namespace {

struct Mode {
  bool frozen = false;
  int max_p99_ms = 0;  // frozen: 0 runs the judge without stall detection
};

// The time green kept traffic, or a negative number when it was never reverted.
double OneRun(int rps, int threads, const Mode& mode) {
  TempDir dir("agent-bench");
  SiteOptions site_options;
  site_options.green_process = mode.frozen;
  Site site(site_options);
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
  a->mutable_window()->set_seconds(mode.frozen ? 10 : 2);
  a->set_min_requests(20);
  a->set_max_error_rate(0.05);
  if (mode.max_p99_ms > 0) {
    a->mutable_max_p99()->set_seconds(mode.max_p99_ms / 1000);
    a->mutable_max_p99()->set_nanos((mode.max_p99_ms % 1000) * 1'000'000);
  }
  v1::RolloutResponse resp;
  if (!stub->StartRollout(Context().get(), start, &resp).ok()) throw std::runtime_error("start");

  const auto load_start = std::chrono::steady_clock::now();
  Load load(site.Url(), rps, 60s, static_cast<std::uint64_t>(rps) * 60, threads);
  if (!WaitFor([&] { return load.green() >= static_cast<std::uint64_t>(rps); }, 30s))
    throw std::runtime_error("no green traffic: " + std::to_string(load.total()) + " requests, " +
                             std::to_string(load.green()) + " green, " +
                             std::to_string(load.non_200()) + " not 200");
  std::this_thread::sleep_for(
      2s);  // let the window fill with healthy traffic (a bench, not a test)
  auto file =
      state::StateFile::Open(site.nginx().state_path(), state::StateFile::Access::kReadOnly);
  const auto failing_since = std::chrono::steady_clock::now();
  if (mode.frozen) {
    site.green_process().Freeze();
  } else {
    site.green().SetStatus(500);
  }
  // Polled every 100 us: the measurement's resolution, not a wait for an event.
  const auto deadline = failing_since + (mode.frozen && mode.max_p99_ms == 0 ? 15s : 30s);
  bool reverted = false;
  auto reverted_at = failing_since;
  while (std::chrono::steady_clock::now() < deadline) {
    if (file.ReadControl("app")->weight_bp == 0) {
      reverted = true;
      reverted_at = std::chrono::steady_clock::now();
      break;
    }
    std::this_thread::sleep_for(100us);
  }
  double seconds = -1;
  if (mode.frozen) {
    site.green_process().Thaw();  // the hung clients finish
    if (reverted) seconds = std::chrono::duration<double>(reverted_at - failing_since).count();
  } else if (reverted) {
    // Let every request in flight at the revert come back.
    const auto total = load.total();
    WaitFor([&] { return load.total() >= total + static_cast<std::uint64_t>(rps) / 2; }, 10s);
    seconds = std::chrono::duration<double>(load.last_green() - failing_since).count();
  }
  load.Stop();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  const double achieved = static_cast<double>(load.total()) / elapsed;
  if (seconds < 0)
    std::printf(
        "  run: %d rps offered, %.0f achieved, green %s and was not reverted within %.0f s\n", rps,
        achieved, mode.frozen ? "froze" : "failed",
        std::chrono::duration<double>(deadline - failing_since).count());
  else if (mode.frozen)
    std::printf("  run: %d rps offered, %.0f achieved, 100%% blue %.3f s after green froze\n", rps,
                achieved, seconds);
  else
    std::printf("  run: %d rps offered, %.0f achieved, last green %.3f s after green failed\n", rps,
                achieved, seconds);
  agent.StopWith(SIGTERM);
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  const int rps = argc > 1 ? std::atoi(argv[1]) : 200;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  const bool frozen = argc > 4 && std::strcmp(argv[4], "frozen") == 0;
  // A frozen green holds a client per request it swallows: many clients, as in production.
  const int threads = argc > 3 && std::atoi(argv[3]) > 0 ? std::atoi(argv[3])
                      : frozen                           ? 32
                                                         : std::max(1, rps / 250);
  const int max_p99_ms = argc > 5 ? std::atoi(argv[5]) : 1000;
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const double t = OneRun(rps, threads, Mode{frozen, frozen ? max_p99_ms : 0});
    times.push_back(t < 0 ? 1e9 : t);
  }
  std::sort(times.begin(), times.end());
  if (!frozen) {
    std::printf("revert at %d rps over %d runs: median %.3f s, max %.3f s (target <= 1 s)\n", rps,
                runs, times[times.size() / 2], times.back());
    return 0;
  }
  std::printf(
      "frozen green at %d rps, max_p99 %d ms, over %d runs: median %.3f s, max %.3f s "
      "(target <= max_p99 + 1 s)\n",
      rps, max_p99_ms, runs, times[times.size() / 2], times.back());
  std::printf("the same freeze without max_p99 (no stall detection):\n");
  const double without = OneRun(rps, threads, Mode{true, 0});
  std::printf("  %s\n", without < 0 ? "never reverted: the requests it holds never complete"
                                    : "reverted (by a timeout)");
  return 0;
}
