// The PostgreSQL journal library against a real PostgreSQL started by the test.
#include "agent/journal/pg_journal.hpp"

#include <gtest/gtest.h>

#include <tuple>

#include "support/postgres_suite.hpp"

namespace cutover::test {
namespace {

class PgJournalTest : public PostgresSuite {
 protected:
};

TEST_F(PgJournalTest, CreatesItsTableAppendsAndReadsBack) {
  pg().Psql("CREATE DATABASE lib");
  {
    agent::PgJournal journal(pg().Uri("lib"));
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
  EXPECT_EQ(pg().Psql("SELECT kind FROM cutover_journal ORDER BY sequence", "lib"),
            "weight_set\nreverted\n");
  EXPECT_EQ(pg().Psql("SELECT event->'measurement'->>'requests' FROM cutover_journal WHERE "
                      "kind = 'reverted'",
                      "lib"),
            "412\n");
  agent::PgJournal reopened(pg().Uri("lib"));
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

TEST_F(PgJournalTest, ReadsPagesAndEachCutoversLastRolloutFromItsOwnConnection) {
  pg().Psql("CREATE DATABASE pages");
  agent::PgJournal journal(pg().Uri("pages"));
  std::vector<v1::Event> batch;
  for (const auto& [cutover, kind, rollout] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"app", "rollout_started", "r1"},
           {"app", "step_advanced", "r1"},
           {"api", "weight_set", ""},
           {"app", "rollout_started", "r2"},
           {"app", "paused", "r2"},
           {"app", "aborted", "r1"}}) {  // not r2's: left out of the last rollout
    v1::Event e;
    e.set_cutover(cutover);
    e.set_kind(kind);
    e.set_rollout_id(rollout);
    journal.Number(e);
    batch.push_back(e);
  }
  journal.Write(batch);  // one transaction
  EXPECT_EQ(journal.last_sequence(), 6u);
  const auto page = journal.Since("app", 2, 2);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].sequence(), 2u);
  EXPECT_EQ(page[1].sequence(), 4u);
  EXPECT_TRUE(journal.Knows("api"));
  EXPECT_FALSE(journal.Knows("nope"));
  const auto rollouts = journal.LastRollouts();
  ASSERT_EQ(rollouts.size(), 1u);
  ASSERT_EQ(rollouts[0].events.size(), 2u);
  EXPECT_EQ(rollouts[0].events[0].rollout_id(), "r2");
  EXPECT_EQ(rollouts[0].events[1].kind(), "paused");
  EXPECT_NE(rollouts[0].where[1].find("sequence 5"), std::string::npos) << rollouts[0].where[1];
}

// The journal had a redaction of its own that let `?password=` through
// whole and half of a password holding an '@'; it now uses the agent's one.
TEST_F(PgJournalTest, UnreachableDatabaseIsAClearErrorWithoutThePassword) {
  const std::string closed = "127.0.0.1:" + std::to_string(FreePort());
  for (const std::string& uri : {"postgresql://app:hunter2@" + closed + "/x?connect_timeout=2",
                                 "postgresql://app@" + closed + "/x?password=hunter2",
                                 "postgresql://app:hun@ter2@" + closed + "/x"}) {
    try {
      agent::PgJournal journal(uri);
      FAIL() << "expected an error";
    } catch (const agent::JournalError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("cannot connect"), std::string::npos) << what;
      EXPECT_EQ(what.find("hunter2"), std::string::npos) << what;
      EXPECT_EQ(what.find("ter2"), std::string::npos) << what;
    }
  }
}

}  // namespace
}  // namespace cutover::test
