// The agent's gate path end to end: a real PostgreSQL, the real agent
// binary, a plan with an SQL gate. Built without the gates library, the
// agent must refuse gates with a clear error instead.
#include <gtest/gtest.h>

#include "cutover/state_file.hpp"
#include "support/agent.hpp"
#include "support/postgres.hpp"
#include "support/site.hpp"

namespace cutover::test {
namespace {

class AgentGatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    agent_ =
        std::make_unique<AgentProcess>(LocalAgent(dir_, MakeAppStateFile(dir_)), dir_ / "agent");
    agent_->Start();
    stub_ = agent_->UnixStub();
  }

  v1::Plan PlanWithSqlGate(const std::string& dsn) {
    v1::Plan plan;
    auto* step = plan.add_steps();
    step->set_percent(10);
    step->mutable_hold()->set_seconds(1);
    plan.add_steps()->set_percent(100);
    plan.mutable_analysis()->mutable_window()->set_seconds(1);
    plan.mutable_analysis()->set_max_error_rate(0.05);
    auto* sql = plan.add_gates()->mutable_sql();
    sql->set_dsn(dsn);
    sql->set_query("select count(*) = 0 from pending_jobs");
    return plan;
  }

  std::uint32_t Weight() {
    return state::StateFile::Open(dir_ / "cutover.state", state::StateFile::Access::kReadOnly)
        .ReadControl("app")
        ->weight_bp;
  }

  TempDir dir_{"agent-gates"};
  std::unique_ptr<AgentProcess> agent_;
  std::unique_ptr<v1::CutoverService::Stub> stub_;
};

TEST_F(AgentGatesTest, AFailingSqlGateHoldsTheFirstStepUntilItPasses) {
  Postgres pg;
  pg.Psql("CREATE TABLE pending_jobs (id int); INSERT INTO pending_jobs VALUES (1)");
  const v1::Plan plan = PlanWithSqlGate(pg.Uri());

  v1::PreflightRequest preflight;
  *preflight.mutable_plan() = plan;
  v1::PreflightResponse verdict;
  ASSERT_TRUE(stub_->Preflight(Context().get(), preflight, &verdict).ok());
  EXPECT_FALSE(verdict.go());
  ASSERT_EQ(verdict.gates_size(), 1);
  EXPECT_EQ(verdict.gates(0).name(), "sql");
  EXPECT_FALSE(verdict.gates(0).passed());

  v1::StartRolloutRequest start;
  start.set_cutover("app");
  *start.mutable_plan() = plan;
  v1::RolloutResponse rollout;
  ASSERT_TRUE(stub_->StartRollout(Context().get(), start, &rollout).ok());
  v1::GetHistoryRequest history_req;
  history_req.set_cutover("app");
  v1::GetHistoryResponse history;
  ASSERT_TRUE(WaitFor([&] {
    history.Clear();
    stub_->GetHistory(Context().get(), history_req, &history);
    return history.events_size() > 0 && history.events(0).kind() == "gate_failed";
  })) << agent_->Stderr();
  EXPECT_EQ(history.events(0).gates_size(), 1);
  EXPECT_EQ(Weight(), 0u);  // never advances into a failing gate

  pg.Psql("DELETE FROM pending_jobs");
  ASSERT_TRUE(stub_->Preflight(Context().get(), preflight, &verdict).ok());
  EXPECT_TRUE(verdict.go());
  // Asked again after the retry interval; then the first step goes.
  ASSERT_TRUE(WaitFor([&] { return Weight() == 1000u; }, 30s)) << agent_->Stderr();
}

}  // namespace
}  // namespace cutover::test
