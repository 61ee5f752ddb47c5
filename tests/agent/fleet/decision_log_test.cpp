// The fleet's schema, lease and decision log against a real PostgreSQL.
#include "agent/fleet/decision_log.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "agent/fleet/schema.hpp"
#include "agent/journal/pg_journal.hpp"
#include "support/postgres_suite.hpp"

namespace cutover::fleet {
namespace {

using namespace std::chrono_literals;

class DecisionLogTest : public test::PostgresSuite {
 protected:
  void SetUp() override {
    db_ = "fleet_" + std::to_string(++databases_);
    pg().Psql("CREATE DATABASE " + db_);
    agent::PgJournal journal(Uri());  // the journal table the schema writes into
    link_ = std::make_unique<PgLink>(Uri(), "test", 2000ms);
    MigrateSchema(*link_);
  }
  std::string Uri() const { return pg().Uri(db_); }
  std::string Sql(const std::string& sql) { return pg().Psql(sql, db_); }

  // A heartbeat of `node` holding (or asking for) the lease; its (holder, epoch).
  std::pair<std::string, std::uint64_t> Beat(const std::string& node, std::uint64_t epoch,
                                             int ttl_ms = 60000) {
    const PgResult r = link_->Exec(
        "SELECT holder, lease_epoch FROM cutover_fleet_heartbeat($1, 1, 'i', NULL, $2::bigint,"
        " $3::integer, true)",
        {node, std::to_string(epoch), std::to_string(ttl_ms)});
    return {Text(r.get(), 0, 0), static_cast<std::uint64_t>(Int(r.get(), 0, 1))};
  }

  v1::Event Event(const std::string& kind, double after, const std::string& rollout = "r1") {
    v1::Event e;
    e.mutable_time()->set_seconds(1700000000);
    e.set_cutover("app");
    e.set_kind(kind);
    e.set_rollout_id(rollout);
    e.set_weight_after(after);
    return e;
  }

  static inline int databases_ = 0;
  std::string db_;
  std::unique_ptr<PgLink> link_;
};

TEST_F(DecisionLogTest, MigrationIsIdempotentAndRefusesANewerSchema) {
  MigrateSchema(*link_);  // again: nothing to do
  EXPECT_EQ(Sql("SELECT version FROM cutover_fleet_schema"), "1\n");
  Sql("INSERT INTO cutover_fleet_schema VALUES (99)");
  try {
    MigrateSchema(*link_);
    FAIL() << "a newer schema must be refused";
  } catch (const FleetDbError& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 99"), std::string::npos) << e.what();
  }
}

TEST_F(DecisionLogTest, ConcurrentAgentsMigrateOnce) {
  Sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
  agent::PgJournal journal(Uri());
  std::vector<std::thread> agents;
  std::atomic<int> failures{0};
  for (int i = 0; i < 3; ++i)
    agents.emplace_back([&] {
      try {
        PgLink link(Uri(), "test", 5000ms);
        MigrateSchema(link);
      } catch (const std::exception&) {
        ++failures;
      }
    });
  for (auto& t : agents) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(Sql("SELECT count(*) FROM cutover_fleet_schema"), "1\n");
}

TEST_F(DecisionLogTest, TheLeaseIsOneHoldersAndATakeoverIsANewEpoch) {
  auto [holder, epoch] = Beat("a", 0);
  EXPECT_EQ(holder, "a");
  EXPECT_EQ(epoch, 1u);
  EXPECT_EQ(Beat("b", 0), std::make_pair(std::string("a"), 1ul));  // held: b waits
  EXPECT_EQ(Beat("a", 1), std::make_pair(std::string("a"), 1ul));  // renewed, same term
  // A restarted "a" (epoch 0) does not inherit its predecessor's term.
  EXPECT_EQ(Beat("a", 0), std::make_pair(std::string("a"), 1ul));
  Sql("UPDATE cutover_fleet_lease SET expires_at = clock_timestamp() - interval '1 ms'");
  EXPECT_EQ(Beat("a", 1, 60000).first, "a");  // expired, and nobody else asked: a new term
  EXPECT_EQ(Sql("SELECT epoch FROM cutover_fleet_lease"), "2\n");
  Sql("UPDATE cutover_fleet_lease SET expires_at = clock_timestamp() - interval '1 ms'");
  EXPECT_EQ(Beat("b", 0), std::make_pair(std::string("b"), 3ul));
  EXPECT_EQ(Beat("a", 2).first, "b");  // the old holder cannot renew a lost term
}

TEST_F(DecisionLogTest, AStaleFencingTokenIsRefusedAndLeavesNoTrace) {
  const auto a = Beat("a", 0).second;
  Sql("UPDATE cutover_fleet_lease SET expires_at = clock_timestamp() - interval '1 ms'");
  const auto b = Beat("b", 0).second;
  ASSERT_GT(b, a);
  v1::Event started = Event("rollout_started", 0);
  ASSERT_EQ(CommitDecision(*link_, {"b", b, "controller"}, &started).outcome,
            Commit::Outcome::kCommitted);
  v1::Event newer = Event("step_advanced", 25);
  const Commit c = CommitDecision(*link_, {"b", b, "controller"}, &newer);
  ASSERT_EQ(c.outcome, Commit::Outcome::kCommitted);
  EXPECT_EQ(c.epoch, 1u);
  EXPECT_EQ(newer.epoch(), 1u);
  EXPECT_EQ(newer.node(), "b");
  EXPECT_EQ(newer.sequence(), c.sequence);
  // The paused old decider wakes up and decides with its token: refused.
  for (const char* kind : {"step_advanced", "paused", "completed", "weight_set"}) {
    v1::Event stale = Event(kind, 100);
    EXPECT_EQ(CommitDecision(*link_, {"a", a, "controller"}, &stale).outcome,
              Commit::Outcome::kStale)
        << kind;
    EXPECT_EQ(stale.sequence(), 0u);
  }
  // ... and a holder's name with the wrong epoch is refused too.
  v1::Event wrong_epoch = Event("step_advanced", 100);
  EXPECT_EQ(CommitDecision(*link_, {"b", a, "controller"}, &wrong_epoch).outcome,
            Commit::Outcome::kStale);
  EXPECT_EQ(Sql("SELECT count(*) FROM cutover_journal"), "2\n");
  EXPECT_EQ(Sql("SELECT epoch || ' ' || green_bp || ' ' || node FROM cutover_fleet_decisions"),
            "1 2500 b\n");
  EXPECT_EQ(Sql("SELECT epoch || ' ' || green_bp || ' ' || state FROM cutover_fleet_rollouts"),
            "1 2500 running\n");
}

TEST_F(DecisionLogTest, AnyNodeMayRevertTheRunningRolloutButNotAnother) {
  const auto lease = Beat("a", 0).second;
  v1::Event started = Event("rollout_started", 0);
  CommitDecision(*link_, {"a", lease, "controller"}, &started);
  v1::Event step = Event("step_advanced", 50);
  CommitDecision(*link_, {"a", lease, "controller"}, &step);
  // c holds no lease (token 0): its revert stands.
  v1::Event reverted = Event("reverted", 0);
  const Commit c = CommitDecision(*link_, {"c", 0, "guard"}, &reverted);
  ASSERT_EQ(c.outcome, Commit::Outcome::kCommitted);
  EXPECT_EQ(c.epoch, 2u);
  EXPECT_EQ(Sql("SELECT green_bp || ' ' || state || ' ' || decided_by FROM cutover_fleet_rollouts"),
            "0 reverted c\n");
  // A second revert of the ended rollout, or one of an older rollout, is dropped.
  v1::Event again = Event("reverted", 0);
  EXPECT_EQ(CommitDecision(*link_, {"b", 0, "guard"}, &again).outcome,
            Commit::Outcome::kSuperseded);
  v1::Event next = Event("rollout_started", 0, "r2");
  CommitDecision(*link_, {"a", lease, "controller"}, &next);
  v1::Event late = Event("reverted", 0, "r1");
  EXPECT_EQ(CommitDecision(*link_, {"c", 0, "guard"}, &late).outcome, Commit::Outcome::kSuperseded);
  EXPECT_EQ(Sql("SELECT rollout_id || ' ' || state FROM cutover_fleet_rollouts"), "r2 running\n");
}

TEST_F(DecisionLogTest, EveryDecisionIsNotifiedAndJournaledWithItsEpochAndSequence) {
  PgLink listener(Uri(), "listener", 2000ms);
  listener.Exec(std::string("LISTEN ") + kDecisionChannel);
  const auto lease = Beat("a", 0).second;
  v1::Event started = Event("rollout_started", 0);
  CommitDecision(*link_, {"a", lease, "controller"}, &started);
  v1::Event step = Event("step_advanced", 5);
  CommitDecision(*link_, {"a", lease, "controller"}, &step);
  std::vector<Notification> got;
  for (int i = 0; i < 20 && got.size() < 2; ++i)
    for (auto& n : listener.Wait(500ms)) got.push_back(n);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NE(got[1].payload.find("\"green_bp\" : 500"), std::string::npos) << got[1].payload;
  EXPECT_NE(got[1].payload.find("\"origin\" : \"controller\""), std::string::npos);
  EXPECT_EQ(Sql("SELECT event->>'sequence' || ' ' || (event->>'epoch') || ' ' || (event->>'node')"
                " FROM cutover_journal WHERE kind = 'step_advanced'"),
            std::to_string(step.sequence()) + " 1 a\n");
}

// A node's own records (its start, its syncs) and the decisions number in
// one order: the journal writer of every node takes its numbers from here,
// so none is taken twice and none is skipped.
TEST_F(DecisionLogTest, ANodesRecordsAndTheDecisionsShareOneSequence) {
  const auto lease = Beat("a", 0).second;
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (const std::string node : {"a", "b"})
    writers.emplace_back([&, node] {
      PgLink link(Uri(), "test", 5000ms);
      for (int i = 0; i < 10; ++i) {
        v1::Event started;
        started.set_kind("agent_started");
        RecordEvent(link, node, &started);
        if (node != "a") continue;
        v1::Event weight = Event("weight_set", i);
        weight.set_rollout_id("");
        if (CommitDecision(link, {"a", lease, "controller"}, &weight).outcome !=
            Commit::Outcome::kCommitted)
          ++failures;
      }
    });
  for (auto& t : writers) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(Sql("SELECT count(*) || ' ' || max(sequence) || ' ' || count(DISTINCT sequence)"
                " FROM cutover_journal"),
            "30 30 30\n");
  EXPECT_EQ(Sql("SELECT count(*) FROM cutover_journal"
                " WHERE (event->>'sequence')::bigint <> sequence"),
            "0\n");
  EXPECT_EQ(Sql("SELECT count(*) FROM cutover_journal WHERE kind = 'agent_started'"
                " AND event->>'node' = 'b'"),
            "10\n");
}

}  // namespace
}  // namespace cutover::fleet
