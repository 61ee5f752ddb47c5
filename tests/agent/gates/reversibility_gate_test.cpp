#include <gtest/gtest.h>

#include "support/fake_sync_status.hpp"
#include "support/gate_specs.hpp"

namespace cutover::test {
namespace {

gates::GateContext Writes(std::uint64_t writes, bool before_revert) {
  gates::GateContext context;
  context.cutover = "app";
  context.writes_on_new_slot = writes;
  context.before_revert = before_revert;
  return context;
}

TEST(ReversibilityGate, BlockRefusesARevertPastMaxWrites) {
  auto gate = MakeGate(ReversibilitySpec(v1::REVERSIBILITY_POLICY_BLOCK, 10));
  const auto within = gate->Evaluate(Writes(10, true));
  EXPECT_TRUE(within.passed) << within.detail;
  EXPECT_FALSE(within.warning);
  const auto breach = gate->Evaluate(Writes(11, true));
  EXPECT_FALSE(breach.passed);
  EXPECT_EQ(breach.name, "reversibility");
  EXPECT_NE(breach.detail.find("11 writes"), std::string::npos) << breach.detail;
  EXPECT_NE(breach.detail.find("revert refused"), std::string::npos) << breach.detail;
}

TEST(ReversibilityGate, BlockOnlyWarnsWhenAskedForStatus) {
  auto gate = MakeGate(ReversibilitySpec(v1::REVERSIBILITY_POLICY_BLOCK, 0));
  const auto status = gate->Evaluate(Writes(3, false));
  EXPECT_TRUE(status.passed) << status.detail;
  EXPECT_TRUE(status.warning);
  EXPECT_NE(status.detail.find("would be refused"), std::string::npos) << status.detail;
}

TEST(ReversibilityGate, WarnPassesWithAWarningPastMaxWrites) {
  auto gate = MakeGate(ReversibilitySpec(v1::REVERSIBILITY_POLICY_WARN, 0));
  const auto quiet = gate->Evaluate(Writes(0, true));
  EXPECT_TRUE(quiet.passed);
  EXPECT_FALSE(quiet.warning);
  const auto stranded = gate->Evaluate(Writes(1, true));
  EXPECT_TRUE(stranded.passed);
  EXPECT_TRUE(stranded.warning);
  EXPECT_NE(stranded.detail.find("1 write "), std::string::npos) << stranded.detail;
  // Unspecified means warn.
  const auto defaulted = MakeGate(ReversibilitySpec(v1::REVERSIBILITY_POLICY_UNSPECIFIED, 0))
                             ->Evaluate(Writes(5, true));
  EXPECT_TRUE(defaulted.warning);
}

TEST(ReversibilityGate, AllowNeverStandsInTheWay) {
  const auto outcome =
      MakeGate(ReversibilitySpec(v1::REVERSIBILITY_POLICY_ALLOW, 0))->Evaluate(Writes(1000, true));
  EXPECT_TRUE(outcome.passed);
  EXPECT_FALSE(outcome.warning);
  EXPECT_NE(outcome.detail.find("1000 writes"), std::string::npos) << outcome.detail;
}

TEST(ReversibilityGate, WhileASyncRunsCountsOnlyTheChangesNotYetInTheOldSlot) {
  FakeSyncStatus syncs;
  syncs.Running("app").mutable_green_to_blue()->set_pending(2);
  gates::GateContext context = Writes(500, true);
  context.sync = &syncs;
  context.new_slot = "green";
  auto gate = MakeGate(ReversibilitySpec(v1::REVERSIBILITY_POLICY_BLOCK, 5));
  const auto synced = gate->Evaluate(context);
  EXPECT_TRUE(synced.passed) << synced.detail;  // 2 pending <= 5, though 500 writes
  EXPECT_NE(synced.detail.find("sync running: 2 changes of the new slot not yet in blue's"),
            std::string::npos)
      << synced.detail;
  EXPECT_NE(synced.detail.find("of 500 writes answered by the new slot"), std::string::npos)
      << synced.detail;
  syncs.syncs["app"].mutable_green_to_blue()->set_pending(6);
  EXPECT_FALSE(gate->Evaluate(context).passed);
  // Rolling back from a promoted green: the changes to carry are blue's.
  context.new_slot = "blue";
  syncs.syncs["app"].mutable_blue_to_green()->set_pending(1);
  EXPECT_TRUE(gate->Evaluate(context).passed);
}

TEST(ReversibilityGate, CountsEveryWriteWhenTheSyncDoesNotDeliver) {
  FakeSyncStatus syncs;
  syncs.Running("app").set_state(v1::SYNC_STATE_PAUSED);
  gates::GateContext context = Writes(11, true);
  context.sync = &syncs;
  const auto outcome =
      MakeGate(ReversibilitySpec(v1::REVERSIBILITY_POLICY_BLOCK, 10))->Evaluate(context);
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("11 writes"), std::string::npos) << outcome.detail;
  EXPECT_EQ(outcome.detail.find("sync running"), std::string::npos) << outcome.detail;
}

}  // namespace
}  // namespace cutover::test
