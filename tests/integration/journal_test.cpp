// The agent binary journaling to a real PostgreSQL: what it writes there,
// what a restart reads back, and that its password shows nowhere.
#include <gtest/gtest.h>
#include <signal.h>

#include "support/agent.hpp"
#include "support/postgres_suite.hpp"
#include "support/site.hpp"

namespace cutover::test {
namespace {

class PgJournalTest : public PostgresSuite {
 protected:
};

TEST_F(PgJournalTest, TheAgentJournalsToPostgresAndKeepsItAcrossARestart) {
  pg().Psql("CREATE DATABASE agent");
  TempDir dir("agent-pg");
  AgentOptions o = LocalAgent(dir, MakeAppStateFile(dir));
  o.journal = pg().Uri("agent");
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
  EXPECT_EQ(pg().Psql("SELECT kind || ' ' || cutover FROM cutover_journal WHERE cutover <> '' "
                      "ORDER BY sequence",
                      "agent"),
            "weight_set app\n");
  EXPECT_EQ(
      pg().Psql("SELECT event->>'reason' FROM cutover_journal WHERE kind = 'weight_set'", "agent"),
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
  EXPECT_EQ(pg().Psql("SELECT count(*) FROM cutover_journal WHERE kind = 'agent_started'", "agent"),
            "2\n");
}

// agent_started was journaled after the agent began to serve: a client
// quick enough read a history without it.
TEST_F(PgJournalTest, TheFirstHistoryAnAgentAnswersHasItsStart) {
  pg().Psql("CREATE DATABASE started");
  TempDir dir("agent-pg-started");
  AgentOptions o = LocalAgent(dir, MakeAppStateFile(dir));
  o.journal = pg().Uri("started");
  o.http_socket = dir / "http.sock";  // the agent answers once this one does
  for (int run = 0; run < 10; ++run) {
    AgentProcess agent(o, dir / ("agent" + std::to_string(run)));
    agent.Start();
    v1::GetHistoryRequest req;
    req.set_limit(1);
    v1::GetHistoryResponse resp;
    ASSERT_TRUE(agent.UnixStub()->GetHistory(Context().get(), req, &resp).ok());
    ASSERT_EQ(resp.events_size(), 1) << "run " << run;
    EXPECT_EQ(resp.events(0).kind(), "agent_started");
    EXPECT_EQ(resp.events(0).reason(), "pid " + std::to_string(agent.pid()));
  }
}

TEST_F(PgJournalTest, AnAgentThatCannotReachItsJournalSaysSoWithoutThePassword) {
  TempDir dir("agent-pg-down");
  AgentOptions o = LocalAgent(dir, MakeAppStateFile(dir));
  const std::string closed = "127.0.0.1:" + std::to_string(FreePort());
  for (const std::string& uri : {"postgresql://app@" + closed + "/x?password=s3cret",
                                 "postgresql://app:p@ss@" + closed + "/x"}) {
    o.journal = uri;
    AgentProcess agent(o, dir / "agent");
    EXPECT_THROW(agent.Start(), std::runtime_error);
    const std::string log = agent.Log();
    EXPECT_NE(log.find("cannot connect"), std::string::npos) << log;
    EXPECT_EQ(log.find("s3cret"), std::string::npos) << log;
    EXPECT_EQ(log.find("p@ss"), std::string::npos) << log;
    EXPECT_EQ(log.find("ss@"), std::string::npos) << log;
  }
}

}  // namespace
}  // namespace cutover::test
