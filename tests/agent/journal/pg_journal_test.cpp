// The PostgreSQL journal library against a real PostgreSQL started by the test.
#include "agent/journal/pg_journal.hpp"

#include <gtest/gtest.h>

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

// The agents of a fleet share one journal table. Before the retry, the
// second writer's Append threw on the sequence the first had taken.
TEST_F(PgJournalTest, TwoWritersOfOneTableNumberAfterEachOther) {
  pg().Psql("CREATE DATABASE shared");
  agent::PgJournal a(pg().Uri("shared"));
  agent::PgJournal b(pg().Uri("shared"));
  for (int i = 0; i < 3; ++i) {
    v1::Event first;
    first.set_kind("weight_set");
    a.Append(first);
    v1::Event second;
    second.set_kind("weight_set");
    b.Append(second);
    EXPECT_EQ(second.sequence(), first.sequence() + 1);
  }
  EXPECT_EQ(pg().Psql("SELECT count(*) || ' ' || max(sequence) FROM cutover_journal", "shared"),
            "6 6\n");
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
