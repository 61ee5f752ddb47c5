// The rollout engine driven by a fake clock and fake windows: no sleeping,
// no files, no network.
#include "agent/engine/rollout_engine.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "agent/core/units.hpp"

namespace cutover::agent {
namespace {

using namespace std::chrono_literals;

v1::Plan MakePlan(std::vector<std::pair<double, Nanos>> steps, std::uint64_t min_requests = 50,
                  double max_error_rate = 0.01) {
  v1::Plan plan;
  for (auto [percent, hold] : steps) {
    auto* s = plan.add_steps();
    s->set_percent(percent);
    *s->mutable_hold() = ToProtoDuration(hold);
  }
  auto* a = plan.mutable_analysis();
  *a->mutable_window() = ToProtoDuration(10s);
  a->set_min_requests(min_requests);
  a->set_max_error_rate(max_error_rate);
  return plan;
}

WindowStats Window(std::uint64_t requests, std::uint64_t errors_5xx = 0, double p99_ms = 5) {
  WindowStats w;
  w.span = 10s;
  w.requests = requests;
  w.responses_5xx = errors_5xx;
  w.p99_ms = p99_ms;
  return w;
}

// Drives one engine: keeps the clock, the weight in force (stores apply
// at once, like the controller does) and the new slot's request total.
class Harness {
 public:
  explicit Harness(v1::Plan plan, state::Slot from = state::Slot::kBlue,
                   RolloutEngine::Options options = {})
      : engine_("r1", "app", std::move(plan), from, options) {
    green_bp_ = from == state::Slot::kBlue ? 0 : 10000;
  }

  std::vector<Decision> Start() {
    return Apply(engine_.Start(clock_.Now(), green_bp_, "go", "test"));
  }

  // Advances the clock by `dt`, during which the new slot served `served`
  // requests, and ticks with windows `new_slot` / `old_slot`.
  std::vector<Decision> Tick(Nanos dt, std::uint64_t served, WindowStats new_slot,
                             WindowStats old_slot = Window(1000)) {
    clock_.Advance(dt);
    new_totals.requests += served;
    new_totals.writes = writes_;
    Observation obs;
    obs.now = clock_.Now();
    obs.control = state::Control{green_bp_, epoch_};
    obs.new_slot = new_slot;
    obs.old_slot = old_slot;
    obs.new_totals = new_totals;
    obs.old_totals = old_totals;
    return Apply(engine_.Tick(obs));
  }

  std::vector<Decision> Apply(std::vector<Decision> decisions) {
    for (auto& d : decisions) {
      if (d.store_green_bp) {
        green_bp_ = *d.store_green_bp;
        ++epoch_;
      }
      journal_.push_back(d.event);
    }
    return decisions;
  }

  RolloutEngine& engine() { return engine_; }
  FakeClock& clock() { return clock_; }
  std::uint32_t green_bp() const { return green_bp_; }
  const std::vector<v1::Event>& journal() const { return journal_; }
  std::uint64_t writes_ = 0;
  // The slots' cumulative counters (the sequential comparison's input).
  state::SlotSnapshot new_totals, old_totals;

 private:
  FakeClock clock_;
  RolloutEngine engine_;
  std::uint32_t green_bp_ = 0;
  std::uint64_t epoch_ = 1;
  std::vector<v1::Event> journal_;
};

std::vector<std::string> Kinds(const std::vector<Decision>& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds) out.push_back(d.event.kind());
  return out;
}

TEST(RolloutEngine, StartMovesToTheFirstStep) {
  Harness h(MakePlan({{1, 60s}, {50, 60s}, {100, 60s}}));
  auto ds = h.Start();
  EXPECT_EQ(Kinds(ds), (std::vector<std::string>{"rollout_started", "step_advanced"}));
  EXPECT_EQ(h.green_bp(), 100u);  // 1% green
  EXPECT_EQ(h.engine().step(), 0);
  EXPECT_EQ(h.engine().state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_TRUE(ds[0].event.has_plan());
  EXPECT_EQ(ds[0].event.from_slot(), v1::SLOT_BLUE);
  EXPECT_EQ(ds[0].event.to_slot(), v1::SLOT_GREEN);
}

TEST(RolloutEngine, AdvancesAfterHoldWithEnoughHealthyRequests) {
  Harness h(MakePlan({{1, 60s}, {50, 60s}, {100, 60s}}));
  h.Start();
  // 59 s of healthy traffic: not yet.
  for (int i = 0; i < 59; ++i) EXPECT_TRUE(h.Tick(1s, 10, Window(100)).empty());
  EXPECT_EQ(h.engine().step(), 0);
  auto ds = h.Tick(1s, 10, Window(100));
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"step_advanced"});
  EXPECT_EQ(h.engine().step(), 1);
  EXPECT_EQ(h.green_bp(), 5000u);
  EXPECT_DOUBLE_EQ(ds[0].event.weight_before(), 1.0);
  EXPECT_DOUBLE_EQ(ds[0].event.weight_after(), 50.0);
  EXPECT_EQ(ds[0].event.measurement().requests(), 100u);
}

TEST(RolloutEngine, HoldNotOverDoesNotAdvanceEvenWhenHealthy) {
  Harness h(MakePlan({{10, 5min}, {100, 0s}}));
  h.Start();
  for (int i = 0; i < 299; ++i) h.Tick(1s, 100, Window(1000));
  EXPECT_EQ(h.engine().step(), 0);
  auto r = h.engine().ToProto(h.clock().Now());
  EXPECT_EQ(FromProto(r.hold_remaining()), 1s);
  EXPECT_EQ(FromProto(r.hold_elapsed()), 299s);
  h.Tick(1s, 100, Window(1000));
  EXPECT_EQ(h.engine().step(), 1);
}

TEST(RolloutEngine, InconclusiveWindowsNeitherAdvanceNorRevert) {
  Harness h(MakePlan({{1, 10s}, {100, 10s}}, /*min_requests=*/50));
  h.Start();
  // A trickle: 20 requests per window, all failing. Too few to judge.
  std::vector<Decision> all;
  for (int i = 0; i < 60; ++i) {
    auto ds = h.Tick(1s, 2, Window(20, 20));
    all.insert(all.end(), ds.begin(), ds.end());
  }
  EXPECT_EQ(h.engine().step(), 0);
  EXPECT_EQ(h.engine().state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_EQ(h.green_bp(), 100u);
  // Reported once, with the numbers, not every tick.
  ASSERT_EQ(Kinds(all), std::vector<std::string>{"inconclusive"});
  EXPECT_EQ(all[0].event.measurement().requests(), 20u);
  EXPECT_EQ(all[0].event.measurement().min_requests(), 50u);
}

TEST(RolloutEngine, NoPromotionOnSilence) {
  Harness h(MakePlan({{1, 10s}, {100, 10s}}, /*min_requests=*/0));
  h.Start();
  for (int i = 0; i < 60; ++i) h.Tick(1s, 0, Window(0));
  EXPECT_EQ(h.engine().step(), 0);
}

TEST(RolloutEngine, AdvanceNeedsHealthyRequestsDuringTheStepNotJustAGoodWindow) {
  Harness h(MakePlan({{1, 10s}, {100, 10s}}, /*min_requests=*/50));
  h.Start();
  // The window (which may hold the previous step's traffic) looks fine, but
  // only 3 requests were served in the step itself.
  for (int i = 0; i < 30; ++i) h.Tick(1s, i < 3 ? 1 : 0, Window(60));
  EXPECT_EQ(h.engine().step(), 0);
  EXPECT_LT(h.engine().step_healthy_requests(), 50u);
  h.Tick(1s, 60, Window(120));
  EXPECT_EQ(h.engine().step(), 1);
}

TEST(RolloutEngine, BreachRevertsToTheSlotLiveAtStartInOneStore) {
  Harness h(MakePlan({{10, 60s}, {50, 60s}, {100, 60s}}));
  h.Start();
  for (int i = 0; i < 60; ++i) h.Tick(1s, 50, Window(500));
  ASSERT_EQ(h.engine().step(), 1);
  ASSERT_EQ(h.green_bp(), 5000u);
  auto ds = h.Tick(100ms, 20, Window(400, 40));  // 10% errors
  ASSERT_EQ(Kinds(ds), (std::vector<std::string>{"breach", "reverted"}));
  EXPECT_FALSE(ds[0].store_green_bp.has_value());
  ASSERT_TRUE(ds[1].store_green_bp.has_value());
  EXPECT_EQ(*ds[1].store_green_bp, 0u);
  EXPECT_EQ(h.green_bp(), 0u);
  EXPECT_EQ(h.engine().state(), v1::ROLLOUT_STATE_REVERTED);
  const auto& m = ds[1].event.measurement();
  EXPECT_EQ(m.requests(), 400u);
  EXPECT_EQ(m.errors(), 40u);
  EXPECT_DOUBLE_EQ(m.error_rate(), 0.1);
  EXPECT_DOUBLE_EQ(m.max_error_rate(), 0.01);
  EXPECT_EQ(FromProto(m.window()), 10s);
  EXPECT_DOUBLE_EQ(ds[1].event.weight_before(), 50.0);
  EXPECT_DOUBLE_EQ(ds[1].event.weight_after(), 0.0);
  EXPECT_NE(ds[1].event.reason().find("error rate 10.00%"), std::string::npos)
      << ds[1].event.reason();
  // Ended: further failing windows change nothing.
  EXPECT_TRUE(h.Tick(1s, 0, Window(400, 400)).empty());
}

TEST(RolloutEngine, BreachOnP99) {
  auto plan = MakePlan({{10, 60s}, {100, 60s}});
  *plan.mutable_analysis()->mutable_max_p99() = ToProtoDuration(200ms);
  Harness h(plan);
  h.Start();
  EXPECT_TRUE(h.Tick(1s, 100, Window(100, 0, 150)).empty());
  auto ds = h.Tick(1s, 100, Window(100, 0, 450));
  ASSERT_EQ(Kinds(ds), (std::vector<std::string>{"breach", "reverted"}));
  EXPECT_DOUBLE_EQ(ds[1].event.measurement().p99_ms(), 450);
  EXPECT_DOUBLE_EQ(ds[1].event.measurement().max_p99_ms(), 200);
}

TEST(RolloutEngine, BreachWithPauseActionKeepsTheWeight) {
  auto plan = MakePlan({{10, 60s}, {100, 60s}});
  plan.set_on_breach(v1::BREACH_ACTION_PAUSE);
  Harness h(plan);
  h.Start();
  auto ds = h.Tick(1s, 100, Window(100, 50));
  ASSERT_EQ(Kinds(ds), (std::vector<std::string>{"breach", "paused"}));
  EXPECT_FALSE(ds[1].store_green_bp.has_value());
  EXPECT_EQ(h.green_bp(), 1000u);
  EXPECT_EQ(h.engine().state(), v1::ROLLOUT_STATE_PAUSED);
  EXPECT_NE(h.engine().ToProto(h.clock().Now()).pause_reason().find("breach"), std::string::npos);
  // Paused: time passes, nothing moves.
  for (int i = 0; i < 120; ++i) EXPECT_TRUE(h.Tick(1s, 100, Window(1000)).empty());
  EXPECT_EQ(h.engine().step(), 0);
}

TEST(RolloutEngine, FailureThresholdCountsDistinctWindows) {
  auto plan = MakePlan({{10, 10min}, {100, 60s}});
  plan.mutable_analysis()->set_failure_threshold(3);
  Harness h(plan);
  h.Start();
  // Failing every 100 ms tick for 15 s: windows of 10 s, so only two
  // distinct failing windows yet.
  for (int i = 0; i < 150; ++i) ASSERT_TRUE(h.Tick(100ms, 10, Window(100, 10)).empty()) << i;
  EXPECT_EQ(h.engine().consecutive_failing_windows(), 2u);
  // A healthy window resets the count.
  h.Tick(100ms, 10, Window(100));
  EXPECT_EQ(h.engine().consecutive_failing_windows(), 0u);
  std::vector<Decision> all;
  for (int i = 0; i < 201 && all.empty(); ++i) all = h.Tick(100ms, 10, Window(100, 10));
  ASSERT_EQ(Kinds(all), (std::vector<std::string>{"breach", "reverted"}));
  EXPECT_EQ(h.engine().consecutive_failing_windows(), 3u);
  EXPECT_EQ(h.green_bp(), 0u);
}

TEST(RolloutEngine, RelativeToBlueBreachesWhenGreenIsWorseByTheRatio) {
  auto plan = MakePlan({{10, 60s}, {100, 60s}}, 50, /*max_error_rate=*/0.5);
  plan.mutable_analysis()->set_max_error_ratio_vs_blue(2);
  Harness h(plan);
  h.Start();
  // Green 4%, blue 3%: within 2x.
  EXPECT_TRUE(h.Tick(1s, 100, Window(100, 4), Window(1000, 30)).empty());
  // Green 8%, blue 3%: 2.67x.
  auto ds = h.Tick(1s, 100, Window(100, 8), Window(1000, 30));
  ASSERT_EQ(Kinds(ds), (std::vector<std::string>{"breach", "reverted"}));
  EXPECT_DOUBLE_EQ(ds[1].event.measurement().blue_error_rate(), 0.03);
  EXPECT_NE(ds[1].event.reason().find("times the old slot"), std::string::npos);
}

TEST(RolloutEngine, RelativeToBlueIgnoredWhenBlueHasTooFewRequests) {
  auto plan = MakePlan({{10, 60s}, {100, 60s}}, 50, 0.5);
  plan.mutable_analysis()->set_max_error_ratio_vs_blue(2);
  Harness h(plan);
  h.Start();
  EXPECT_TRUE(h.Tick(1s, 100, Window(100, 20), Window(10, 0)).empty());
  EXPECT_EQ(h.engine().state(), v1::ROLLOUT_STATE_RUNNING);
}

TEST(RolloutEngine, CompletesAtTheLastStepAndTheSlotsSwapRoles) {
  Harness h(MakePlan({{50, 10s}, {100, 10s}}, 10));
  h.Start();
  for (int i = 0; i < 10; ++i) h.Tick(1s, 10, Window(100));
  ASSERT_EQ(h.engine().step(), 1);
  std::vector<Decision> all;
  for (int i = 0; i < 10; ++i) {
    auto ds = h.Tick(1s, 10, Window(100));
    all.insert(all.end(), ds.begin(), ds.end());
  }
  ASSERT_EQ(Kinds(all), std::vector<std::string>{"completed"});
  EXPECT_FALSE(all[0].store_green_bp.has_value());  // already at 100%
  EXPECT_EQ(h.engine().state(), v1::ROLLOUT_STATE_COMPLETED);
  EXPECT_EQ(h.green_bp(), 10000u);

  // The next rollout goes from green to blue by lowering green's weight.
  Harness back(MakePlan({{25, 10s}, {100, 10s}}, 10), state::Slot::kGreen);
  back.Start();
  EXPECT_EQ(back.green_bp(), 7500u);
  auto ds = back.Tick(1s, 10, Window(100, 50));
  ASSERT_EQ(Kinds(ds), (std::vector<std::string>{"breach", "reverted"}));
  EXPECT_EQ(back.green_bp(), 10000u);  // revert = all back on green, live at start
}

TEST(RolloutEngine, LastStepBelowHundredPromotesOnCompletion) {
  Harness h(MakePlan({{20, 10s}}, 10));
  h.Start();
  std::vector<Decision> all;
  for (int i = 0; i < 10; ++i) {
    auto ds = h.Tick(1s, 10, Window(100));
    all.insert(all.end(), ds.begin(), ds.end());
  }
  ASSERT_EQ(Kinds(all), std::vector<std::string>{"completed"});
  EXPECT_EQ(h.green_bp(), 10000u);
}

TEST(RolloutEngine, ManualPromote) {
  Harness h(MakePlan({{5, 1h}, {100, 1h}}));
  h.Start();
  auto ds = h.Apply(h.engine().Promote(h.clock().Now(), "looks good", "alice"));
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"promoted"});
  EXPECT_EQ(ds[0].event.actor(), "alice");
  EXPECT_EQ(h.green_bp(), 10000u);
  EXPECT_EQ(h.engine().state(), v1::ROLLOUT_STATE_COMPLETED);
  EXPECT_THROW(h.engine().Promote(h.clock().Now(), "", "alice"), PreconditionFailed);
  EXPECT_THROW(h.engine().Pause(h.clock().Now(), "", "alice"), PreconditionFailed);
}

TEST(RolloutEngine, ManualAbortGoesBackToTheLiveSlot) {
  Harness h(MakePlan({{5, 10s}, {50, 1h}, {100, 1h}}, 10));
  h.Start();
  for (int i = 0; i < 10; ++i) h.Tick(1s, 10, Window(100));
  ASSERT_EQ(h.green_bp(), 5000u);
  auto ds = h.Apply(h.engine().Abort(h.clock().Now(), "db migration pending", "bob"));
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"aborted"});
  EXPECT_EQ(h.green_bp(), 0u);
  EXPECT_EQ(h.engine().state(), v1::ROLLOUT_STATE_ABORTED);
  EXPECT_FALSE(h.engine().active());
  EXPECT_THROW(h.engine().Abort(h.clock().Now(), "", "bob"), PreconditionFailed);
}

TEST(RolloutEngine, PauseStopsTheHoldClockAndResumeContinuesIt) {
  Harness h(MakePlan({{5, 60s}, {100, 60s}}, 10));
  h.Start();
  for (int i = 0; i < 40; ++i) h.Tick(1s, 10, Window(100));
  h.Apply(h.engine().Pause(h.clock().Now(), "lunch", "carol"));
  EXPECT_THROW(h.engine().Pause(h.clock().Now(), "", "carol"), PreconditionFailed);
  for (int i = 0; i < 600; ++i) h.Tick(1s, 10, Window(100));
  EXPECT_EQ(h.engine().step(), 0);
  EXPECT_EQ(FromProto(h.engine().ToProto(h.clock().Now()).hold_elapsed()), 40s);
  auto ds = h.Apply(h.engine().Resume(h.clock().Now(), "back", "carol"));
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"resumed"});
  for (int i = 0; i < 19; ++i) h.Tick(1s, 10, Window(100));
  EXPECT_EQ(h.engine().step(), 0);
  h.Tick(1s, 10, Window(100));
  EXPECT_EQ(h.engine().step(), 1);
  EXPECT_THROW(h.engine().Resume(h.clock().Now(), "", "carol"), PreconditionFailed);
}

// ------------------------------------------------------------ restart

TEST(RolloutEngine, RestoreFromJournalMidHoldKeepsTheRemainingHold) {
  Harness h(MakePlan({{5, 10s}, {50, 5min}, {100, 1min}}, 10));
  h.Start();
  for (int i = 0; i < 10; ++i) h.Tick(1s, 10, Window(100));
  ASSERT_EQ(h.engine().step(), 1);
  for (int i = 0; i < 100; ++i) h.Tick(1s, 10, Window(100));  // 100 s into a 300 s hold

  // The agent dies; 20 s later a new one rebuilds from the journal.
  h.clock().Advance(20s);
  auto restored = RolloutEngine::Restore(h.journal(), {});
  ASSERT_TRUE(restored.has_value());
  RolloutEngine& engine = *restored;
  EXPECT_EQ(engine.id(), "r1");
  EXPECT_EQ(engine.step(), 1);
  EXPECT_EQ(engine.state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_EQ(engine.from_slot(), state::Slot::kBlue);
  auto proto = engine.ToProto(h.clock().Now());
  EXPECT_EQ(FromProto(proto.hold_remaining()), 180s);  // 300 - 100 - 20
  EXPECT_TRUE(engine.CheckWeightAfterRestore(h.clock().Now(), {5000, 9}).empty());

  // It carries on: the rest of the hold, then the next step.
  FakeClock& clock = h.clock();
  std::uint64_t total = 5000;
  std::vector<Decision> all;
  for (int i = 0; i < 180 && all.empty(); ++i) {
    clock.Advance(1s);
    total += 10;
    Observation obs;
    obs.now = clock.Now();
    obs.control = {5000, 9};
    obs.new_slot = obs.old_slot = Window(100);
    obs.new_totals.requests = total;
    all = engine.Tick(obs);
  }
  ASSERT_EQ(Kinds(all), std::vector<std::string>{"step_advanced"});
  EXPECT_EQ(engine.step(), 2);
  EXPECT_EQ(*all[0].store_green_bp, 10000u);
  EXPECT_EQ(FromProto(all[0].event.time()) - FromProto(h.journal()[2].time()), 300s);
}

TEST(RolloutEngine, RestorePausedRolloutAndWeightMismatch) {
  Harness h(MakePlan({{5, 10s}, {50, 5min}, {100, 1min}}, 10));
  h.Start();
  for (int i = 0; i < 10; ++i) h.Tick(1s, 10, Window(100));
  h.Apply(h.engine().Pause(h.clock().Now(), "hold on", "dave"));
  auto paused = RolloutEngine::Restore(h.journal(), {});
  ASSERT_TRUE(paused);
  EXPECT_EQ(paused->state(), v1::ROLLOUT_STATE_PAUSED);
  EXPECT_EQ(paused->ToProto(h.clock().Now()).pause_reason(), "hold on");

  h.Apply(h.engine().Resume(h.clock().Now(), "", "dave"));
  auto running = RolloutEngine::Restore(h.journal(), {});
  ASSERT_TRUE(running);
  // The file holds 5% while the journal says step 1 (50%): the agent died
  // between the two; a human decides.
  auto ds = running->CheckWeightAfterRestore(h.clock().Now(), {500, 3});
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"paused"});
  EXPECT_FALSE(ds[0].store_green_bp.has_value());
  EXPECT_EQ(running->state(), v1::ROLLOUT_STATE_PAUSED);
}

TEST(RolloutEngine, RestoreEndedRollout) {
  Harness h(MakePlan({{5, 10s}, {100, 1min}}, 10));
  h.Start();
  h.Tick(1s, 100, Window(100, 100));
  ASSERT_EQ(h.engine().state(), v1::ROLLOUT_STATE_REVERTED);
  auto r = RolloutEngine::Restore(h.journal(), {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state(), v1::ROLLOUT_STATE_REVERTED);
  EXPECT_FALSE(r->active());
  EXPECT_FALSE(RolloutEngine::Restore({}, {}).has_value());
  // Events that do not begin with their rollout_started are no rollout: refused.
  std::vector<v1::Event> no_start(h.journal().begin() + 1, h.journal().end());
  EXPECT_THROW(RolloutEngine::Restore(no_start, {}), RestoreError);
}

// ------------------------------------------------------------ gates

gates::GateOutcome Outcome(bool passed, std::string detail = "") {
  gates::GateOutcome o;
  o.name = "sql";
  o.passed = passed;
  o.detail = std::move(detail);
  return o;
}

TEST(RolloutEngine, StepGatesGuardEveryStepAndAFailingGateHolds) {
  RolloutEngine::Options options;
  options.gates.checks_steps = true;
  options.gate_retry = 30s;
  Harness h(MakePlan({{5, 10s}, {100, 10s}}, 10), state::Slot::kBlue, options);
  auto ds = h.Start();
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"rollout_started"});
  EXPECT_EQ(h.green_bp(), 0u);
  auto request = h.engine().TakeGateRequest();
  ASSERT_TRUE(request);
  EXPECT_FALSE(request->before_revert);
  EXPECT_EQ(request->step, 0);
  EXPECT_FALSE(h.engine().TakeGateRequest());  // handed out once

  ds = h.Apply(h.engine().OnGateResults(request->id, {Outcome(true)}, h.clock().Now()));
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"step_advanced"});
  EXPECT_EQ(ds[0].event.gates_size(), 1);
  EXPECT_EQ(h.green_bp(), 500u);

  for (int i = 0; i < 10; ++i) h.Tick(1s, 10, Window(100));
  request = h.engine().TakeGateRequest();
  ASSERT_TRUE(request);
  EXPECT_EQ(request->step, 1);
  ds = h.Apply(
      h.engine().OnGateResults(request->id, {Outcome(false, "3 pending jobs")}, h.clock().Now()));
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"gate_failed"});
  EXPECT_NE(ds[0].event.reason().find("3 pending jobs"), std::string::npos);
  EXPECT_EQ(h.green_bp(), 500u);  // held where it is
  // Not asked again before the retry interval.
  for (int i = 0; i < 29; ++i) h.Tick(1s, 10, Window(100));
  EXPECT_FALSE(h.engine().TakeGateRequest());
  h.Tick(1s, 10, Window(100));
  request = h.engine().TakeGateRequest();
  ASSERT_TRUE(request);
  // A stale answer is ignored.
  EXPECT_TRUE(h.engine().OnGateResults(request->id + 7, {Outcome(true)}, h.clock().Now()).empty());
  ds = h.Apply(h.engine().OnGateResults(request->id, {Outcome(true)}, h.clock().Now()));
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"step_advanced"});
  EXPECT_EQ(h.green_bp(), 10000u);
}

TEST(RolloutEngine, PromotionGatesHoldTheAutomaticPromotionUntilTheyPass) {
  RolloutEngine::Options options;
  options.gates.checks_steps = true;
  options.gates.checks_promotion = true;
  options.gate_retry = 5s;
  Harness h(MakePlan({{50, 10s}}, 10), state::Slot::kBlue, options);  // the last step below 100%
  h.Start();
  auto request = h.engine().TakeGateRequest();
  ASSERT_TRUE(request);
  EXPECT_FALSE(request->before_promotion);
  h.Apply(h.engine().OnGateResults(request->id, {Outcome(true)}, h.clock().Now()));
  EXPECT_EQ(h.green_bp(), 5000u);

  for (int i = 0; i < 10; ++i) h.Tick(1s, 10, Window(100));  // the hold passes, healthy
  EXPECT_EQ(h.engine().state(), v1::ROLLOUT_STATE_RUNNING);  // not completed: gates first
  request = h.engine().TakeGateRequest();
  ASSERT_TRUE(request);
  EXPECT_TRUE(request->before_promotion);
  EXPECT_FALSE(request->before_revert);
  auto ds = h.Apply(h.engine().OnGateResults(request->id, {Outcome(false, "smoke test failed")},
                                             h.clock().Now()));
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"gate_failed"});
  EXPECT_EQ(ds[0].event.reason(), "holding before promotion: sql: smoke test failed");
  EXPECT_EQ(h.green_bp(), 5000u);
  EXPECT_EQ(h.engine().state(), v1::ROLLOUT_STATE_RUNNING);

  for (int i = 0; i < 5; ++i) h.Tick(1s, 10, Window(100));
  request = h.engine().TakeGateRequest();
  ASSERT_TRUE(request) << "asked again after the retry interval";
  EXPECT_TRUE(request->before_promotion);
  ds = h.Apply(h.engine().OnGateResults(request->id, {Outcome(true, "smoke ok")}, h.clock().Now()));
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"completed"});
  EXPECT_EQ(ds[0].event.gates_size(), 1);
  EXPECT_EQ(h.green_bp(), 10000u);
  EXPECT_EQ(h.engine().state(), v1::ROLLOUT_STATE_COMPLETED);
}

TEST(RolloutEngine, WithoutPromotionGatesTheLastHoldCompletesAtOnce) {
  RolloutEngine::Options options;
  options.gates.checks_steps = true;  // step gates only
  Harness h(MakePlan({{100, 5s}}, 10), state::Slot::kBlue, options);
  h.Start();
  auto request = h.engine().TakeGateRequest();
  h.Apply(h.engine().OnGateResults(request->id, {Outcome(true)}, h.clock().Now()));
  for (int i = 0; i < 5; ++i) h.Tick(1s, 10, Window(100));
  EXPECT_EQ(h.engine().state(), v1::ROLLOUT_STATE_COMPLETED);
  EXPECT_FALSE(h.engine().TakeGateRequest());
}

TEST(RolloutEngine, AFailingGateIsRetriedEachAnalysisWindowByDefault) {
  RolloutEngine::Options options;
  options.gates.checks_steps = true;
  Harness h(MakePlan({{5, 10s}}, 10), state::Slot::kBlue, options);  // window 10s
  h.Start();
  auto request = h.engine().TakeGateRequest();
  ASSERT_TRUE(request);
  auto ds =
      h.Apply(h.engine().OnGateResults(request->id, {Outcome(false, "lag 9s")}, h.clock().Now()));
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"gate_failed"});
  for (int i = 0; i < 9; ++i) h.Tick(1s, 10, Window(100));
  EXPECT_FALSE(h.engine().TakeGateRequest()) << "asked again before a window passed";
  h.Tick(1s, 10, Window(100));
  EXPECT_TRUE(h.engine().TakeGateRequest()) << "not asked again after one window";
}

TEST(RolloutEngine, BreachWhileStepGatesRunStillReverts) {
  RolloutEngine::Options options;
  options.gates.checks_steps = true;
  Harness h(MakePlan({{5, 1s}, {100, 10s}}, 10), state::Slot::kBlue, options);
  h.Start();
  auto first = h.engine().TakeGateRequest();
  h.Apply(h.engine().OnGateResults(first->id, {Outcome(true)}, h.clock().Now()));
  h.Tick(500ms, 100, Window(100));  // first sight of the counters
  h.Tick(500ms, 100, Window(100));
  auto pending = h.engine().TakeGateRequest();
  ASSERT_TRUE(pending);
  auto ds = h.Tick(100ms, 100, Window(100, 90));
  ASSERT_EQ(Kinds(ds), (std::vector<std::string>{"breach", "reverted"}));
  EXPECT_EQ(h.green_bp(), 0u);
  EXPECT_TRUE(h.engine().OnGateResults(pending->id, {Outcome(true)}, h.clock().Now()).empty());
}

TEST(RolloutEngine, FailingReversibilityGateTurnsARevertIntoAPause) {
  RolloutEngine::Options options;
  options.gates.checks_reverts = true;
  Harness h(MakePlan({{50, 1h}, {100, 10s}}, 10), state::Slot::kBlue, options);
  h.Start();
  h.Tick(1s, 10, Window(100));  // first sight of the counters: writes baseline
  h.writes_ = 42;
  auto ds = h.Tick(1s, 100, Window(100, 90));
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"breach"});
  EXPECT_EQ(h.green_bp(), 5000u);
  auto request = h.engine().TakeGateRequest();
  ASSERT_TRUE(request);
  EXPECT_TRUE(request->before_revert);
  EXPECT_EQ(request->writes_on_new_slot, 42u);
  ds = h.Apply(h.engine().OnGateResults(request->id, {Outcome(false, "42 writes on green")},
                                        h.clock().Now()));
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"paused"});
  EXPECT_EQ(h.green_bp(), 5000u);
  EXPECT_EQ(h.engine().state(), v1::ROLLOUT_STATE_PAUSED);
  EXPECT_NE(ds[0].event.reason().find("42 writes on green"), std::string::npos);
  EXPECT_EQ(ds[0].event.measurement().errors(), 90u);
}

TEST(RolloutEngine, PassingReversibilityGateLetsTheRevertThrough) {
  RolloutEngine::Options options;
  options.gates.checks_reverts = true;
  Harness h(MakePlan({{50, 1h}, {100, 10s}}, 10), state::Slot::kBlue, options);
  h.Start();
  h.Tick(1s, 100, Window(100, 90));
  auto request = h.engine().TakeGateRequest();
  ASSERT_TRUE(request);
  auto ds = h.Apply(h.engine().OnGateResults(request->id, {Outcome(true)}, h.clock().Now()));
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"reverted"});
  EXPECT_EQ(h.green_bp(), 0u);
}

// In a fleet a step's hold starts when every live node applied its weight,
// and a restore (another node taking over) starts it from that moment.
TEST(RolloutEngine, WithAwaitApplyTheHoldStartsWhenTheStepIsApplied) {
  RolloutEngine::Options options;
  options.await_apply = true;
  Harness h(MakePlan({{10, 60s}, {100, 60s}}), state::Slot::kBlue, options);
  h.Start();
  EXPECT_TRUE(h.engine().awaiting_apply());
  // Healthy and long past the hold: nothing counts while nodes apply.
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(h.Tick(1s, 100, Window(1000)).empty());
  EXPECT_EQ(h.engine().step(), 0);
  EXPECT_EQ(h.engine().HoldElapsed(h.clock().Now()), 0s);
  EXPECT_EQ(h.engine().step_healthy_requests(), 0u);
  auto applied = h.Apply(h.engine().StepApplied(h.clock().Now()));
  EXPECT_EQ(Kinds(applied), std::vector<std::string>{"step_applied"});
  EXPECT_TRUE(h.engine().StepApplied(h.clock().Now()).empty());  // once
  h.Tick(30s, 100, Window(1000));
  EXPECT_EQ(h.engine().HoldElapsed(h.clock().Now()), 30s);
  // Another node takes over: the hold goes on from the journaled apply.
  auto restored = RolloutEngine::Restore(h.journal(), options);
  ASSERT_TRUE(restored.has_value());
  EXPECT_FALSE(restored->awaiting_apply());
  EXPECT_EQ(restored->HoldElapsed(h.clock().Now()), 30s);
  // Restored before every node applied it: still waiting.
  auto before = h.journal();
  before.pop_back();
  EXPECT_TRUE(RolloutEngine::Restore(before, options)->awaiting_apply());
}

TEST(RolloutEngine, WithAwaitApplyABreachStillReverts) {
  RolloutEngine::Options options;
  options.await_apply = true;
  Harness h(MakePlan({{50, 60s}, {100, 60s}}), state::Slot::kBlue, options);
  h.Start();
  auto ds = h.Tick(100ms, 100, Window(100, 50));
  EXPECT_EQ(Kinds(ds), (std::vector<std::string>{"breach", "reverted"}));
  EXPECT_EQ(h.green_bp(), 0u);
}

// ---------------------------------------------------------------- judge (issue 11)

TEST(RolloutEngine, AWarningIsJournaledOnceAndActsOnNothing) {
  v1::Plan plan = MakePlan({{50, 40s}, {100, 60s}}, 10, 0.05);
  plan.mutable_analysis()->set_warn_error_rate(0.01);
  Harness h(plan);
  h.Start();
  std::vector<std::string> kinds;
  for (int i = 0; i < 20; ++i)
    for (const auto& k : Kinds(h.Tick(1s, 100, Window(100, 2)))) kinds.push_back(k);  // 2%
  ASSERT_EQ(std::count(kinds.begin(), kinds.end(), "warning"), 1) << "not repeated every tick";
  const v1::Event* warning = nullptr;
  for (const auto& e : h.journal())
    if (e.kind() == "warning") warning = &e;
  ASSERT_NE(warning, nullptr);
  EXPECT_EQ(warning->measurement().signal(), "error_rate");
  EXPECT_DOUBLE_EQ(warning->measurement().warn_error_rate(), 0.01);
  EXPECT_NE(warning->reason().find("not acting"), std::string::npos);
  EXPECT_EQ(warning->weight_before(), warning->weight_after());
  EXPECT_EQ(h.engine().state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_EQ(h.engine().ToProto(h.clock().Now()).warnings(0), "error_rate");
  // Healthy for a whole window re-arms it; the next crossing warns again.
  for (int i = 0; i < 11; ++i) h.Tick(1s, 100, Window(100, 0));
  auto ds = h.Tick(1s, 100, Window(100, 2));
  EXPECT_EQ(Kinds(ds), std::vector<std::string>{"warning"});
  EXPECT_EQ(h.engine().step(), 0);
  // Still advances on schedule: a warning never holds a step.
  for (int i = 0; i < 10 && h.engine().step() == 0; ++i) h.Tick(1s, 100, Window(100, 2));
  EXPECT_EQ(h.engine().step(), 1);
}

v1::Plan ComparePlan(std::vector<std::pair<double, Nanos>> steps, bool promote_early = false) {
  v1::Plan plan = MakePlan(std::move(steps), 10, 0.5);  // thresholds out of the way
  auto* c = plan.mutable_analysis()->mutable_compare();
  c->set_method(v1::COMPARE_METHOD_SEQUENTIAL);
  c->set_alpha(0.01);
  c->set_promote_early(promote_early);
  return plan;
}

TEST(RolloutEngine, TheSequentialComparisonRevertsWithItsStatisticAndBound) {
  Harness h(ComparePlan({{50, 1h}, {100, 1h}}));
  h.Start();
  std::vector<Decision> ds;
  for (int i = 0; i < 600 && h.engine().state() == v1::ROLLOUT_STATE_RUNNING; ++i) {
    // 100 ms ticks: 10 requests a slot; the new slot errs 4 times as often.
    h.new_totals.responses[4] += (i % 5 == 0) ? 2 : 0;
    h.old_totals.requests += 10;
    h.old_totals.responses[4] += (i % 10 == 0) ? 1 : 0;
    ds = h.Tick(100ms, 10, Window(100, 1));
  }
  ASSERT_EQ(h.engine().state(), v1::ROLLOUT_STATE_REVERTED);
  ASSERT_EQ(Kinds(ds), (std::vector<std::string>{"breach", "reverted"}));
  const auto& m = ds[1].event.measurement();
  EXPECT_EQ(m.signal(), "compare_errors");
  EXPECT_GE(m.compare_statistic(), 100.0);
  EXPECT_DOUBLE_EQ(m.compare_bound(), 100.0);
  EXPECT_GT(m.compare_new_errors(), m.compare_expected_new_errors());
  EXPECT_NE(ds[1].event.reason().find("1/alpha = 100"), std::string::npos) << ds[1].event.reason();
}

TEST(RolloutEngine, TheComparisonIsInTheJournalOfEveryDecision) {
  Harness h(ComparePlan({{50, 10s}, {100, 10s}}));
  h.Start();
  std::vector<Decision> advanced;
  for (int i = 0; i < 11 && advanced.empty(); ++i) {
    h.old_totals.requests += 100;
    advanced = h.Tick(1s, 100, Window(100));
  }
  ASSERT_EQ(Kinds(advanced), std::vector<std::string>{"step_advanced"});
  EXPECT_DOUBLE_EQ(advanced[0].event.measurement().compare_bound(), 100.0);
  EXPECT_DOUBLE_EQ(advanced[0].event.measurement().compare_statistic(), 1.0);  // no errors seen
}

TEST(RolloutEngine, PromoteEarlyAdvancesBeforeTheHoldOnlyWhenThePlanAllows) {
  for (const bool allowed : {false, true}) {
    v1::Plan plan = ComparePlan({{50, 1h}, {100, 1h}}, allowed);
    plan.mutable_analysis()->set_max_error_rate(0.05);
    Harness h(plan);
    h.Start();
    std::vector<Decision> ds;
    for (int i = 0; i < 60 && h.engine().step() == 0; ++i) {
      h.old_totals.requests += 20;
      ds = h.Tick(1s, 20, Window(100));
    }
    if (!allowed) {
      EXPECT_EQ(h.engine().step(), 0) << "the hold is an hour";
      continue;
    }
    ASSERT_EQ(h.engine().step(), 1);
    ASSERT_EQ(Kinds(ds), std::vector<std::string>{"step_advanced"});
    EXPECT_EQ(ds[0].event.measurement().signal(), "promote_early");
    EXPECT_GE(ds[0].event.measurement().promote_statistic(), 100.0);
    EXPECT_NE(ds[0].event.reason().find("early"), std::string::npos);
  }
}

v1::Plan MetricPlan(std::uint32_t failure_limit = 0) {
  v1::Plan plan = MakePlan({{50, 10s}, {100, 10s}}, 10);
  auto* m = plan.mutable_analysis()->add_metrics();
  m->set_name("green_memory");
  m->set_prometheus("http://127.0.0.1:9090");
  m->set_query("process_resident_memory_bytes");
  m->set_max(100);
  m->set_warn_max(80);
  *m->mutable_interval() = ToProtoDuration(2s);
  m->set_failure_limit(failure_limit);
  return plan;
}

// Answers every due query with `result`, as the controller would.
std::vector<Decision> Answer(Harness& h, MetricResult result) {
  std::vector<Decision> out;
  for (const auto& req : h.engine().TakeMetricRequests(h.clock().Now())) {
    result.at = h.clock().Now();
    for (auto& d : h.Apply(h.engine().OnMetricResult(req.id, result, h.clock().Now())))
      out.push_back(std::move(d));
  }
  return out;
}

TEST(RolloutEngine, MetricQueriesRunAtTheirIntervalOneAtATime) {
  Harness h(MetricPlan());
  EXPECT_TRUE(h.engine().TakeMetricRequests(h.clock().Now()).empty()) << "not before step 0";
  h.Start();
  auto first = h.engine().TakeMetricRequests(h.clock().Now());
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].index, 0);
  EXPECT_TRUE(h.engine().TakeMetricRequests(h.clock().Now() + 1h).empty()) << "one in flight";
  h.engine().OnMetricResult(first[0].id, {true, 10, "10", h.clock().Now()}, h.clock().Now());
  EXPECT_TRUE(h.engine().TakeMetricRequests(h.clock().Now() + 1s).empty());
  EXPECT_EQ(h.engine().TakeMetricRequests(h.clock().Now() + 2s).size(), 1u);
}

TEST(RolloutEngine, AMetricAboveItsMaximumReverts) {
  Harness h(MetricPlan());
  h.Start();
  h.Tick(1s, 100, Window(100));
  auto ds = Answer(h, {true, 150, "150", {}});
  ASSERT_EQ(Kinds(ds), (std::vector<std::string>{"breach", "reverted"}));
  const auto& m = ds[1].event.measurement();
  EXPECT_EQ(m.signal(), "metric");
  EXPECT_EQ(m.metric(), "green_memory");
  EXPECT_DOUBLE_EQ(m.metric_value(), 150);
  EXPECT_DOUBLE_EQ(m.metric_max(), 100);
  EXPECT_NE(ds[1].event.reason().find("above the maximum 100"), std::string::npos);
}

TEST(RolloutEngine, AMetricPastItsWarningLevelWarnsOnce) {
  Harness h(MetricPlan());
  h.Start();
  h.Tick(1s, 100, Window(100));
  EXPECT_EQ(Kinds(Answer(h, {true, 90, "90", {}})), std::vector<std::string>{"warning"});
  h.Tick(2s, 100, Window(100));
  EXPECT_TRUE(Answer(h, {true, 91, "91", {}}).empty());
  EXPECT_EQ(h.engine().state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_EQ(h.journal().back().measurement().signal(), "metric");
}

TEST(RolloutEngine, FailedOrEmptyQueriesAreInconclusiveAndPauseAfterTheLimit) {
  Harness h(MetricPlan(/*failure_limit=*/3));
  h.Start();
  for (int i = 0; i < 2; ++i) {
    h.Tick(2s, 100, Window(100));
    EXPECT_TRUE(Answer(h, {false, 0, "the query returned no series", {}}).empty());
  }
  // Inconclusive, never healthy: the hold is over but the step does not move.
  h.Tick(2s, 100, Window(100));
  auto ds = Answer(h, {false, 0, "query failed: Couldn't connect to server", {}});
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"paused"});
  EXPECT_EQ(h.engine().step(), 0);
  EXPECT_NE(ds[0].event.reason().find("3 queries in a row failed"), std::string::npos);
  EXPECT_NE(ds[0].event.reason().find("Couldn't connect"), std::string::npos);
  EXPECT_EQ(ds[0].event.measurement().signal(), "metric_failed");
}

TEST(RolloutEngine, AStepAdvancesOnlyOnAMetricMeasuredHealthySinceItBegan) {
  Harness h(MetricPlan());
  h.Start();
  for (int i = 0; i < 12; ++i) h.Tick(1s, 100, Window(100));
  EXPECT_EQ(h.engine().step(), 0) << "no measurement yet";
  EXPECT_EQ(h.journal().back().kind(), "inconclusive");
  EXPECT_NE(h.journal().back().reason().find("metric green_memory"), std::string::npos);
  Answer(h, {true, 10, "10", {}});
  auto ds = h.Tick(1s, 100, Window(100));
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"step_advanced"});
  // The new step needs a measurement of its own.
  for (int i = 0; i < 12; ++i) h.Tick(1s, 100, Window(100));
  EXPECT_EQ(h.engine().state(), v1::ROLLOUT_STATE_RUNNING);
}

TEST(RolloutEngine, StepsAreNumberedFromOneInWhatPeopleRead) {
  Harness h(MakePlan({{10, 1s}, {50, 1s}, {100, 1s}}, 10));
  auto ds = h.Start();
  ASSERT_EQ(Kinds(ds), (std::vector<std::string>{"rollout_started", "step_advanced"}));
  // The event's step is the index into the plan; its reason, for people, counts from 1.
  EXPECT_EQ(ds[1].event.step(), 0);
  EXPECT_EQ(ds[1].event.reason(), "step 1/3: 10.00% to green, hold 1s");
  h.Tick(500ms, 100, Window(100));  // the first tick sees the counters
  ds = h.Tick(500ms, 100, Window(100));
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"step_advanced"});
  EXPECT_EQ(ds[0].event.step(), 1);
  EXPECT_EQ(ds[0].event.reason(), "step 2/3: 50.00% to green, hold 1s");
  EXPECT_EQ(StepLabel(-1, 3), "step 0/3");
  EXPECT_EQ(StepLabel(2, 3), "step 3/3");
}

TEST(RolloutEngine, TheLastJudgedWindowIsShownWithItsThresholds) {
  Harness h(MakePlan({{10, 1h}, {100, 1s}}, 50, 0.05));
  h.Start();
  EXPECT_FALSE(h.engine().ToProto(h.clock().Now()).has_judged())
      << h.engine().ToProto(h.clock().Now()).judged().DebugString();
  h.Tick(1s, 100, Window(200, 4));
  auto judged = h.engine().ToProto(h.clock().Now()).judged();
  EXPECT_EQ(judged.requests(), 200u);
  EXPECT_DOUBLE_EQ(judged.error_rate(), 0.02);
  EXPECT_DOUBLE_EQ(judged.max_error_rate(), 0.05);
  EXPECT_EQ(judged.min_requests(), 50u);
  // After a revert the rollout still shows the window the decision was made on.
  auto ds = h.Tick(1s, 100, Window(200, 40));
  ASSERT_EQ(Kinds(ds), (std::vector<std::string>{"breach", "reverted"}));
  h.Tick(1s, 100, Window(200, 0));
  judged = h.engine().ToProto(h.clock().Now()).judged();
  EXPECT_DOUBLE_EQ(judged.error_rate(), 0.2);
  // And a restored rollout shows its last decision's numbers.
  auto restored = RolloutEngine::Restore(h.journal(), {});
  ASSERT_TRUE(restored);
  EXPECT_DOUBLE_EQ(restored->ToProto(h.clock().Now()).judged().error_rate(), 0.2);
}

TEST(RolloutEngine, PromoteOneStepAdvancesNowAndFromTheLastStepCompletes) {
  Harness h(MakePlan({{10, 1h}, {50, 1h}, {100, 1h}}));
  h.Start();
  auto ds = h.Apply(h.engine().PromoteStep(h.clock().Now(), "looks fine", "unix"));
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"step_advanced"});
  EXPECT_EQ(h.engine().step(), 1);
  EXPECT_EQ(h.green_bp(), 5000u);
  EXPECT_EQ(ds[0].event.actor(), "unix");
  EXPECT_NE(ds[0].event.reason().find("step 2/3"), std::string::npos) << ds[0].event.reason();
  EXPECT_NE(ds[0].event.reason().find("promoted by unix: looks fine"), std::string::npos)
      << ds[0].event.reason();
  EXPECT_EQ(h.engine().state(), v1::ROLLOUT_STATE_RUNNING);
  // The new step's hold starts now.
  EXPECT_EQ(FromProto(h.engine().ToProto(h.clock().Now()).hold_remaining()), 1h);
  h.Apply(h.engine().PromoteStep(h.clock().Now(), "", "unix"));
  EXPECT_EQ(h.engine().step(), 2);
  ds = h.Apply(h.engine().PromoteStep(h.clock().Now(), "", "unix"));
  ASSERT_EQ(Kinds(ds), std::vector<std::string>{"promoted"});
  EXPECT_EQ(h.engine().state(), v1::ROLLOUT_STATE_COMPLETED);
  EXPECT_THROW(h.engine().PromoteStep(h.clock().Now(), "", "unix"), PreconditionFailed);
  // A restart replays the operator's steps like the agent's own.
  auto restored = RolloutEngine::Restore(h.journal(), {});
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->state(), v1::ROLLOUT_STATE_COMPLETED);
}

TEST(RolloutEngine, PromoteOneStepIsRefusedWhilePaused) {
  Harness h(MakePlan({{10, 1h}, {100, 1h}}));
  h.Start();
  h.Apply(h.engine().Pause(h.clock().Now(), "", "unix"));
  try {
    h.engine().PromoteStep(h.clock().Now(), "", "unix");
    FAIL() << "a paused rollout stepped";
  } catch (const PreconditionFailed& e) {
    EXPECT_NE(std::string(e.what()).find("resume it first"), std::string::npos) << e.what();
  }
}

TEST(RolloutEngine, TheReleaseIsJournaledAndRestored) {
  Harness h(MakePlan({{10, 1h}, {100, 1h}}));
  auto ds = h.Apply(h.engine().Start(h.clock().Now(), 0, "go", "unix", "v1.3.0"));
  EXPECT_EQ(ds[0].event.release(), "v1.3.0");
  EXPECT_EQ(h.engine().ToProto(h.clock().Now()).release(), "v1.3.0");
  auto restored = RolloutEngine::Restore(h.journal(), {});
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->release(), "v1.3.0");
}

}  // namespace
}  // namespace cutover::agent
