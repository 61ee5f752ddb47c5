// The replication_lag gate against real replication: a streaming standby made
// with pg_basebackup, and a logical subscription between two clusters.
#include <gtest/gtest.h>

#include "support/gate_specs.hpp"
#include "support/postgres.hpp"

namespace cutover::test {
namespace {

// Evaluates until `done` holds for the outcome (bounded); returns the last one.
gates::GateOutcome EvaluateUntil(gates::Gate& gate,
                                 const std::function<bool(const gates::GateOutcome&)>& done) {
  gates::GateOutcome last;
  WaitFor([&] {
    last = Shown(gate.Evaluate({}));
    return done(last);
  });
  return last;
}

bool Passed(const gates::GateOutcome& o) { return o.passed; }
bool Failed(const gates::GateOutcome& o) { return !o.passed; }
bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class ReplicationLagGateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    primary_ = new Postgres("wal_level = logical");
    primary_->Psql("create table t (id int primary key)");
    // Standbys report progress every second, not every ten.
    standby_ = new Standby(*primary_, "wal_receiver_status_interval = 1s");
  }
  static void TearDownTestSuite() {
    delete standby_;
    standby_ = nullptr;
    delete primary_;
    primary_ = nullptr;
  }
  static Postgres* primary_;
  static Standby* standby_;
};

Postgres* ReplicationLagGateTest::primary_ = nullptr;
Standby* ReplicationLagGateTest::standby_ = nullptr;

TEST_F(ReplicationLagGateTest, AStandbyHoldsWhileReplayIsPausedAndPassesOnceItCatchesUp) {
  auto gate = MakeGate(LagSpec(standby_->Uri(), 200ms));
  primary_->Psql("insert into t values (1)");
  ASSERT_TRUE(WaitFor([] { return standby_->Psql("select count(*) from t") == "1\n"; }));
  const auto caught_up = EvaluateUntil(*gate, Passed);
  ASSERT_TRUE(caught_up.passed) << caught_up.detail;
  EXPECT_TRUE(Has(caught_up.detail, "standby has replayed all WAL")) << caught_up.detail;

  standby_->Psql("select pg_wal_replay_pause()");
  ASSERT_TRUE(WaitFor(
      [] { return standby_->Psql("select pg_get_wal_replay_pause_state()") == "paused\n"; }));
  // WAL and a commit the standby receives but does not replay.
  primary_->Psql("insert into t select g from generate_series(2, 1000) g");
  const auto held = EvaluateUntil(*gate, Failed);
  EXPECT_FALSE(held.passed);
  EXPECT_EQ(held.name, "replication_lag");
  EXPECT_TRUE(Has(held.detail, "> max 200ms")) << held.detail;
  EXPECT_TRUE(Has(held.detail, "not yet replayed")) << held.detail;
  EXPECT_TRUE(Has(held.detail, "replay paused")) << held.detail;
  // It keeps holding while replay stays paused.
  const auto still = gate->Evaluate({});
  EXPECT_FALSE(still.passed) << still.detail;
  // The primary sees it too, from the standby's replay reports.
  auto on_primary = MakeGate(LagSpec(primary_->Uri(), 200ms));
  const auto primary_view = EvaluateUntil(*on_primary, Failed);
  EXPECT_FALSE(primary_view.passed);
  EXPECT_TRUE(Has(primary_view.detail, "primary's replicas: replica walreceiver"))
      << primary_view.detail;

  standby_->Psql("select pg_wal_replay_resume()");
  const auto cleared = EvaluateUntil(*gate, Passed);
  EXPECT_TRUE(cleared.passed) << cleared.detail;
  EXPECT_EQ(standby_->Psql("select count(*) from t"), "1000\n");
  const auto primary_cleared = EvaluateUntil(*on_primary, Passed);
  EXPECT_TRUE(primary_cleared.passed) << primary_cleared.detail;
}

TEST_F(ReplicationLagGateTest, APrimaryIsJudgedByItsReplicas) {
  auto gate = MakeGate(LagSpec(primary_->Uri(), 5s));
  const auto outcome = EvaluateUntil(*gate, Passed);
  EXPECT_TRUE(outcome.passed) << outcome.detail;
  EXPECT_TRUE(Has(outcome.detail, "primary's replicas")) << outcome.detail;
}

TEST_F(ReplicationLagGateTest, AnExplicitQueryGivesTheLag) {
  const auto small = EvaluateOnce(LagSpec(primary_->Uri(), 5s, "select 1.5"));
  EXPECT_TRUE(small.passed) << small.detail;
  EXPECT_TRUE(Has(small.detail, "lag 1.5s <= max 5s")) << small.detail;
  const auto large = EvaluateOnce(LagSpec(primary_->Uri(), 5s, "select 7"));
  EXPECT_FALSE(large.passed);
  const auto unknown = EvaluateOnce(LagSpec(primary_->Uri(), 5s, "select null"));
  EXPECT_FALSE(unknown.passed);
  EXPECT_TRUE(Has(unknown.detail, "lag unknown")) << unknown.detail;
}

TEST_F(ReplicationLagGateTest, APrimaryWithoutReplicasFails) {
  Postgres lonely;
  const auto outcome = EvaluateOnce(LagSpec(lonely.Uri(), 5s));
  EXPECT_FALSE(outcome.passed);
  EXPECT_TRUE(Has(outcome.detail, "no replica connected")) << outcome.detail;
}

TEST_F(ReplicationLagGateTest, AnUnreachableServerFails) {
  const auto outcome = EvaluateOnce(LagSpec(
      "postgresql://postgres:Lag-Secret@127.0.0.1:" + std::to_string(FreePort()) + "/x", 5s));
  EXPECT_FALSE(outcome.passed);
  EXPECT_TRUE(Has(outcome.detail, "cannot connect")) << outcome.detail;
  EXPECT_FALSE(Has(outcome.detail, "Lag-Secret")) << outcome.detail;
}

TEST_F(ReplicationLagGateTest, ALogicalSubscriberPassesWhileItsSubscriptionStreams) {
  Postgres subscriber;
  primary_->Psql("create publication cutover_pub for table t");
  subscriber.Psql("create table t (id int primary key)");
  subscriber.Psql("create subscription cutover_sub connection 'host=127.0.0.1 port=" +
                  std::to_string(primary_->port()) +
                  " user=postgres dbname=postgres' publication cutover_pub");
  auto gate = MakeGate(LagSpec(subscriber.Uri(), 5s));
  const auto live = EvaluateUntil(*gate, Passed);
  EXPECT_TRUE(live.passed) << live.detail;
  EXPECT_TRUE(Has(live.detail, "logical subscriber")) << live.detail;
  EXPECT_TRUE(Has(live.detail, "cutover_sub")) << live.detail;

  subscriber.Psql("alter subscription cutover_sub disable");
  const auto disabled = gate->Evaluate({});
  EXPECT_FALSE(disabled.passed);
  EXPECT_TRUE(Has(disabled.detail, "subscription cutover_sub is disabled")) << disabled.detail;
  subscriber.Psql("drop subscription cutover_sub");
  primary_->Psql("drop publication cutover_pub");
}

}  // namespace
}  // namespace cutover::test
