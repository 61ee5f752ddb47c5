// The controller against a real state file (made with StateFile::Create,
// traffic simulated by adding to its counters the way the module does), a
// real file journal, a fake clock and fake gates.
#include "agent/server/controller.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "agent/core/units.hpp"
#include "agent/journal/file_journal.hpp"
#include "support/gated_journal.hpp"
#include "support/process.hpp"

namespace cutover::agent {
namespace {

using namespace std::chrono_literals;

class FakeGate final : public gates::Gate {
 public:
  FakeGate(bool* pass, bool reverts) : pass_(pass), reverts_(reverts) {}
  std::string name() const override { return "fake"; }
  gates::GateOutcome Evaluate(const gates::GateContext& context) override {
    last_context = context;
    gates::GateOutcome o;
    o.name = "fake";
    o.passed = *pass_;
    o.detail = *pass_ ? "fine" : "not fine";
    return o;
  }
  bool checks_steps() const override { return !reverts_; }
  bool checks_reverts() const override { return reverts_; }
  gates::GateContext last_context;

 private:
  bool* pass_;
  bool reverts_;
};

// A gate that holds its evaluation until the test opens the latch (a
// database that never answers, without the wait).
struct GateLatch {
  std::mutex mutex;
  std::condition_variable opened;
  bool open = false;
  std::atomic<int> waiting{0};
  void Open() {
    std::lock_guard lock(mutex);
    open = true;
    opened.notify_all();
  }
};

class BlockingGate final : public gates::Gate {
 public:
  explicit BlockingGate(std::shared_ptr<GateLatch> latch) : latch_(std::move(latch)) {}
  std::string name() const override { return "blocking"; }
  gates::GateOutcome Evaluate(const gates::GateContext&) override {
    ++latch_->waiting;
    std::unique_lock lock(latch_->mutex);
    latch_->opened.wait(lock, [&] { return latch_->open; });
    --latch_->waiting;
    gates::GateOutcome o;
    o.name = "blocking";
    o.passed = true;
    return o;
  }
  bool checks_steps() const override { return true; }

 private:
  std::shared_ptr<GateLatch> latch_;
};

// A gate that waits until its evaluation is told to give up
// (GateContext::cancel), as the http and exec gates do, or the latch opens.
class CancellableGate final : public gates::Gate {
 public:
  CancellableGate(std::shared_ptr<GateLatch> latch, std::atomic<int>* gave_up)
      : latch_(std::move(latch)), gave_up_(gave_up) {}
  std::string name() const override { return "cancellable"; }
  gates::GateOutcome Evaluate(const gates::GateContext& context) override {
    ++latch_->waiting;
    std::unique_lock lock(latch_->mutex);
    while (!latch_->open && !(context.cancel != nullptr && context.cancel->load()))
      latch_->opened.wait_for(lock, 1ms);
    --latch_->waiting;
    if (!latch_->open) ++*gave_up_;
    gates::GateOutcome o;
    o.name = "cancellable";
    o.passed = latch_->open;
    return o;
  }

 private:
  std::shared_ptr<GateLatch> latch_;
  std::atomic<int>* gave_up_;
};

// The syncs as the gates see them; it counts the reads that reached it after
// the test retired it (what would be a use after free of the agent's).
class FakeSyncs final : public SyncStatusSource {
 public:
  std::optional<v1::Sync> SyncOf(const std::string&) const override {
    ++reads;
    if (retired) ++reads_after_retired;
    return std::nullopt;
  }
  mutable std::atomic<int> reads{0};
  mutable std::atomic<int> reads_after_retired{0};
  std::atomic<bool> retired{false};
};

// A sync gate that reads the syncs once the latch opens, whatever it is told.
class LatchedSyncGate final : public gates::Gate {
 public:
  LatchedSyncGate(std::shared_ptr<GateLatch> latch, std::atomic<int>* evaluated)
      : latch_(std::move(latch)), evaluated_(evaluated) {}
  std::string name() const override { return "sync"; }
  gates::GateOutcome Evaluate(const gates::GateContext& context) override {
    ++latch_->waiting;
    {
      std::unique_lock lock(latch_->mutex);
      latch_->opened.wait(lock, [&] { return latch_->open; });
    }
    --latch_->waiting;
    if (context.sync != nullptr) context.sync->SyncOf(context.cutover);
    ++*evaluated_;
    gates::GateOutcome o;
    o.name = "sync";
    o.passed = true;
    return o;
  }

 private:
  std::shared_ptr<GateLatch> latch_;
  std::atomic<int>* evaluated_;
};

class ControllerTest : public ::testing::Test {
 protected:
  ControllerTest() : file_(state::StateFile::Create(dir_ / "cutover.state")) {
    file_.AddRecord("app", "app_blue", "app_green", 0);
    journal_ = std::make_unique<FileJournal>(dir_ / "journal");
    controller_ = MakeController();
  }

  // On the fixture's file journal, written inline; or on `journal` through `writer`.
  std::unique_ptr<Controller> MakeController(Journal* journal = nullptr,
                                             JournalWriter* writer = nullptr) {
    Controller::Dependencies deps;
    deps.state_path = dir_ / "cutover.state";
    deps.journal = journal != nullptr ? journal : journal_.get();
    deps.journal_writer = writer;
    deps.clock = &clock_;
    deps.gate_factory = [this](const google::protobuf::RepeatedPtrField<v1::Gate>& specs) {
      auto set = std::make_shared<GateSet>();
      for (const auto& spec : specs) {
        if (spec.has_sql() && spec.sql().query().empty())
          throw std::invalid_argument("gates[0].sql.query: must not be empty");
        if (spec.has_http()) {
          set->push_back(std::make_unique<BlockingGate>(latch_));
          continue;
        }
        if (spec.has_exec()) {
          set->push_back(std::make_unique<CancellableGate>(latch_, &gates_gave_up_));
          continue;
        }
        if (spec.has_sync()) {
          set->push_back(std::make_unique<LatchedSyncGate>(latch_, &sync_gates_evaluated_));
          continue;
        }
        auto gate = std::make_unique<FakeGate>(&gate_passes_, spec.has_reversibility());
        last_gate_ = gate.get();
        set->push_back(std::move(gate));
      }
      return set;
    };
    deps.new_rollout_id = [this] { return "r" + std::to_string(++ids_); };
    deps.metric_query = [this](const v1::MetricCheck& check) {
      ++metric_queries_;
      last_metric_query_ = check.query();
      return metric_answer_();
    };
    deps.metric_runner = metric_runner_;
    deps.sync = &syncs_;
    return std::make_unique<Controller>(deps, Controller::Options{});
  }

  // Adds traffic to a slot like the module's log phase does.
  void Serve(state::Slot slot, std::uint64_t ok, std::uint64_t errors = 0) {
    state::Record* r = file_.MutableRecord("app");
    auto& c = r->slots[static_cast<std::size_t>(slot)][0];
    c.scalar[state::kRequests].fetch_add(ok + errors);
    c.scalar[state::kResponses2xx].fetch_add(ok);
    c.scalar[state::kResponses5xx].fetch_add(errors);
    c.latency[state::LatencyBucket(2000)].fetch_add(ok + errors);
  }

  // Attempts that start and stop waiting for a response header, like the module counts them.
  void Waits(state::Slot slot, std::uint64_t started, std::uint64_t ended) {
    auto& c = file_.MutableRecord("app")->slots[static_cast<std::size_t>(slot)][0];
    c.ext[state::kWaitsStarted].fetch_add(started);
    c.ext[state::kWaitsEnded].fetch_add(ended);
  }

  void TickOnce() {
    clock_.Advance(100ms);
    steady_ += 100ms;
    controller_->Tick(steady_);
  }

  // One second of traffic at `rps` split by the weight in force, in 100 ms ticks.
  void RunSecond(std::uint64_t rps, bool green_fails = false) {
    for (int i = 0; i < 10; ++i) {
      const auto green_bp = file_.ReadControl("app")->weight_bp;
      const std::uint64_t n = rps / 10;
      const std::uint64_t to_green = n * green_bp / 10000;
      Serve(state::Slot::kBlue, n - to_green);
      if (green_fails) {
        Serve(state::Slot::kGreen, 0, to_green);
      } else {
        Serve(state::Slot::kGreen, to_green);
      }
      clock_.Advance(100ms);
      steady_ += 100ms;
      controller_->Tick(steady_);
    }
  }

  double GreenPercent() { return BpToPercent(file_.ReadControl("app")->weight_bp); }

  v1::StartRolloutRequest Rollout(std::vector<double> steps, Nanos hold = 2s) {
    v1::StartRolloutRequest req;
    req.set_cutover("app");
    for (double p : steps) {
      auto* s = req.mutable_plan()->add_steps();
      s->set_percent(p);
      *s->mutable_hold() = ToProtoDuration(hold);
    }
    auto* a = req.mutable_plan()->mutable_analysis();
    *a->mutable_window() = ToProtoDuration(1s);
    a->set_min_requests(20);
    a->set_max_error_rate(0.05);
    return req;
  }

  std::vector<std::string> JournalKinds() {
    std::vector<std::string> kinds;
    for (const auto& e : journal_->ReadAll()) kinds.push_back(e.kind());
    return kinds;
  }

  template <typename F>
  grpc::StatusCode CodeOf(F f, std::string* message = nullptr) {
    try {
      f();
    } catch (const ApiError& e) {
      if (message) *message = e.what();
      return e.code();
    }
    return grpc::StatusCode::OK;
  }

  test::TempDir dir_{"controller"};
  state::StateFile file_;
  std::unique_ptr<FileJournal> journal_;
  FakeClock clock_;
  SteadyTime steady_{};
  bool gate_passes_ = true;
  FakeGate* last_gate_ = nullptr;  // the last one the factory made
  std::shared_ptr<GateLatch> latch_ = std::make_shared<GateLatch>();
  std::atomic<int> gates_gave_up_{0};
  std::atomic<int> sync_gates_evaluated_{0};
  FakeSyncs syncs_;  // outlives the controller, as the agent's do
  int ids_ = 0;
  std::function<MetricResult()> metric_answer_ = [] { return MetricResult{true, 1, "1", {}}; };
  Worker* metric_runner_ = nullptr;
  std::atomic<int> metric_queries_{0};
  std::string last_metric_query_;
  std::unique_ptr<Controller> controller_;
};

TEST_F(ControllerTest, SetWeightStoresAndJournals) {
  v1::SetWeightRequest req;
  req.set_cutover("app");
  req.set_percent(12.5);
  req.set_reason("canary");
  auto resp = controller_->SetWeight(req, "alice");
  EXPECT_DOUBLE_EQ(GreenPercent(), 12.5);
  EXPECT_DOUBLE_EQ(resp.cutover().green_percent(), 12.5);
  EXPECT_DOUBLE_EQ(resp.cutover().blue_percent(), 87.5);
  EXPECT_EQ(resp.event().kind(), "weight_set");
  EXPECT_EQ(resp.event().epoch(), file_.ReadControl("app")->epoch);
  auto all = journal_->ReadAll();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].actor(), "alice");
  EXPECT_EQ(all[0].reason(), "canary");
  EXPECT_DOUBLE_EQ(all[0].weight_after(), 12.5);
}

TEST_F(ControllerTest, BadInputIsInvalidArgumentNamingTheField) {
  std::string msg;
  v1::SetWeightRequest req;
  req.set_cutover("nope");
  req.set_percent(10);
  EXPECT_EQ(CodeOf([&] { controller_->SetWeight(req, "a"); }, &msg),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(msg.rfind("cutover: unknown cutover \"nope\"", 0), 0u) << msg;
  req.set_cutover("app");
  req.set_percent(100.001);
  EXPECT_EQ(CodeOf([&] { controller_->SetWeight(req, "a"); }, &msg),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(msg.rfind("percent:", 0), 0u) << msg;
  EXPECT_EQ(CodeOf([&] { controller_->GetStatus(""); }, &msg), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(msg, "cutover: must not be empty");

  auto start = Rollout({5, 1});
  EXPECT_EQ(CodeOf([&] { controller_->StartRollout(start, "a"); }, &msg),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(msg.rfind("plan.steps[1].percent:", 0), 0u) << msg;
  start = Rollout({5, 100});
  start.mutable_plan()->add_gates()->mutable_sql();
  EXPECT_EQ(CodeOf([&] { controller_->StartRollout(start, "a"); }, &msg),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(msg, "plan.gates[0].sql.query: must not be empty");
  start = Rollout({5, 100});
  start.set_cutover("ghost");
  EXPECT_EQ(CodeOf([&] { controller_->StartRollout(start, "a"); }, &msg),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(msg.rfind("cutover:", 0), 0u) << msg;
  v1::GetHistoryRequest history;
  history.set_limit(1000000);
  EXPECT_EQ(CodeOf([&] { controller_->GetHistory(history); }, &msg),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(msg.rfind("limit:", 0), 0u);
  EXPECT_TRUE(journal_->ReadAll().empty());  // nothing was done
}

TEST_F(ControllerTest, RolloutReachesHundredPercentWithAHealthyGreen) {
  auto rollout = controller_->StartRollout(Rollout({10, 50, 100}), "ci");
  EXPECT_EQ(rollout.state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_EQ(rollout.from_slot(), v1::SLOT_BLUE);
  EXPECT_DOUBLE_EQ(GreenPercent(), 10);
  for (int s = 0;
       s < 20 && controller_->GetStatus("app").rollout().state() == v1::ROLLOUT_STATE_RUNNING; ++s)
    RunSecond(500);
  auto status = controller_->GetStatus("app");
  EXPECT_EQ(status.rollout().state(), v1::ROLLOUT_STATE_COMPLETED);
  EXPECT_DOUBLE_EQ(GreenPercent(), 100);
  EXPECT_EQ(status.live_slot(), v1::SLOT_GREEN);
  EXPECT_EQ(JournalKinds(),
            (std::vector<std::string>{"rollout_started", "step_advanced", "step_advanced",
                                      "step_advanced", "completed"}));
}

TEST_F(ControllerTest, FailingGreenIsRevertedAndSetWeightIsRefusedWhileRunning) {
  controller_->StartRollout(Rollout({25, 100}, 60s), "ci");
  v1::SetWeightRequest set;
  set.set_cutover("app");
  set.set_percent(50);
  std::string msg;
  EXPECT_EQ(CodeOf([&] { controller_->SetWeight(set, "a"); }, &msg),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(msg.find("pause or abort"), std::string::npos);
  RunSecond(400);
  ASSERT_DOUBLE_EQ(GreenPercent(), 25);
  RunSecond(400, /*green_fails=*/true);
  EXPECT_DOUBLE_EQ(GreenPercent(), 0);
  auto all = journal_->ReadAll();
  ASSERT_GE(all.size(), 2u);
  const v1::Event& reverted = all.back();
  EXPECT_EQ(reverted.kind(), "reverted");
  EXPECT_DOUBLE_EQ(reverted.weight_before(), 25);
  EXPECT_DOUBLE_EQ(reverted.weight_after(), 0);
  EXPECT_GT(reverted.measurement().error_rate(), 0.05);
  EXPECT_GE(reverted.measurement().requests(), 20u);
  EXPECT_EQ(reverted.epoch(), file_.ReadControl("app")->epoch);
  // Ended: a manual weight is allowed again.
  EXPECT_EQ(CodeOf([&] { controller_->SetWeight(set, "a"); }), grpc::StatusCode::OK);
}

TEST_F(ControllerTest, PausedRolloutAllowsSetWeightAndAbortGoesBack) {
  controller_->StartRollout(Rollout({25, 100}, 60s), "ci");
  v1::RolloutActionRequest action;
  action.set_cutover("app");
  action.set_reason("look");
  EXPECT_EQ(controller_->PauseRollout(action, "op").state(), v1::ROLLOUT_STATE_PAUSED);
  v1::SetWeightRequest set;
  set.set_cutover("app");
  set.set_percent(30);
  controller_->SetWeight(set, "op");
  EXPECT_DOUBLE_EQ(GreenPercent(), 30);
  std::string msg;
  EXPECT_EQ(CodeOf(
                [&] {
                  controller_->StartRollout(Rollout({50, 100}), "ci");
                },
                &msg),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(controller_->AbortRollout(action, "op").state(), v1::ROLLOUT_STATE_ABORTED);
  EXPECT_DOUBLE_EQ(GreenPercent(), 0);
  EXPECT_EQ(CodeOf([&] { controller_->ResumeRollout(action, "op"); }),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ControllerTest, RestartRebuildsTheRolloutAndFinishesIt) {
  controller_->StartRollout(Rollout({10, 100}, 5s), "ci");
  RunSecond(500);
  RunSecond(500);
  controller_.reset();  // the agent dies mid-hold
  EXPECT_DOUBLE_EQ(GreenPercent(), 10);
  clock_.Advance(1s);
  controller_ = MakeController();
  controller_->RestoreFromJournal();
  auto status = controller_->GetStatus("app");
  ASSERT_EQ(status.rollout().state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_EQ(status.rollout().step(), 0);
  EXPECT_EQ(FromProto(status.rollout().hold_remaining()), 2s);
  for (int s = 0;
       s < 20 && controller_->GetStatus("app").rollout().state() == v1::ROLLOUT_STATE_RUNNING; ++s)
    RunSecond(500);
  EXPECT_EQ(controller_->GetStatus("app").rollout().state(), v1::ROLLOUT_STATE_COMPLETED);
  EXPECT_DOUBLE_EQ(GreenPercent(), 100);
}

TEST_F(ControllerTest, AfterPromotionTheNextRolloutGoesFromGreenToBlue) {
  controller_->StartRollout(Rollout({50, 100}), "ci");
  v1::RolloutActionRequest action;
  action.set_cutover("app");
  controller_->PromoteRollout(action, "op");
  ASSERT_DOUBLE_EQ(GreenPercent(), 100);
  auto next = controller_->StartRollout(Rollout({20, 100}, 60s), "ci");
  EXPECT_EQ(next.from_slot(), v1::SLOT_GREEN);
  EXPECT_EQ(next.to_slot(), v1::SLOT_BLUE);
  EXPECT_DOUBLE_EQ(GreenPercent(), 80);  // 20% to blue
  RunSecond(400);
  // Blue (the new slot) fails: everything goes back to green.
  for (int i = 0; i < 10; ++i) {
    Serve(state::Slot::kBlue, 0, 20);
    clock_.Advance(100ms);
    steady_ += 100ms;
    controller_->Tick(steady_);
  }
  EXPECT_DOUBLE_EQ(GreenPercent(), 100);
  EXPECT_EQ(controller_->GetStatus("app").rollout().state(), v1::ROLLOUT_STATE_REVERTED);
}

TEST_F(ControllerTest, RestartFindingAnotherWeightInTheFilePausesForAnOperator) {
  controller_->StartRollout(Rollout({10, 100}, 60s), "ci");
  RunSecond(200);
  controller_.reset();
  file_.StoreWeight("app", 4200);  // someone (or a crash between store and journal) moved it
  controller_ = MakeController();
  controller_->RestoreFromJournal();
  RunSecond(200);
  auto rollout = controller_->GetStatus("app").rollout();
  EXPECT_EQ(rollout.state(), v1::ROLLOUT_STATE_PAUSED);
  EXPECT_NE(rollout.pause_reason().find("42.00%"), std::string::npos) << rollout.pause_reason();
  EXPECT_DOUBLE_EQ(GreenPercent(), 42);  // the agent does not guess: nothing moved
  EXPECT_EQ(journal_->ReadAll().back().kind(), "paused");
}

TEST_F(ControllerTest, FailingStepGateHoldsAndIsJournaled) {
  gate_passes_ = false;
  auto req = Rollout({10, 100}, 1s);
  req.mutable_plan()->add_gates()->mutable_sql()->set_query("select true");
  controller_->StartRollout(req, "ci");
  RunSecond(100);
  EXPECT_DOUBLE_EQ(GreenPercent(), 0);  // never advances into a failing gate
  auto history = journal_->ReadAll();
  ASSERT_EQ(history.back().kind(), "gate_failed");
  ASSERT_EQ(history.back().gates_size(), 1);
  EXPECT_EQ(history.back().gates(0).detail(), "not fine");
  gate_passes_ = true;
  for (int s = 0; s < 12; ++s) RunSecond(100);  // the retry interval is 10 s
  EXPECT_GE(GreenPercent(), 10);
}

// Issue 15 #2: 100 Preflights whose gate waited on a silent listener held
// 100 server threads for the gate's whole timeout after their callers left.
TEST_F(ControllerTest, APreflightReturnsWhenItsCallerLeavesAndFewEvaluateAtOnce) {
  v1::PreflightRequest req;
  *req.mutable_plan() = Rollout({10, 100}).plan();
  req.mutable_plan()->add_gates()->mutable_http();
  std::atomic<bool> gone{false};
  std::atomic<int> cancelled{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < Controller::kMaxPreflights; ++i)
    callers.emplace_back([&] {
      if (CodeOf([&] { controller_->Preflight(req, [&] { return gone.load(); }); }) ==
          grpc::StatusCode::CANCELLED)
        ++cancelled;
    });
  ASSERT_TRUE(test::WaitFor([&] { return latch_->waiting == Controller::kMaxPreflights; }));
  gone = true;
  EXPECT_TRUE(test::WaitFor([&] { return cancelled == Controller::kMaxPreflights; }));
  // Their gates are still evaluating: one more is refused, not queued.
  std::string message;
  EXPECT_EQ(CodeOf([&] { controller_->Preflight(req); }, &message),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(message.find("try again"), std::string::npos) << message;
  latch_->Open();
  for (auto& caller : callers) caller.join();
  EXPECT_TRUE(test::WaitFor([&] {
    return CodeOf([&] { EXPECT_TRUE(controller_->Preflight(req).go()); }) == grpc::StatusCode::OK;
  }));
}

// Issue 15 #2: a caller that left freed its thread, but its gates went on to
// their timeouts (up to 10 minutes each), holding one of the few evaluations.
TEST_F(ControllerTest, APreflightTellsItsGatesToGiveUpWhenItsCallerLeaves) {
  v1::PreflightRequest req;
  *req.mutable_plan() = Rollout({10, 100}).plan();
  req.mutable_plan()->add_gates()->mutable_exec()->add_command("/bin/true");
  std::atomic<bool> gone{false};
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::thread caller(
      [&] { code = CodeOf([&] { controller_->Preflight(req, [&] { return gone.load(); }); }); });
  ASSERT_TRUE(test::WaitFor([&] { return latch_->waiting == 1; }));
  gone = true;
  caller.join();
  EXPECT_EQ(code, grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(test::WaitFor([&] { return gates_gave_up_ == 1; }));
}

// Issue 15 #2: a Preflight's thread outlived the controller holding the
// agent's syncs by a raw pointer: a gate that ended after the agent stopped
// read them after they were gone.
TEST_F(ControllerTest, APreflightThatOutlivesTheControllerNeverReachesTheSyncs) {
  v1::PreflightRequest req;
  *req.mutable_plan() = Rollout({10, 100}).plan();
  req.mutable_plan()->add_gates()->mutable_sync();
  std::atomic<bool> gone{false};
  std::thread caller(
      [&] { CodeOf([&] { controller_->Preflight(req, [&] { return gone.load(); }); }); });
  ASSERT_TRUE(test::WaitFor([&] { return latch_->waiting == 1; }));
  gone = true;
  caller.join();
  controller_.reset();  // the agent stops; its syncs go next
  syncs_.retired = true;
  latch_->Open();  // the gate ends only now, and reads the syncs it was given
  ASSERT_TRUE(test::WaitFor([&] { return sync_gates_evaluated_ == 1; }));
  EXPECT_EQ(syncs_.reads_after_retired, 0);
}

TEST_F(ControllerTest, APreflightsSyncGateReadsTheAgentsSyncs) {
  v1::PreflightRequest req;
  *req.mutable_plan() = Rollout({10, 100}).plan();
  req.mutable_plan()->add_gates()->mutable_sync();
  latch_->Open();
  EXPECT_TRUE(controller_->Preflight(req).go());
  EXPECT_EQ(syncs_.reads, 1);
}

// Issue 15 #19: the reversibility gate of a Preflight always saw 0 writes,
// whatever the rollout's new slot had answered.
TEST_F(ControllerTest, PreflightTellsGatesTheWritesOfTheRolloutsNewSlot) {
  controller_->StartRollout(Rollout({50, 100}, 60s), "a");
  RunSecond(100);
  file_.MutableRecord("app")
      ->slots[static_cast<std::size_t>(state::Slot::kGreen)][0]
      .scalar[state::kWrites]
      .fetch_add(7);
  TickOnce();
  v1::PreflightRequest req;
  req.set_cutover("app");
  *req.mutable_plan() = Rollout({10, 100}).plan();
  req.mutable_plan()->add_gates()->mutable_reversibility();
  controller_->Preflight(req);
  ASSERT_NE(last_gate_, nullptr);
  EXPECT_EQ(last_gate_->last_context.writes_on_new_slot, 7u);
}

// Issue 15 #9: a state file truncated under a running agent killed it with
// SIGBUS at its next read of the mapping.
TEST_F(ControllerTest, AStateFileTruncatedInPlaceIsRefusedNotRead) {
  TickOnce();
  ASSERT_EQ(::truncate((dir_ / "cutover.state").c_str(), 4096), 0);
  TickOnce();  // no SIGBUS
  std::string message;
  EXPECT_EQ(CodeOf([&] { controller_->GetStatus("app"); }, &message),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(message.find(dir_ / "cutover.state"), std::string::npos) << message;
}

TEST_F(ControllerTest, PreflightEvaluatesEveryGate) {
  v1::PreflightRequest req;
  *req.mutable_plan() = Rollout({10, 100}).plan();
  req.mutable_plan()->add_gates()->mutable_sql()->set_query("select true");
  req.mutable_plan()->add_gates()->mutable_reversibility();
  auto go = controller_->Preflight(req);
  EXPECT_TRUE(go.go());
  EXPECT_EQ(go.gates_size(), 2);
  gate_passes_ = false;
  auto no_go = controller_->Preflight(req);
  EXPECT_FALSE(no_go.go());
  EXPECT_FALSE(no_go.gates(0).passed());
}

// ---------------------------------------------------------------- judge (issue 11)

// The issue's second finding: a rollout started within one window of a
// revert was reverted 15 ms after it began, on the errors that had caused
// the earlier revert. Its windows now start after its own weight reached
// nginx.
TEST_F(ControllerTest, ARolloutStartedRightAfterARevertIsNotRevertedOnTheOldTraffic) {
  auto req = Rollout({25, 100}, 3s);
  *req.mutable_plan()->mutable_analysis()->mutable_window() = ToProtoDuration(10s);
  controller_->StartRollout(req, "ci");
  RunSecond(400);
  RunSecond(400, /*green_fails=*/true);
  ASSERT_EQ(controller_->GetStatus("app").rollout().state(), v1::ROLLOUT_STATE_REVERTED);
  // At once, with the failing second well inside the new window.
  controller_->StartRollout(req, "ci");
  ASSERT_DOUBLE_EQ(GreenPercent(), 25);
  for (int i = 0; i < 4; ++i) RunSecond(400);
  const auto status = controller_->GetStatus("app");
  EXPECT_NE(status.rollout().state(), v1::ROLLOUT_STATE_REVERTED)
      << status.rollout().last_decision();
  EXPECT_EQ(status.rollout().step(), 1) << "judged healthy on its own traffic, it moved on";
  EXPECT_TRUE(status.rollout().has_evidence_since());
  for (const auto& e : journal_->ReadAll()) {
    if (e.rollout_id() == "r2") {
      EXPECT_NE(e.kind(), "reverted") << e.reason();
    }
  }
}

TEST_F(ControllerTest, AStepIsJudgedOnlyOnTrafficSinceItsWeightReachedNginx) {
  auto req = Rollout({10, 50, 100}, 2s);
  *req.mutable_plan()->mutable_analysis()->mutable_window() = ToProtoDuration(30s);
  controller_->StartRollout(req, "ci");
  // At 10% green errs 2% of the time (under the 5% maximum); at 50% never.
  for (int i = 0; i < 60 && GreenPercent() < 100; ++i) {
    const bool first_step = GreenPercent() < 50;
    Serve(state::Slot::kBlue, 40);
    Serve(state::Slot::kGreen, first_step ? 49 : 40, first_step ? 1 : 0);
    TickOnce();
  }
  ASSERT_DOUBLE_EQ(GreenPercent(), 100);
  const auto events = journal_->ReadAll();
  const v1::Event& advanced = events.back();
  ASSERT_EQ(advanced.kind(), "step_advanced");
  ASSERT_EQ(advanced.step(), 2);
  // Step 1 earned the move on its own traffic: the 30 s window does not
  // reach back into step 0's errors.
  EXPECT_EQ(advanced.measurement().errors(), 0u);
  EXPECT_GT(advanced.measurement().requests(), 0u);
  EXPECT_TRUE(advanced.measurement().has_evidence_since());
}

// A green that stops answering: nothing completes, so neither 5xx nor the
// latency histogram ever see it; the waits do.
TEST_F(ControllerTest, AGreenThatStopsAnsweringIsRevertedOnItsStalls) {
  auto req = Rollout({50, 100}, 1h);
  *req.mutable_plan()->mutable_analysis()->mutable_max_p99() = ToProtoDuration(1s);
  *req.mutable_plan()->mutable_analysis()->mutable_window() = ToProtoDuration(10s);
  req.mutable_plan()->mutable_analysis()->set_min_requests(1000);  // never reached: no matter
  controller_->StartRollout(req, "ci");
  RunSecond(200);
  ASSERT_DOUBLE_EQ(GreenPercent(), 50);
  // Green freezes: 10 attempts a tick start waiting and none ends.
  int ticks = 0;
  while (GreenPercent() > 0 && ticks < 50) {
    Waits(state::Slot::kGreen, 10, 0);
    Serve(state::Slot::kBlue, 10);
    TickOnce();
    ++ticks;
  }
  ASSERT_DOUBLE_EQ(GreenPercent(), 0);
  EXPECT_GE(ticks, 10) << "not before the requests waited max_p99";
  EXPECT_LE(ticks, 12) << "within a tick or two of max_p99";
  const v1::Event reverted = journal_->ReadAll().back();
  EXPECT_EQ(reverted.kind(), "reverted");
  EXPECT_EQ(reverted.measurement().signal(), "stall");
  EXPECT_GE(reverted.measurement().stalled(), 3u);
  EXPECT_GE(reverted.measurement().p99_ms(), 1000.0);
}

TEST_F(ControllerTest, AMetricOverItsMaximumReverts) {
  auto req = Rollout({50, 100}, 1h);
  auto* m = req.mutable_plan()->mutable_analysis()->add_metrics();
  m->set_name("green_memory");
  m->set_prometheus("http://127.0.0.1:9");
  m->set_query("sum(rss)");
  m->set_max(100);
  controller_->StartRollout(req, "ci");
  RunSecond(200);
  EXPECT_GE(metric_queries_.load(), 1);
  EXPECT_EQ(last_metric_query_, "sum(rss)");
  EXPECT_DOUBLE_EQ(GreenPercent(), 50);
  metric_answer_ = [] { return MetricResult{true, 250, "250", {}}; };
  for (int i = 0; i < 11; ++i) RunSecond(200);  // the next query, 10 s later
  EXPECT_DOUBLE_EQ(GreenPercent(), 0);
  const v1::Event reverted = journal_->ReadAll().back();
  EXPECT_EQ(reverted.measurement().signal(), "metric");
  EXPECT_DOUBLE_EQ(reverted.measurement().metric_value(), 250);
  const auto metrics = controller_->GetStatus("app").rollout().metrics();
  ASSERT_EQ(metrics.size(), 1);
  EXPECT_DOUBLE_EQ(metrics[0].value(), 250);
}

// Queries run on their own thread: a Prometheus that hangs holds no tick.
TEST_F(ControllerTest, ASlowMetricQueryNeverDelaysARevert) {
  Worker worker;
  metric_runner_ = &worker;
  controller_ = MakeController();
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  metric_answer_ = [&] {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });
    return MetricResult{true, 1, "1", {}};
  };
  auto req = Rollout({50, 100}, 1h);
  auto* m = req.mutable_plan()->mutable_analysis()->add_metrics();
  m->set_name("slow");
  m->set_prometheus("http://127.0.0.1:9");
  m->set_query("up");
  m->set_min(1);
  controller_->StartRollout(req, "ci");
  RunSecond(200);
  RunSecond(200, /*green_fails=*/true);
  EXPECT_DOUBLE_EQ(GreenPercent(), 0) << "reverted while the query still hangs";
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  worker.Stop();
}

TEST_F(ControllerTest, AModuleThatPredatesTheWaitingCountersIsSaid) {
  {
    // Revision 0: what a module older than the waiting counters writes.
    const int fd = ::open((dir_ / "cutover.state").c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    const std::uint32_t zero = 0;
    ASSERT_EQ(::pwrite(fd, &zero, sizeof zero, offsetof(state::FileHeader, revision)),
              static_cast<ssize_t>(sizeof zero));
    ::close(fd);
  }
  TickOnce();
  EXPECT_FALSE(controller_->GetStatus("app").green().waits_counted());
  controller_->StartRollout(Rollout({50, 100}), "ci");
  const auto events = journal_->ReadAll();
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[1].kind(), "warning");
  EXPECT_NE(events[1].reason().find("revision 0"), std::string::npos);
}

TEST_F(ControllerTest, StatusShowsTheWaits) {
  Waits(state::Slot::kGreen, 7, 4);
  TickOnce();
  const auto green = controller_->GetStatus("app").green();
  EXPECT_TRUE(green.waits_counted());
  EXPECT_EQ(green.waiting(), 3u);
  EXPECT_EQ(green.waits_started(), 7u);
  EXPECT_EQ(green.waits_ended(), 4u);
}

v1::RolloutActionRequest Action(const std::string& cutover, const std::string& reason = "") {
  v1::RolloutActionRequest r;
  r.set_cutover(cutover);
  r.set_reason(reason);
  return r;
}

TEST_F(ControllerTest, RetryStartsTheLastPlanAgainAfterARevert) {
  auto start = Rollout({10, 100}, 1h);
  start.set_release("v1.3.0");
  const auto first = controller_->StartRollout(start, "ci");
  // Not while it runs, and there is nothing to retry before any rollout.
  std::string msg;
  EXPECT_EQ(CodeOf([&] { controller_->RetryRollout(Action("app"), "ci"); }, &msg),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(msg.find("only a reverted or aborted rollout"), std::string::npos) << msg;
  for (int i = 0;
       i < 5 && controller_->GetStatus("app").rollout().state() == v1::ROLLOUT_STATE_RUNNING; ++i)
    RunSecond(500, /*green_fails=*/true);
  ASSERT_EQ(controller_->GetStatus("app").rollout().state(), v1::ROLLOUT_STATE_REVERTED);
  ASSERT_DOUBLE_EQ(GreenPercent(), 0);

  const auto retry = controller_->RetryRollout(Action("app", "fixed the query"), "unix");
  EXPECT_NE(retry.id(), first.id());
  EXPECT_EQ(retry.state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_EQ(retry.plan().steps_size(), 2);
  EXPECT_EQ(retry.release(), "v1.3.0");
  EXPECT_DOUBLE_EQ(GreenPercent(), 10);
  const auto events = journal_->ReadAll();
  const auto started = std::find_if(events.rbegin(), events.rend(), [](const v1::Event& e) {
    return e.kind() == "rollout_started";
  });
  ASSERT_NE(started, events.rend());
  EXPECT_EQ(started->reason(), "retry of " + first.id() + ": fixed the query");
  EXPECT_EQ(started->actor(), "unix");

  // Aborted, then retried under another release name.
  controller_->AbortRollout(Action("app"), "unix");
  auto renamed = Action("app");
  renamed.set_release("v1.3.1");
  EXPECT_EQ(controller_->RetryRollout(renamed, "unix").release(), "v1.3.1");
  // A completed rollout is not retried: its slot is live now.
  controller_->PromoteRollout(Action("app"), "unix");
  EXPECT_EQ(CodeOf([&] { controller_->RetryRollout(Action("app"), "ci"); }, &msg),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(msg.find("start a new rollout"), std::string::npos) << msg;
}

TEST_F(ControllerTest, PromoteOneStepMovesOneStep) {
  controller_->StartRollout(Rollout({10, 50, 100}, 1h), "ci");
  auto one = Action("app");
  one.set_one_step(true);
  auto r = controller_->PromoteRollout(one, "unix");
  EXPECT_EQ(r.step(), 1);
  EXPECT_EQ(r.state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_DOUBLE_EQ(GreenPercent(), 50);
  // Without one_step, promote still goes all the way.
  r = controller_->PromoteRollout(Action("app"), "unix");
  EXPECT_EQ(r.state(), v1::ROLLOUT_STATE_COMPLETED);
  EXPECT_DOUBLE_EQ(GreenPercent(), 100);
}

TEST_F(ControllerTest, ReleasesFollowTheSlotsAndSurviveARestart) {
  auto start = Rollout({100}, 0s);
  start.set_release("v2");
  controller_->StartRollout(start, "ci");
  for (int i = 0; i < 3; ++i) RunSecond(500);
  auto status = controller_->GetStatus("app");
  ASSERT_EQ(status.rollout().state(), v1::ROLLOUT_STATE_COMPLETED) << status.DebugString();
  EXPECT_EQ(status.green().release(), "v2");
  EXPECT_EQ(status.blue().release(), "");
  // The next release goes to blue, the idle slot.
  start.set_release("v3");
  controller_->StartRollout(start, "ci");
  status = controller_->GetStatus("app");
  EXPECT_EQ(status.blue().release(), "v3");
  EXPECT_EQ(status.green().release(), "v2");
  // A restarted agent knows them from the journal.
  controller_ = MakeController();
  controller_->RestoreFromJournal();
  status = controller_->GetStatus("app");
  EXPECT_EQ(status.blue().release(), "v3");
  EXPECT_EQ(status.green().release(), "v2");
  // A bad release name is refused, naming the field.
  controller_->AbortRollout(Action("app"), "unix");
  start.set_release(std::string(65, 'x'));
  std::string msg;
  EXPECT_EQ(CodeOf([&] { controller_->StartRollout(start, "ci"); }, &msg),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(msg.rfind("release:", 0), 0u) << msg;
}

TEST_F(ControllerTest, PeerStatesAreStoredJournaledAndShown) {
  state::Record* record = file_.MutableRecord("app");
  ASSERT_GE(state::FindOrClaimPeer(record, state::Slot::kGreen, "10.0.0.21:8000", 1, 0), 0);
  ASSERT_GE(state::FindOrClaimPeer(record, state::Slot::kGreen, "10.0.0.22:8000", 1, 0), 0);
  v1::SetPeerStateRequest req;
  req.set_cutover("app");
  req.set_slot(v1::SLOT_GREEN);
  req.set_address("10.0.0.22:8000");
  req.set_state(v1::PEER_STATE_DRAIN);
  req.set_reason("slow disk");
  const auto resp = controller_->SetPeerState(req, "unix");
  EXPECT_EQ(state::PeerAdminOf(
                record->peer_admin[state::FindPeer(record, state::Slot::kGreen, "10.0.0.22:8000")]
                    .load()),
            state::PeerAdmin::kDrain);
  EXPECT_EQ(resp.event().kind(), "peer_state_set");
  EXPECT_EQ(resp.event().peer().before(), v1::PEER_STATE_UP);
  EXPECT_EQ(resp.event().peer().after(), v1::PEER_STATE_DRAIN);
  EXPECT_EQ(resp.event().reason(), "green peer 10.0.0.22:8000: up -> drain (slow disk)");
  int drained = 0;
  for (const auto& p : resp.cutover().peers())
    drained += p.address() == "10.0.0.22:8000" && p.state() == v1::PEER_STATE_DRAIN;
  EXPECT_EQ(drained, 1);
  ASSERT_EQ(JournalKinds(), std::vector<std::string>{"peer_state_set"});

  // Unknown peers and slots name the field and list what there is.
  std::string msg;
  req.set_address("10.0.0.99:8000");
  EXPECT_EQ(CodeOf([&] { controller_->SetPeerState(req, "unix"); }, &msg),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(msg.find("address: cutover \"app\" has no green peer \"10.0.0.99:8000\""),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("10.0.0.21:8000, 10.0.0.22:8000"), std::string::npos) << msg;
  req.set_address("10.0.0.21:8000");
  req.set_slot(v1::SLOT_UNSPECIFIED);
  EXPECT_EQ(CodeOf([&] { controller_->SetPeerState(req, "unix"); }, &msg),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(msg.rfind("slot:", 0), 0u) << msg;
  req.set_slot(v1::SLOT_GREEN);
  req.set_state(v1::PEER_STATE_UNSPECIFIED);
  EXPECT_EQ(CodeOf([&] { controller_->SetPeerState(req, "unix"); }, &msg),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(msg.rfind("state:", 0), 0u) << msg;
  EXPECT_EQ(journal_->ReadAll().size(), 1u);
}

TEST_F(ControllerTest, HistoryOfAnUnknownCutoverIsInvalid) {
  v1::GetHistoryRequest history;
  history.set_cutover("nope");
  std::string msg;
  EXPECT_EQ(CodeOf([&] { controller_->GetHistory(history); }, &msg),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(msg.rfind("cutover: unknown cutover \"nope\"", 0), 0u) << msg;
  // A known cutover without events has an empty history.
  history.set_cutover("app");
  EXPECT_TRUE(controller_->GetHistory(history).empty());
}

}  // namespace
}  // namespace cutover::agent

namespace cutover::agent {
namespace {

// Issue 15 #3: the journal was written under the controller's lock, so a
// journal that stalled (an fsync, a database, a reader holding it) stalled
// every tick: a failing green stayed in. A revert never waits for it now.
TEST_F(ControllerTest, ARevertNeverWaitsForTheJournal) {
  test::GatedJournal journal;
  JournalWriter writer(journal);
  controller_ = MakeController(&journal, &writer);
  auto start = Rollout({10, 50}, 1s);
  *start.mutable_plan()->mutable_steps(1)->mutable_hold() = ToProtoDuration(1h);
  controller_->StartRollout(start, "alice");
  ASSERT_DOUBLE_EQ(GreenPercent(), 10);
  journal.Close();  // every write from now on hangs
  std::atomic<bool> fail{false}, stop{false};
  std::thread ticks([&] {
    // Healthy (step 1 is reached; its step_advanced is not written), then failing.
    while (!fail && !stop) RunSecond(200);
    while (!stop) RunSecond(200, /*green_fails=*/true);
  });
  const bool advanced = test::WaitFor([&] { return GreenPercent() == 50; });
  fail = true;
  const bool reverted = advanced && test::WaitFor([&] { return GreenPercent() == 0; });
  stop = true;
  journal.Open();
  ticks.join();
  EXPECT_TRUE(advanced);
  EXPECT_TRUE(reverted) << "green at " << GreenPercent() << "% while the journal hung";
  EXPECT_TRUE(writer.Stop(10s));
  std::vector<std::string> kinds;
  for (const auto& e : journal.ReadAll()) kinds.push_back(e.kind());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "reverted"), kinds.end());
}

// Issue 15 #8: weight_before was the engine's idea of the weight, stale
// after a SetWeight made while the rollout was paused.
TEST_F(ControllerTest, JournaledWeightsAreTheFilesAfterASetWeightWhilePaused) {
  controller_->StartRollout(Rollout({10, 50}, 1h), "alice");
  v1::RolloutActionRequest action;
  action.set_cutover("app");
  controller_->PauseRollout(action, "alice");
  v1::SetWeightRequest weight;
  weight.set_cutover("app");
  weight.set_percent(30);
  controller_->SetWeight(weight, "alice");
  controller_->AbortRollout(action, "alice");  // no tick in between
  const auto all = journal_->ReadAll();
  ASSERT_EQ(all.back().kind(), "aborted");
  EXPECT_DOUBLE_EQ(all.back().weight_before(), 30);
  EXPECT_DOUBLE_EQ(all.back().weight_after(), 0);
}

// The lines of a journal: a rollout of a two-step plan, then `tail`.
void WriteJournal(const std::string& dir, const std::string& tail) {
  std::filesystem::create_directories(dir);
  test::WriteFile(
      dir + "/journal.jsonl",
      R"({"sequence":"1","time":"2026-01-01T00:00:00Z","cutover":"app","kind":"rollout_started",)"
      R"("rollout_id":"r1","step":-1,"plan":{"steps":[{"percent":10,"hold":"60s"},)"
      R"({"percent":100,"hold":"60s"}],"analysis":{"window":"10s"}},"from_slot":"SLOT_BLUE",)"
      R"("to_slot":"SLOT_GREEN"})"
      "\n" +
          tail);
}

// Issue 15 #6 and #21: a tampered line (step 99 of a two-step plan) made the
// agent segfault at the next GetStatus; journaled times and durations
// overflowed when converted. Each is refused, naming its line.
TEST_F(ControllerTest, RestoreRefusesATamperedJournalNamingTheLine) {
  const std::string step99 =
      R"({"sequence":"2","time":"2026-01-01T00:00:01Z","cutover":"app","kind":"step_advanced",)"
      R"("rollout_id":"r1","step":99,"weight_after":10})"
      "\n";
  const std::string far_future =
      R"({"sequence":"2","time":"9999-12-31T23:59:59Z","cutover":"app","kind":"paused",)"
      R"("rollout_id":"r1","step":0})"
      "\n";
  struct Case {
    std::string journal;
    std::string says;
  };
  const std::vector<Case> cases = {
      {step99,
       "journal.jsonl:2: step_advanced.step: 99 is not a step of rollout r1's plan (2 steps)"},
      {far_future, "journal.jsonl:2: paused.time: must be a time from 1970 to 2200"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string dir = dir_ / ("tampered" + std::to_string(i));
    WriteJournal(dir, cases[i].journal);
    FileJournal journal(dir);
    auto controller = MakeController(&journal);
    try {
      controller->RestoreFromJournal();
      ADD_FAILURE() << "restored from " << cases[i].journal;
    } catch (const JournalError& e) {
      EXPECT_NE(std::string(e.what()).find(cases[i].says), std::string::npos) << e.what();
    }
  }
  // A plan whose window overflows nanoseconds.
  const std::string dir = dir_ / "window";
  std::filesystem::create_directories(dir);
  test::WriteFile(
      dir + "/journal.jsonl",
      R"({"sequence":"1","time":"2026-01-01T00:00:00Z","cutover":"app","kind":"rollout_started",)"
      R"("rollout_id":"r1","step":-1,"plan":{"steps":[{"percent":10,"hold":"60s"}],)"
      R"("analysis":{"window":"315576000000s"}},"from_slot":"SLOT_BLUE"})"
      "\n");
  FileJournal journal(dir);
  auto controller = MakeController(&journal);
  try {
    controller->RestoreFromJournal();
    ADD_FAILURE() << "restored a window of 315576000000 s";
  } catch (const JournalError& e) {
    EXPECT_NE(
        std::string(e.what()).find("journal.jsonl:1: plan.analysis.window: is longer than 3650d"),
        std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace cutover::agent
