#include "agent/fleet/local_guard.hpp"

#include <gtest/gtest.h>

#include "cutover/state_file.hpp"
#include "support/agent.hpp"
#include "support/process.hpp"

namespace cutover::fleet {
namespace {

using namespace std::chrono_literals;
using state::Slot;

class LocalGuardTest : public ::testing::Test {
 protected:
  LocalGuardTest() : path_(test::MakeAppStateFile(dir_)), weights_(path_) {
    state::StateFile::Open(path_).StoreWeight("app", 5000);
    rollout_.set_id("r1");
    rollout_.set_cutover("app");
    rollout_.set_state(v1::ROLLOUT_STATE_RUNNING);
    rollout_.set_step(0);
    rollout_.set_from_slot(v1::SLOT_BLUE);
    rollout_.set_to_slot(v1::SLOT_GREEN);
    auto* step = rollout_.mutable_plan()->add_steps();
    step->set_percent(50);
    auto* a = rollout_.mutable_plan()->mutable_analysis();
    a->mutable_window()->set_seconds(1);
    a->set_min_requests(20);
    a->set_max_error_rate(0.05);
  }

  // One tick: green served `served` more requests, `failed` of them 5xx.
  void Tick(std::uint64_t served, std::uint64_t failed) {
    green_.requests += served;
    green_.responses[1] += served - failed;
    green_.responses[4] += failed;
    blue_.requests += served;
    blue_.responses[1] += served;
    state::RecordSnapshot r;
    r.name = "app";
    r.control = state::StateFile::Open(path_).ReadControl("app").value();
    r.slots[static_cast<std::size_t>(Slot::kGreen)] = green_;
    r.slots[static_cast<std::size_t>(Slot::kBlue)] = blue_;
    at_ += 100ms;
    clock_.Advance(100ms);
    guard_.Observe(at_, clock_.Now(), {r}, {{"app", rollout_}});
  }

  std::uint32_t Weight() { return state::StateFile::Open(path_).ReadControl("app")->weight_bp; }

  test::TempDir dir_{"guard"};
  std::string path_;
  LocalWeights weights_;
  agent::FakeClock clock_;
  std::vector<std::vector<v1::Event>> handed_;
  LocalGuard guard_{"node-c", weights_, clock_,
                    [this](std::vector<v1::Event> e) { handed_.push_back(std::move(e)); }};
  v1::Rollout rollout_;
  state::SlotSnapshot green_, blue_;
  agent::SteadyTime at_{std::chrono::seconds(1)};
};

TEST_F(LocalGuardTest, ABreachHereRevertsHereAndHandsTheRevertToTheFleet) {
  for (int i = 0; i < 15; ++i) Tick(10, 0);
  EXPECT_EQ(Weight(), 5000u);
  EXPECT_TRUE(handed_.empty());
  for (int i = 0; i < 10 && Weight() != 0; ++i) Tick(10, 10);
  EXPECT_EQ(Weight(), 0u);  // stored into the state file, without anyone else
  ASSERT_EQ(handed_.size(), 1u);
  ASSERT_EQ(handed_[0].size(), 2u);
  EXPECT_EQ(handed_[0][0].kind(), "breach");
  const v1::Event& reverted = handed_[0][1];
  EXPECT_EQ(reverted.kind(), "reverted");
  EXPECT_EQ(reverted.rollout_id(), "r1");
  EXPECT_DOUBLE_EQ(reverted.weight_before(), 50);
  EXPECT_DOUBLE_EQ(reverted.weight_after(), 0);
  EXPECT_NE(reverted.reason().find("node-c"), std::string::npos) << reverted.reason();
  EXPECT_GT(reverted.measurement().error_rate(), 0.05);
  // Once is enough: the rollout is this guard's to revert only once.
  for (int i = 0; i < 5; ++i) Tick(10, 10);
  EXPECT_EQ(handed_.size(), 1u);
}

TEST_F(LocalGuardTest, ANewRolloutIsJudgedOnlyOnTrafficSinceItsWeightReachedThisNode) {
  for (int i = 0; i < 10 && Weight() != 0; ++i) Tick(10, 10);
  ASSERT_EQ(Weight(), 0u);
  ASSERT_EQ(handed_.size(), 1u);
  // The next rollout at once: its weight is stored and green is healthy
  // again, while the window still holds the failures of the one before.
  rollout_.set_id("r2");
  state::StateFile::Open(path_).StoreWeight("app", 5000);
  for (int i = 0; i < 30; ++i) Tick(10, 0);
  EXPECT_EQ(Weight(), 5000u);
  EXPECT_EQ(handed_.size(), 1u);
}

TEST_F(LocalGuardTest, HealthyOrSilentWindowsNeverRevert) {
  for (int i = 0; i < 30; ++i) Tick(10, 0);
  for (int i = 0; i < 30; ++i) Tick(0, 0);  // silence is inconclusive, not a breach
  EXPECT_EQ(Weight(), 5000u);
  EXPECT_TRUE(handed_.empty());
}

TEST_F(LocalGuardTest, PlansThatMustAskBeforeRevertingAreLeftToTheDecider) {
  rollout_.mutable_plan()->set_on_breach(v1::BREACH_ACTION_PAUSE);
  for (int i = 0; i < 20; ++i) Tick(10, 10);
  rollout_.mutable_plan()->set_on_breach(v1::BREACH_ACTION_REVERT);
  rollout_.mutable_plan()->add_gates()->mutable_reversibility()->set_max_writes(0);
  for (int i = 0; i < 20; ++i) Tick(10, 10);
  EXPECT_EQ(Weight(), 5000u);
  EXPECT_TRUE(handed_.empty());
}

TEST_F(LocalGuardTest, OnlyARunningRolloutPastItsFirstStepIsGuarded) {
  rollout_.set_state(v1::ROLLOUT_STATE_PAUSED);
  for (int i = 0; i < 20; ++i) Tick(10, 10);
  rollout_.set_state(v1::ROLLOUT_STATE_RUNNING);
  rollout_.set_step(-1);
  for (int i = 0; i < 20; ++i) Tick(10, 10);
  EXPECT_TRUE(handed_.empty());
}

TEST_F(LocalGuardTest, TheFailureThresholdCountsDistinctWindows) {
  rollout_.mutable_plan()->mutable_analysis()->set_failure_threshold(2);
  for (int i = 0; i < 15; ++i) Tick(10, 0);
  for (int i = 0; i < 9; ++i) Tick(10, 10);  // under a window of failing ticks: one failure
  EXPECT_EQ(Weight(), 5000u);
  for (int i = 0; i < 3; ++i) Tick(10, 10);  // a second window
  EXPECT_EQ(Weight(), 0u);
}

}  // namespace
}  // namespace cutover::fleet
