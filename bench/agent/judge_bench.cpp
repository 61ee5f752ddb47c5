// The judge on synthetic counter streams: how often does it revert a green
// that is exactly as good as blue, and how fast does it revert one that is
// worse? The threshold judge (windows against max_error_rate and
// max_error_ratio_vs_blue) and the sequential comparison (analysis.compare)
// run side by side on the same streams (the same seed per rollout).
//
// Each simulated rollout: 200 requests per second in 100 ms ticks, split by
// the weight in force (the module's smooth interleave: exact per tick);
// every request fails with its slot's probability, blue's 0.5%. The real
// RolloutEngine judges, fed windows from the real CounterHistory with the
// controller's fresh-evidence query (JudgeQuery), exactly as the agent does.
//
// Usage: cutover-judge-bench [EQUAL_ROLLOUTS] [WORSE_ROLLOUTS] [BLUE_ERROR_RATE]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "agent/core/counter_history.hpp"
#include "agent/core/units.hpp"
#include "agent/engine/rollout_engine.hpp"
#include "agent/server/controller.hpp"

using namespace cutover;
using namespace cutover::agent;
using namespace std::chrono_literals;

namespace {

constexpr int kRps = 200;
constexpr Nanos kTick = 100ms;

v1::Plan BasePlan() {
  v1::Plan plan;
  for (auto [percent, hold] : {std::pair{5.0, 60s}, {25.0, 60s}, {50.0, 120s}, {100.0, 300s}}) {
    auto* s = plan.add_steps();
    s->set_percent(percent);
    *s->mutable_hold() = ToProtoDuration(hold);
  }
  auto* a = plan.mutable_analysis();
  *a->mutable_window() = ToProtoDuration(10s);
  a->set_min_requests(50);
  return plan;
}

// The threshold judge set for a blue at 0.5%: an error rate four times
// blue's reverts; with `ratio`, so does twice blue's over the same window
// (the design's example plan has both).
v1::Plan ThresholdPlan(bool ratio) {
  v1::Plan plan = BasePlan();
  plan.mutable_analysis()->set_max_error_rate(0.02);
  if (ratio) plan.mutable_analysis()->set_max_error_ratio_vs_blue(2);
  return plan;
}

// The sequential comparison alone (thresholds out of its way).
v1::Plan SequentialPlan() {
  v1::Plan plan = BasePlan();
  plan.mutable_analysis()->set_max_error_rate(1.0);
  auto* c = plan.mutable_analysis()->mutable_compare();
  c->set_method(v1::COMPARE_METHOD_SEQUENTIAL);
  c->set_alpha(0.01);
  return plan;
}

struct Outcome {
  bool reverted = false;
  double seconds = 0;  // from the rollout's start to the revert (or its end)
};

Outcome RunRollout(const v1::Plan& plan, double blue_rate, double green_rate, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  FakeClock clock;
  SteadyTime steady{};
  CounterHistory history(11s);
  RolloutEngine engine("r", "app", plan, state::Slot::kBlue, {});
  state::RecordSnapshot record;
  record.name = "app";
  record.revision = 1;
  record.control = {0, 1};
  SteadyTime evidence_after = SteadyTime::min();
  const auto apply = [&](const std::vector<Decision>& decisions) {
    for (const Decision& d : decisions)
      if (d.store_green_bp) {
        record.control = {*d.store_green_bp, record.control.epoch + 1};
        evidence_after = steady;  // the newest sample was taken before the store
      }
  };
  const WallTime start = clock.Now();
  apply(engine.Start(start, 0, "bench", "bench"));
  double green_credit = 0;
  const Nanos limit = 10min;
  while (engine.state() == v1::ROLLOUT_STATE_RUNNING && clock.Now() - start < limit) {
    clock.Advance(kTick);
    steady += kTick;
    // The smooth interleave: green's exact share, carried tick to tick.
    const int per_tick = kRps / 10;
    green_credit += per_tick * record.control.weight_bp / 10000.0;
    const int to_green = static_cast<int>(green_credit);
    green_credit -= to_green;
    const int to_blue = per_tick - to_green;
    for (auto [slot, n, rate] : {std::tuple{state::Slot::kGreen, to_green, green_rate},
                                 std::tuple{state::Slot::kBlue, to_blue, blue_rate}}) {
      std::binomial_distribution<int> errors(n, rate);
      const int e = n > 0 ? errors(rng) : 0;
      state::SlotSnapshot& s = record.slots[static_cast<std::size_t>(slot)];
      s.requests += n;
      s.responses[1] += n - e;
      s.responses[4] += e;
      s.latency[state::LatencyBucket(2000)] += n;
    }
    history.Add(steady, {record});
    const WindowQuery query = JudgeQuery(plan.analysis(), evidence_after);
    Observation obs;
    obs.now = clock.Now();
    obs.control = record.control;
    obs.new_slot = history.Window("app", state::Slot::kGreen, query);
    obs.old_slot = history.Window("app", state::Slot::kBlue, query);
    obs.new_totals = record.slot(state::Slot::kGreen);
    obs.old_totals = record.slot(state::Slot::kBlue);
    apply(engine.Tick(obs));
  }
  return Outcome{engine.state() == v1::ROLLOUT_STATE_REVERTED,
                 std::chrono::duration<double>(clock.Now() - start).count()};
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

struct Row {
  double false_revert_rate = 0;
  int equal_runs = 0;
  struct Worse {
    double reverted = 0, median = 0, p95 = 0;
  } twice, five;
};

Row Measure(const v1::Plan& plan, int equal_runs, int worse_runs, double blue_rate) {
  Row row;
  row.equal_runs = equal_runs;
  int false_reverts = 0;
  for (int i = 0; i < equal_runs; ++i)
    false_reverts += RunRollout(plan, blue_rate, blue_rate, 1000 + i).reverted ? 1 : 0;
  row.false_revert_rate = static_cast<double>(false_reverts) / equal_runs;
  for (auto [factor, out] : {std::pair{2.0, &row.twice}, std::pair{5.0, &row.five}}) {
    std::vector<double> times;
    for (int i = 0; i < worse_runs; ++i) {
      const Outcome o = RunRollout(plan, blue_rate, blue_rate * factor, 1'000'000 + i);
      if (o.reverted) times.push_back(o.seconds);
    }
    out->reverted = static_cast<double>(times.size()) / worse_runs;
    out->median = Quantile(times, 0.5);
    out->p95 = Quantile(times, 0.95);
  }
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  const int equal_runs = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int worse_runs = argc > 2 ? std::atoi(argv[2]) : 200;
  const double blue_rate = argc > 3 ? std::atof(argv[3]) : 0.005;
  std::printf(
      "synthetic rollouts: %d rps, blue errors %.2f%%, steps 5%% 1m, 25%% 1m, 50%% 2m, "
      "100%% 5m; window 10s, min_requests 50\n",
      kRps, blue_rate * 100);
  std::printf("%-44s | %-22s | %-30s | %-30s\n", "judge", "green = blue", "green = 2x blue",
              "green = 5x blue");
  std::printf("%-44s | %-22s | %-30s | %-30s\n", "", "false reverts", "reverted, median, p95",
              "reverted, median, p95");
  for (auto [name, plan] :
       {std::pair{"threshold: max_error_rate 2%", ThresholdPlan(false)},
        std::pair{"threshold: 2%, max_error_ratio_vs_blue 2", ThresholdPlan(true)},
        std::pair{"sequential: compare, alpha 0.01", SequentialPlan()}}) {
    const Row r = Measure(plan, equal_runs, worse_runs, blue_rate);
    std::printf(
        "%-44s | %4d/%-4d = %6.2f%%  | %5.1f%%, %6.1f s, %6.1f s   | %5.1f%%, %6.1f s, "
        "%6.1f s\n",
        name, static_cast<int>(r.false_revert_rate * r.equal_runs + 0.5), r.equal_runs,
        r.false_revert_rate * 100, r.twice.reverted * 100, r.twice.median, r.twice.p95,
        r.five.reverted * 100, r.five.median, r.five.p95);
    std::fflush(stdout);
  }
  return 0;
}
