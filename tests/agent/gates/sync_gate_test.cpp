#include "agent/gates/sync_gate.hpp"

#include <gtest/gtest.h>

#include "support/fake_sync_status.hpp"
#include "support/gate_specs.hpp"

namespace cutover::test {
namespace {

class SyncGateTest : public ::testing::Test {
 protected:
  gates::GateOutcome Evaluate(std::chrono::milliseconds max_lag = 1s, std::uint64_t max = 0,
                              const std::string& cutover = "app") {
    gates::GateContext context;
    context.cutover = cutover;
    context.sync = &status_;
    return MakeGate(SyncSpec(max_lag, max))->Evaluate(context);
  }
  FakeSyncStatus status_;
};

TEST_F(SyncGateTest, PassesWhileBothDirectionsStreamWithinTheLag) {
  v1::Sync& s = status_.Running("app");
  s.mutable_blue_to_green()->set_pending(3);
  s.mutable_blue_to_green()->set_lag_ms(40);
  const auto outcome = Evaluate();
  EXPECT_TRUE(outcome.passed) << outcome.detail;
  EXPECT_EQ(outcome.name, "sync");
  EXPECT_NE(outcome.detail.find("blue->green 3 pending, lag 40ms"), std::string::npos)
      << outcome.detail;
  EXPECT_NE(outcome.detail.find("0 conflicts"), std::string::npos) << outcome.detail;
}

TEST_F(SyncGateTest, HoldsAStepWhileASideIsBehind) {
  status_.Running("app").mutable_green_to_blue()->set_lag_ms(1500);
  const auto outcome = Evaluate(1s);
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("green->blue lag 1.5s > max 1s"), std::string::npos)
      << outcome.detail;
  EXPECT_TRUE(Evaluate(2s).passed);
}

TEST_F(SyncGateTest, HoldsAStepOnConflictsPastTheMaximum) {
  v1::Sync& s = status_.Running("app");
  s.set_conflicts(2);
  s.mutable_last_conflict()->set_table("orders");
  s.mutable_last_conflict()->set_key("id=42");
  s.mutable_last_conflict()->set_resolution("green's row kept");
  const auto outcome = Evaluate(1s, 1);
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("2 conflicts > max_conflicts 1 (last: orders id=42"),
            std::string::npos)
      << outcome.detail;
  EXPECT_TRUE(Evaluate(1s, 2).passed);
}

TEST_F(SyncGateTest, FailsWhenTheSyncIsNotRunningOrNotThereSayingWhy) {
  status_.Running("app").set_state(v1::SYNC_STATE_PAUSED);
  status_.syncs["app"].set_reason("conflict on orders id=7: changed on both sides");
  auto outcome = Evaluate();
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("sync paused: conflict on orders id=7"), std::string::npos)
      << outcome.detail;
  status_.Running("app").mutable_green_to_blue()->set_streaming(false);
  outcome = Evaluate();
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("green->blue is not streaming"), std::string::npos)
      << outcome.detail;
  outcome = Evaluate(1s, 0, "other");
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("no sync runs for cutover \"other\""), std::string::npos)
      << outcome.detail;
  outcome = Evaluate(1s, 0, "");
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("preflight --cutover NAME"), std::string::npos) << outcome.detail;
}

TEST(SyncGateSpec, DefaultsItsLagAndRefusesAZeroOne) {
  v1::Gate spec;
  spec.mutable_sync();
  EXPECT_NO_THROW(MakeGate(spec));
  EXPECT_THROW(MakeGate(SyncSpec(0ms, 0)), std::invalid_argument);
}

}  // namespace
}  // namespace cutover::test
