// A fleet's speed and cost: three nginx with the module (each in front of
// its own blue and green backends), three cutover-agents with --fleet
// --node on one real PostgreSQL, on loopback, at the agent's default tick
// (100 ms).
//
//   apply   DECISIONS weight changes made through the decider (SetWeight,
//           alternating 10% and 20%): the time from the call to the moment
//           the last node's state file holds the new weight (LISTEN/NOTIFY
//           to every follower), p50 and p99; and the call's own time (the
//           fenced commit and the decider's own store).
//   revert  RUNS times: a rollout holds green at 50% on every node under a
//           paced load of RPS requests per second per node; green starts
//           answering 500 behind ONE node (a follower); timed from then to
//           the last response tagged green on any node (the failing node's
//           guard reverts it, and its revert becomes the fleet's decision).
//   cost    SECONDS with that load and a rollout holding: CPU of each
//           agent (the decider apart from the followers) and of the
//           PostgreSQL server (postmaster and every backend), and the
//           server's transactions per second; per node, and projected to
//           50 nodes (docs/benchmarks.md says how).
//   takeover  RUNS times: a rollout's first step holds (1 s) when the
//           decider is SIGKILLed; timed from the kill to the moment another
//           agent holds the lease (the lease row, read every millisecond),
//           and to the moment every surviving node's state file holds the
//           next step's weight (the new decider continued the rollout, its
//           hold long over by then). The killed agent is started again
//           between runs.
//
// Usage: cutover-fleet-bench [DECISIONS] [RPS] [RUNS] [SECONDS]
#include <libpq-fe.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "cutover/state_file.hpp"
#include "support/fleet.hpp"
#include "support/plan.hpp"

using namespace cutover;
using namespace cutover::test;
using namespace std::chrono_literals;

namespace {

using SteadyClock = std::chrono::steady_clock;

double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::vector<state::StateFile> OpenAll(FleetSite& fleet) {
  std::vector<state::StateFile> files;
  for (int i = 0; i < fleet.size(); ++i)
    files.push_back(state::StateFile::Open(fleet.site(i).nginx().state_path(),
                                           state::StateFile::Access::kReadOnly));
  return files;
}

// Polled every 100 us: the measurement's resolution, not a wait for an event.
bool PollAllAt(std::vector<state::StateFile>& files, std::uint32_t bp,
               SteadyClock::time_point deadline) {
  while (SteadyClock::now() < deadline) {
    if (std::all_of(files.begin(), files.end(),
                    [&](state::StateFile& f) { return f.ReadControl("app")->weight_bp == bp; }))
      return true;
    std::this_thread::sleep_for(100us);
  }
  return false;
}

void Apply(FleetSite& fleet, int decider, int decisions) {
  auto files = OpenAll(fleet);
  auto stub = fleet.agent(decider).UnixStub();
  std::vector<double> applied, answered;
  int lost = 0;
  for (int i = 0; i < decisions; ++i) {
    const double percent = i % 2 == 0 ? 10 : 20;
    v1::SetWeightRequest req;
    req.set_cutover("app");
    req.set_percent(percent);
    req.set_reason("bench");
    v1::SetWeightResponse resp;
    const auto t0 = SteadyClock::now();
    const auto status = stub->SetWeight(Context().get(), req, &resp);
    const auto t1 = SteadyClock::now();
    if (!status.ok()) throw std::runtime_error("SetWeight: " + status.error_message());
    if (!PollAllAt(files, static_cast<std::uint32_t>(percent * 100), t0 + 10s)) {
      ++lost;
      continue;
    }
    applied.push_back(Seconds(SteadyClock::now() - t0) * 1000);
    answered.push_back(Seconds(t1 - t0) * 1000);
    std::this_thread::sleep_for(50ms);  // decisions apart, as a rollout makes them
  }
  std::printf(
      "apply over %d decisions, %d nodes: decision -> last node applied p50 %.1f ms, p99 %.1f "
      "ms, max %.1f ms (target p99 <= 250 ms); the call itself p50 %.1f ms, p99 %.1f ms; "
      "%d not applied everywhere within 10 s\n",
      decisions, fleet.size(), Percentile(applied, 0.5), Percentile(applied, 0.99),
      Percentile(applied, 1), Percentile(answered, 0.5), Percentile(answered, 0.99), lost);
}

std::vector<std::unique_ptr<Load>> LoadEveryNode(FleetSite& fleet, int rps,
                                                 std::chrono::seconds for_time) {
  std::vector<std::unique_ptr<Load>> loads;
  for (int i = 0; i < fleet.size(); ++i)
    loads.push_back(std::make_unique<Load>(fleet.site(i).Url(), rps, for_time,
                                           static_cast<std::uint64_t>(rps) * for_time.count(),
                                           std::max(1, rps / 250)));
  return loads;
}

// Starts a rollout of `plan` and waits until every node is at its first
// step (`green_bp`) and the step's hold started.
void StartHolding(FleetSite& fleet, int decider, const v1::Plan& plan, std::uint32_t green_bp) {
  v1::StartRolloutRequest start;
  start.set_cutover("app");
  *start.mutable_plan() = plan;
  v1::RolloutResponse resp;
  const auto status = fleet.agent(decider).UnixStub()->StartRollout(Context().get(), start, &resp);
  if (!status.ok()) throw std::runtime_error("StartRollout: " + status.error_message());
  if (!WaitFor(
          [&] {
            const auto r = fleet.Status(decider).rollout();
            return fleet.AllAt(green_bp) && r.step() == 0 && !r.awaiting_apply();
          },
          30s)) {
    std::string weights, logs;
    for (int i = 0; i < fleet.size(); ++i) {
      weights += " " + std::to_string(fleet.Weight(i));
      logs += "---- " + fleet.name(i) + "\n" + fleet.agent(i).Log();
    }
    throw std::runtime_error("the rollout did not reach its first step on every node (weights" +
                             weights + "): " + fleet.Status(decider).rollout().DebugString() +
                             logs);
  }
}

void HoldAtHalf(FleetSite& fleet, int decider) {
  StartHolding(fleet, decider, MakePlan({50, 100}, 1h, 2s, 20, 0.05), 5000);
}

double Revert(FleetSite& fleet, int decider, int failing, int rps) {
  for (int i = 0; i < fleet.size(); ++i) fleet.site(i).green().SetStatus(200);
  auto loads = LoadEveryNode(fleet, rps, 60s);
  HoldAtHalf(fleet, decider);
  if (!WaitFor([&] { return loads[failing]->green() >= static_cast<std::uint64_t>(rps); }, 30s))
    throw std::runtime_error("no green traffic");
  std::this_thread::sleep_for(2s);  // the window fills with healthy traffic (a bench, not a test)
  auto files = OpenAll(fleet);
  const auto failing_since = SteadyClock::now();
  fleet.site(failing).green().SetStatus(500);
  double seconds = -1;
  if (PollAllAt(files, 0, failing_since + 30s)) {
    // Every request in flight at the revert comes back.
    std::vector<std::uint64_t> totals;
    for (auto& l : loads) totals.push_back(l->total());
    WaitFor(
        [&] {
          for (std::size_t i = 0; i < loads.size(); ++i)
            if (loads[i]->total() < totals[i] + static_cast<std::uint64_t>(rps) / 2) return false;
          return true;
        },
        10s);
    auto last_green = failing_since;
    for (auto& l : loads) last_green = std::max(last_green, l->last_green());
    seconds = Seconds(last_green - failing_since);
  }
  for (auto& l : loads) l->Stop();
  if (seconds < 0)
    std::printf("  run: green failed behind %s and the fleet was not reverted within 30 s\n",
                fleet.name(failing).c_str());
  else
    std::printf(
        "  run: %d rps per node, green failed behind %s: last green on any node %.3f s "
        "after\n",
        rps, fleet.name(failing).c_str(), seconds);
  return seconds;
}

pid_t Postmaster(const Postgres& pg) {
  std::ifstream in(pg.data_dir() + "/postmaster.pid");
  pid_t pid = -1;
  in >> pid;
  return pid;
}

double PostgresCpu(const Postgres& pg) {
  const pid_t postmaster = Postmaster(pg);
  double cpu = CpuSeconds(postmaster);
  for (pid_t child : ChildrenOf(postmaster)) cpu += CpuSeconds(child);
  return cpu;
}

double Transactions(const Postgres& pg) {
  return std::stod(pg.Psql("SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database"));
}

void Cost(FleetSite& fleet, const Postgres& pg, int decider, int rps, int seconds) {
  for (int i = 0; i < fleet.size(); ++i) fleet.site(i).green().SetStatus(200);
  auto loads = LoadEveryNode(fleet, rps, std::chrono::seconds(seconds + 60));
  HoldAtHalf(fleet, decider);
  std::vector<double> agent_before;
  for (int i = 0; i < fleet.size(); ++i) agent_before.push_back(CpuSeconds(fleet.agent(i).pid()));
  const double pg_before = PostgresCpu(pg);
  const double tx_before = Transactions(pg);
  const auto t0 = SteadyClock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));  // the span measured
  const double wall = Seconds(SteadyClock::now() - t0);
  const double tx = (Transactions(pg) - tx_before) / wall;
  const double pg_cpu = (PostgresCpu(pg) - pg_before) / wall;
  double decider_cpu = 0, follower_cpu = 0;
  for (int i = 0; i < fleet.size(); ++i) {
    const double c = (CpuSeconds(fleet.agent(i).pid()) - agent_before[i]) / wall;
    if (i == decider)
      decider_cpu = c;
    else
      follower_cpu += c / (fleet.size() - 1);
  }
  for (auto& l : loads) l->Stop();
  const int n = fleet.size();
  std::printf(
      "cost over %.0f s, %d nodes at %d rps each, tick 100 ms: decider agent %.2f%% of a core, "
      "follower agent %.2f%%; PostgreSQL %.2f%% of a core (%.2f%% per node), %.0f transactions/s "
      "(%.1f per node)\n",
      wall, n, rps, decider_cpu * 100, follower_cpu * 100, pg_cpu * 100, pg_cpu * 100 / n, tx,
      tx / n);
  // Linear in the nodes, each heartbeating every tick, except the decider,
  // which reads every node's heartbeat each tick: its extra cost over a
  // follower's grows with the nodes.
  const double decider_50 = follower_cpu + (decider_cpu - follower_cpu) * 50 / n;
  std::printf(
      "projected to 50 nodes: PostgreSQL %.1f%% of a core, %.0f transactions/s; decider agent "
      "%.1f%% of a core, each follower %.2f%%\n",
      pg_cpu * 100 * 50 / n, tx * 50 / n, decider_50 * 100, follower_cpu * 100);
}

// The lease's holder as the database says, or "" when it has expired.
std::string LeaseHolder(PGconn* conn) {
  PGresult* r = PQexec(conn,
                       "SELECT CASE WHEN expires_at > clock_timestamp() THEN holder ELSE '' END"
                       " FROM cutover_fleet_lease");
  std::string holder;
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) holder = PQgetvalue(r, 0, 0);
  PQclear(r);
  return holder;
}

struct Takeover {
  double lease = -1;      // kill -> another agent holds the lease
  double continued = -1;  // kill -> every surviving node at the next step's weight
};

Takeover KillTheDecider(FleetSite& fleet, const Postgres& pg, int rps) {
  const int decider = fleet.AwaitDecider();
  if (decider < 0) throw std::runtime_error("the fleet never agreed on a decider");
  {
    // Whatever rollout the cost run left holding ends first.
    v1::RolloutActionRequest abort;
    abort.set_cutover("app");
    v1::RolloutResponse aborted;
    (void)fleet.agent(decider).UnixStub()->AbortRollout(Context().get(), abort, &aborted);
    if (!WaitFor([&] { return fleet.AllAt(0); }, 30s))
      throw std::runtime_error("the fleet did not go back to blue");
  }
  for (int i = 0; i < fleet.size(); ++i) fleet.site(i).green().SetStatus(200);
  auto loads = LoadEveryNode(fleet, rps, 60s);
  StartHolding(fleet, decider, MakePlan({20, 50, 100}, 1s, 2s, 20, 0.05), 2000);
  PGconn* conn = PQconnectdb(pg.Uri().c_str());
  if (PQstatus(conn) != CONNECTION_OK) throw std::runtime_error("cannot connect to PostgreSQL");
  std::vector<state::StateFile> survivors;
  for (int i = 0; i < fleet.size(); ++i)
    if (i != decider)
      survivors.push_back(state::StateFile::Open(fleet.site(i).nginx().state_path(),
                                                 state::StateFile::Access::kReadOnly));
  const std::string killed = fleet.name(decider);
  const auto t0 = SteadyClock::now();
  fleet.agent(decider).StopWith(SIGKILL);
  Takeover t;
  // Polled every millisecond: the measurement's resolution.
  while (SteadyClock::now() < t0 + 30s) {
    if (t.lease < 0) {
      const std::string holder = LeaseHolder(conn);
      if (!holder.empty() && holder != killed) t.lease = Seconds(SteadyClock::now() - t0);
    }
    if (std::all_of(survivors.begin(), survivors.end(),
                    [](state::StateFile& f) { return f.ReadControl("app")->weight_bp == 5000; })) {
      t.continued = Seconds(SteadyClock::now() - t0);
      break;
    }
    std::this_thread::sleep_for(1ms);
  }
  PQfinish(conn);
  std::printf(
      "  run: %s killed: another agent held the lease %.3f s after, every other node "
      "at the next step %.3f s after\n",
      killed.c_str(), t.lease, t.continued);
  // The rollout goes on to its end (judged on the traffic still coming); the
  // killed agent comes back and converges.
  if (!WaitFor(
          [&] {
            return fleet.Status((decider + 1) % fleet.size()).rollout().state() ==
                   v1::ROLLOUT_STATE_COMPLETED;
          },
          60s)) {
    std::string logs;
    for (int i = 0; i < fleet.size(); ++i)
      if (i != decider) logs += "---- " + fleet.name(i) + "\n" + fleet.agent(i).Log();
    throw std::runtime_error("the rollout did not complete after the takeover: " +
                             fleet.Status((decider + 1) % fleet.size()).DebugString() + logs);
  }
  for (auto& l : loads) l->Stop();
  fleet.agent(decider).Start();
  if (!WaitFor([&] { return fleet.AllAt(10000); }, 30s))
    throw std::runtime_error("the restarted node did not converge");
  v1::SetWeightRequest back;
  back.set_cutover("app");
  back.set_percent(0);
  v1::SetWeightResponse ignored;
  const int next = fleet.AwaitDecider();
  if (next < 0 || !fleet.agent(next).UnixStub()->SetWeight(Context().get(), back, &ignored).ok() ||
      !WaitFor([&] { return fleet.AllAt(0); }, 30s))
    throw std::runtime_error("the fleet did not go back to blue");
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each result as it comes, also into a file
  const int decisions = argc > 1 ? std::atoi(argv[1]) : 200;
  const int rps = argc > 2 ? std::atoi(argv[2]) : 200;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 5;
  const int seconds = argc > 4 ? std::atoi(argv[4]) : 30;
  Postgres pg;
  FleetOptions options;
  FleetSite fleet(pg, options);
  fleet.StartAll();
  const int decider = fleet.AwaitDecider();
  if (decider < 0) {
    std::fprintf(stderr, "the fleet never agreed on a decider\n");
    return 1;
  }
  Apply(fleet, decider, decisions);
  const int failing = (decider + 1) % fleet.size();
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const double t = Revert(fleet, decider, failing, rps);
    times.push_back(t < 0 ? 1e9 : t);
  }
  std::sort(times.begin(), times.end());
  std::printf(
      "fleet-wide revert at %d rps per node over %d runs: median %.3f s, max %.3f s (target "
      "<= 1 s)\n",
      rps, runs, times[times.size() / 2], times.back());
  Cost(fleet, pg, decider, rps, seconds);
  std::vector<double> lease, continued;
  for (int i = 0; i < runs; ++i) {
    const Takeover t = KillTheDecider(fleet, pg, rps);
    lease.push_back(t.lease < 0 ? 1e9 : t.lease);
    continued.push_back(t.continued < 0 ? 1e9 : t.continued);
  }
  std::sort(lease.begin(), lease.end());
  std::sort(continued.begin(), continued.end());
  std::printf(
      "leader takeover over %d runs (SIGKILL of the decider, lease term %s): another agent holds "
      "the lease median %.3f s, max %.3f s; the rollout continues (every other node at the next "
      "step) median %.3f s, max %.3f s\n",
      runs, "2 s", lease[lease.size() / 2], lease.back(), continued[continued.size() / 2],
      continued.back());
  for (int i = 0; i < fleet.size(); ++i) fleet.agent(i).StopWith(SIGTERM);
  return 0;
}
