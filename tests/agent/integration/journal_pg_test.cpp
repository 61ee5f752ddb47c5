// The PostgreSQL journal against a real PostgreSQL started by the test:
// the library directly, then the agent binary with --journal postgresql://.
#include <gtest/gtest.h>
#include <signal.h>

#include "agent/journal/pg_journal.hpp"
#include "integration/agent_harness.hpp"
#include "support/postgres.hpp"

namespace cutover::test {
namespace {

class PgJournalTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pg_ = new Postgres(); }
  static void TearDownTestSuite() {
    delete pg_;
    pg_ = nullptr;
  }
  static Postgres* pg_;
};
Postgres* PgJournalTest::pg_ = nullptr;

TEST_F(PgJournalTest, CreatesItsTableAppendsAndReadsBack) {
  pg_->Psql("CREATE DATABASE lib");
  {
    agent::PgJournal journal(pg_->Uri("lib"));
    v1::Event a;
    a.set_cutover("app");
    a.set_kind("weight_set");
    a.mutable_time()->set_seconds(1700000000);
    a.set_weight_after(12.5);
    journal.Append(a);
    v1::Event b;
    b.set_cutover("api");
    b.set_kind("reverted");
    b.mutable_measurement()->set_requests(412);
    journal.Append(b);
    EXPECT_EQ(b.sequence(), 2u);
  }
  EXPECT_EQ(pg_->Psql("SELECT kind FROM cutover_journal ORDER BY sequence", "lib"),
            "weight_set\nreverted\n");
  EXPECT_EQ(pg_->Psql("SELECT event->'measurement'->>'requests' FROM cutover_journal WHERE "
                      "kind = 'reverted'",
                      "lib"),
            "412\n");
  agent::PgJournal reopened(pg_->Uri("lib"));
  v1::Event c;
  c.set_cutover("app");
  c.set_kind("paused");
  reopened.Append(c);
  EXPECT_EQ(c.sequence(), 3u);  // numbering continues
  auto history = reopened.History("app", 10);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].kind(), "paused");
  EXPECT_DOUBLE_EQ(history[1].weight_after(), 12.5);
  EXPECT_EQ(reopened.ReadAll().size(), 3u);
}

TEST_F(PgJournalTest, UnreachableDatabaseIsAClearErrorWithoutThePassword) {
  const std::string uri =
      "postgresql://app:hunter2@127.0.0.1:" + std::to_string(FreePort()) + "/x?connect_timeout=2";
  try {
    agent::PgJournal journal(uri);
    FAIL() << "expected an error";
  } catch (const agent::JournalError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cannot connect"), std::string::npos) << what;
    EXPECT_EQ(what.find("hunter2"), std::string::npos) << what;
  }
}

TEST_F(PgJournalTest, TheAgentJournalsToPostgresAndKeepsItAcrossARestart) {
  pg_->Psql("CREATE DATABASE agent");
  TempDir dir("agent-pg");
  AgentOptions o = LocalAgent(dir, MakeAppStateFile(dir));
  o.journal = pg_->Uri("agent");
  {
    AgentProcess agent(o, dir / "agent1");
    agent.Start();
    auto stub = agent.UnixStub();
    v1::SetWeightRequest req;
    req.set_cutover("app");
    req.set_percent(25);
    req.set_reason("pg test");
    v1::SetWeightResponse resp;
    auto status = stub->SetWeight(Context().get(), req, &resp);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(agent.StopWith(SIGTERM), 0);
  }
  EXPECT_EQ(pg_->Psql("SELECT kind || ' ' || cutover FROM cutover_journal WHERE cutover <> '' "
                      "ORDER BY sequence",
                      "agent"),
            "weight_set app\n");
  EXPECT_EQ(
      pg_->Psql("SELECT event->>'reason' FROM cutover_journal WHERE kind = 'weight_set'", "agent"),
      "pg test\n");
  AgentProcess again(o, dir / "agent2");
  again.Start();
  auto stub = again.UnixStub();
  v1::GetHistoryRequest req;
  req.set_cutover("app");
  v1::GetHistoryResponse resp;
  ASSERT_TRUE(stub->GetHistory(Context().get(), req, &resp).ok());
  ASSERT_EQ(resp.events_size(), 1);
  EXPECT_EQ(resp.events(0).kind(), "weight_set");
  EXPECT_DOUBLE_EQ(resp.events(0).weight_after(), 25);
  EXPECT_EQ(pg_->Psql("SELECT count(*) FROM cutover_journal WHERE kind = 'agent_started'", "agent"),
            "2\n");
}

}  // namespace
}  // namespace cutover::test
