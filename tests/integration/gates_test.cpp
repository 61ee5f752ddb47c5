// The gates through the real cutover-agent: a replication_lag gate against a
// real standby holds a rollout while replay is paused and lets it proceed
// once the standby catches up; a reversibility gate with policy block turns
// a breach into a pause once green has answered writes.
#include <gtest/gtest.h>

#include "cutover/state_file.hpp"
#include "support/agent.hpp"
#include "support/gate_specs.hpp"
#include "support/http.hpp"
#include "support/postgres.hpp"
#include "support/site.hpp"

namespace cutover::test {
namespace {

const std::string kSecret = "Agent-Gate-Secret";

class AgentGatesTest : public ::testing::Test {
 protected:
  void StartAgent() {
    agent_ = std::make_unique<AgentProcess>(LocalAgent(dir_, site_.nginx().state_path()),
                                            dir_ / "agent");
    agent_->Start();
    stub_ = agent_->UnixStub();
  }

  grpc::Status Start(const v1::Plan& plan) {
    v1::StartRolloutRequest request;
    request.set_cutover("app");
    *request.mutable_plan() = plan;
    v1::RolloutResponse ignored;
    return stub_->StartRollout(Context().get(), request, &ignored);
  }

  v1::Cutover Status() {
    v1::GetStatusRequest request;
    request.set_cutover("app");
    v1::GetStatusResponse response;
    EXPECT_TRUE(stub_->GetStatus(Context().get(), request, &response).ok());
    return response.cutover();
  }

  // Newest first, as GetHistory answers.
  std::vector<v1::Event> History() {
    v1::GetHistoryRequest request;
    request.set_cutover("app");
    v1::GetHistoryResponse response;
    EXPECT_TRUE(stub_->GetHistory(Context().get(), request, &response).ok());
    return {response.events().begin(), response.events().end()};
  }

  std::optional<v1::Event> Newest(const std::string& kind) {
    for (const auto& event : History())
      if (event.kind() == kind) return event;
    return std::nullopt;
  }

  std::uint32_t WeightInFile() {
    return state::StateFile::Open(site_.nginx().state_path(), state::StateFile::Access::kReadOnly)
        .ReadControl("app")
        ->weight_bp;
  }

  TempDir dir_{"gates-agent"};
  Site site_;
  std::unique_ptr<AgentProcess> agent_;
  std::unique_ptr<v1::CutoverService::Stub> stub_;
};

TEST_F(AgentGatesTest, ReplicationLagHoldsTheRolloutUntilTheStandbyCatchesUp) {
  Postgres primary;
  primary.Psql("create table t (id int)");
  Standby standby(primary, "wal_receiver_status_interval = 1s");
  // Trust authentication ignores the password; it is there to be hidden.
  const std::string dsn = "postgresql://postgres:" + kSecret +
                          "@127.0.0.1:" + std::to_string(standby.port()) + "/postgres";

  standby.Psql("select pg_wal_replay_pause()");
  ASSERT_TRUE(WaitFor(
      [&] { return standby.Psql("select pg_get_wal_replay_pause_state()") == "paused\n"; }));
  primary.Psql("insert into t select generate_series(1, 100)");
  auto direct = MakeGate(LagSpec(dsn, 200ms));
  ASSERT_TRUE(WaitFor([&] { return !direct->Evaluate({}).passed; })) << "the standby never lagged";

  StartAgent();
  v1::Plan plan = MakePlan({25, 100}, 10min);
  *plan.add_gates() = LagSpec(dsn, 200ms);
  const grpc::Status started = Start(plan);
  ASSERT_TRUE(started.ok()) << started.error_message();

  // Held before the first step: journaled with what the gate saw.
  ASSERT_TRUE(WaitFor([&] { return Newest("gate_failed").has_value(); })) << agent_->Stderr();
  const v1::Event held = *Newest("gate_failed");
  ASSERT_EQ(held.gates_size(), 1);
  EXPECT_EQ(held.gates(0).name(), "replication_lag");
  EXPECT_FALSE(held.gates(0).passed());
  EXPECT_NE(held.gates(0).detail().find("replay paused"), std::string::npos)
      << held.gates(0).detail();
  EXPECT_EQ(WeightInFile(), 0u);
  EXPECT_EQ(Status().rollout().step(), -1);

  standby.Psql("select pg_wal_replay_resume()");
  // The engine asks again after its retry interval; then the step is taken.
  ASSERT_TRUE(WaitFor([&] { return WeightInFile() == 2500; }, 45s)) << agent_->Stderr();
  // The weight is stored first; its event is journaled right after.
  ASSERT_TRUE(WaitFor([&] { return Newest("step_advanced").has_value(); })) << agent_->Stderr();
  const v1::Event advanced = *Newest("step_advanced");
  ASSERT_EQ(advanced.gates_size(), 1);
  EXPECT_TRUE(advanced.gates(0).passed()) << advanced.gates(0).detail();

  // The password shows in no event, no status, no journal line, no log line.
  for (const v1::Event& event : History())
    EXPECT_EQ(event.DebugString().find(kSecret), std::string::npos) << event.DebugString();
  EXPECT_EQ(Status().DebugString().find(kSecret), std::string::npos);
  const std::string journal = ReadFile(dir_ / "journal/journal.jsonl");
  EXPECT_NE(journal.find("gate_failed"), std::string::npos);
  EXPECT_EQ(journal.find(kSecret), std::string::npos) << journal;
  EXPECT_EQ(agent_->Stderr().find(kSecret), std::string::npos);
}

TEST_F(AgentGatesTest, ReversibilityBlockTurnsABreachIntoAPauseOnceGreenTookWrites) {
  StartAgent();
  v1::Plan plan = MakePlan({50, 100}, 10min);
  *plan.add_gates() = ReversibilitySpec(v1::REVERSIBILITY_POLICY_BLOCK, 0);
  Load load(site_.Url(), 200, 60s, 12000);
  ASSERT_TRUE(Start(plan).ok());
  ASSERT_TRUE(WaitFor([&] { return WeightInFile() == 5000; })) << agent_->Stderr();
  // The engine takes its writes baseline at its first tick after the start:
  // wait until it has watched green serve, so the writes below count.
  ASSERT_TRUE(WaitFor([&] { return Status().rollout().step_healthy_requests() > 0; }));

  // POSTs answered 2xx by green: the writes a revert would strand.
  HttpClient client;
  ASSERT_TRUE(WaitFor([&] {
    client.Post(site_.Url("/orders"), "{}", {{"Content-Type", "application/json"}});
    return site_.green().posts() >= 3;
  }));
  ASSERT_TRUE(WaitFor([&] { return Status().green().writes() >= 3; }));

  site_.green().SetStatus(500);
  ASSERT_TRUE(WaitFor([&] { return Status().rollout().state() == v1::ROLLOUT_STATE_PAUSED; }))
      << agent_->Stderr();
  load.Stop();
  EXPECT_EQ(WeightInFile(), 5000u) << "reverted despite policy block";
  const auto paused = Newest("paused");
  ASSERT_TRUE(paused.has_value());
  ASSERT_EQ(paused->gates_size(), 1);
  EXPECT_EQ(paused->gates(0).name(), "reversibility");
  EXPECT_FALSE(paused->gates(0).passed());
  EXPECT_NE(paused->gates(0).detail().find("revert refused"), std::string::npos)
      << paused->gates(0).detail();
  EXPECT_FALSE(Newest("reverted").has_value());
}

}  // namespace
}  // namespace cutover::test
