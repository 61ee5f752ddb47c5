// The sql gate against a real PostgreSQL cluster, and what every PostgreSQL
// gate shares: timeouts, unreachable servers, and passwords kept out of sight.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "support/gate_specs.hpp"
#include "support/postgres.hpp"

namespace cutover::test {
namespace {

const std::string kPassword = "Sup3r-Secret-Pw";
const std::string kWrongPassword = "Wr0ng-Secret-Pw";

class SqlGateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pg_ = new Postgres();
    pg_->Psql("create table pending_jobs (id int)");
    // A role that must give its password (the cluster trusts everyone else).
    pg_->Psql("create role app login password '" + kPassword + "'");
    const std::string hba = pg_->data_dir() + "/pg_hba.conf";
    WriteFile(hba, "host all app 127.0.0.1/32 scram-sha-256\n" + ReadFile(hba));
    pg_->Psql("select pg_reload_conf()");
    ASSERT_TRUE(WaitFor([] {
      return EvaluateOnce(SqlSpec(AppUri(kWrongPassword), "select true"))
                 .detail.find("password authentication failed") != std::string::npos;
    }));
  }
  static void TearDownTestSuite() {
    delete pg_;
    pg_ = nullptr;
  }
  static std::string AppUri(const std::string& password) {
    return "postgresql://app:" + password + "@127.0.0.1:" + std::to_string(pg_->port()) +
           "/postgres";
  }
  static Postgres* pg_;
};

Postgres* SqlGateTest::pg_ = nullptr;

TEST_F(SqlGateTest, PassesWhenTheQueryReturnsTrue) {
  const auto outcome = EvaluateOnce(SqlSpec(pg_->Uri(), "select count(*) = 0 from pending_jobs"));
  EXPECT_TRUE(outcome.passed) << outcome.detail;
  EXPECT_EQ(outcome.name, "sql");
  EXPECT_NE(outcome.detail.find("returned true"), std::string::npos) << outcome.detail;
}

TEST_F(SqlGateTest, FailsWhenTheQueryReturnsFalseNullOrNothing) {
  const auto is_false = EvaluateOnce(SqlSpec(pg_->Uri(), "select count(*) > 0 from pending_jobs"));
  EXPECT_FALSE(is_false.passed);
  EXPECT_NE(is_false.detail.find("returned false"), std::string::npos) << is_false.detail;
  const auto is_null = EvaluateOnce(SqlSpec(pg_->Uri(), "select null::boolean"));
  EXPECT_FALSE(is_null.passed);
  EXPECT_NE(is_null.detail.find("NULL"), std::string::npos) << is_null.detail;
  const auto no_rows = EvaluateOnce(SqlSpec(pg_->Uri(), "select true where false"));
  EXPECT_FALSE(no_rows.passed);
  EXPECT_NE(no_rows.detail.find("no rows"), std::string::npos) << no_rows.detail;
  const auto not_bool = EvaluateOnce(SqlSpec(pg_->Uri(), "select 1"));
  EXPECT_FALSE(not_bool.passed);
  EXPECT_NE(not_bool.detail.find("not a boolean"), std::string::npos) << not_bool.detail;
}

TEST_F(SqlGateTest, FailsWithTheServersErrorForABadQuery) {
  const auto outcome = EvaluateOnce(SqlSpec(pg_->Uri(), "select true from no_such_table"));
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("no_such_table"), std::string::npos) << outcome.detail;
}

TEST_F(SqlGateTest, NeverWrites) {
  const auto outcome =
      EvaluateOnce(SqlSpec(pg_->Uri(),
                           "with x as (insert into pending_jobs values (1) returning 1)"
                           " select count(*) = 1 from x"));
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("read-only"), std::string::npos) << outcome.detail;
  EXPECT_EQ(pg_->Psql("select count(*) from pending_jobs"), "0\n");
}

// Issue 15 #1: a plan's query ran as a simple-protocol string, so
// "set transaction read write; create table ...; select true" wrote, and a
// value that was not a boolean was echoed back whole.
TEST_F(SqlGateTest, AQueryIsOneStatementInAReadOnlyTransactionItCannotLeave) {
  const std::vector<std::string> escapes = {
      "set transaction read write; create table escaped_1 (id int); select true",
      "select set_config('default_transaction_read_only', 'off', false); commit;"
      " create table escaped_2 (id int); select true",
      "set transaction read write",
      "commit",
      "create table escaped_3 (id int)",
  };
  for (const auto& query : escapes) {
    const auto outcome = EvaluateOnce(SqlSpec(pg_->Uri(), query));
    EXPECT_FALSE(outcome.passed) << query << ": " << outcome.detail;
  }
  EXPECT_EQ(pg_->Psql("select count(*) from pg_tables where tablename like 'escaped_%'"), "0\n");
  // What a query returns that is not a boolean is named by type, never shown.
  const auto leak = EvaluateOnce(SqlSpec(pg_->Uri(), "select current_user || version()"));
  EXPECT_FALSE(leak.passed);
  EXPECT_EQ(leak.detail.find("PostgreSQL 15"), std::string::npos) << leak.detail;
  EXPECT_NE(leak.detail.find("returned a value of type text, not a boolean"), std::string::npos)
      << leak.detail;
}

TEST_F(SqlGateTest, AnUnreachableDatabaseFailsWithTheReason) {
  const std::string nobody = "postgresql://app@127.0.0.1:" + std::to_string(FreePort()) + "/app";
  const auto outcome = EvaluateOnce(SqlSpec(nobody, "select true"));
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("cannot connect"), std::string::npos) << outcome.detail;
  EXPECT_NE(outcome.detail.find("refused"), std::string::npos) << outcome.detail;
}

TEST_F(SqlGateTest, AServerThatNeverAnswersTimesOut) {
  // The TCP handshake completes, the PostgreSQL one never does.
  const SilentListener listener;
  const std::string silent =
      "postgresql://app@127.0.0.1:" + std::to_string(listener.port()) + "/app?sslmode=disable";
  const auto outcome = EvaluateOnce(WithTimeout(SqlSpec(silent, "select true"), 300ms));
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("timed out after 300ms connecting"), std::string::npos)
      << outcome.detail;
}

TEST_F(SqlGateTest, ASlowQueryTimesOutAndTheServerStopsIt) {
  const auto outcome =
      EvaluateOnce(WithTimeout(SqlSpec(pg_->Uri(), "select pg_sleep(60) is not null"), 500ms));
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("timed out after 500ms"), std::string::npos) << outcome.detail;
  // Nothing is left running on the server.
  EXPECT_TRUE(WaitFor([] {
    return pg_->Psql(
               "select count(*) from pg_stat_activity where query like '%pg_sleep(60)%'"
               " and pid <> pg_backend_pid()") == "0\n";
  }));
}

// Issue 15 #2: a Preflight whose caller left, or an agent that stops, tells
// its gates to give up; a PostgreSQL gate went on to its timeout (up to 10
// minutes) holding one of the few evaluations.
TEST_F(SqlGateTest, ASlowQueryGivesUpWhenNobodyWaitsForTheGate) {
  std::atomic<bool> cancel{false};
  gates::GateContext context;
  context.cancel = &cancel;
  gates::GateOutcome outcome;
  std::thread evaluation([&] {
    outcome = EvaluateOnce(
        WithTimeout(SqlSpec(pg_->Uri(), "select pg_sleep(600) is not null"), 600s), context);
  });
  const auto running = [] {
    return pg_->Psql(
        "select count(*) from pg_stat_activity where query like '%pg_sleep(600)%'"
        " and pid <> pg_backend_pid()");
  };
  ASSERT_TRUE(WaitFor([&] { return running() == "1\n"; }));
  cancel = true;
  evaluation.join();
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("given up"), std::string::npos) << outcome.detail;
  // The server ends the query when its session goes.
  EXPECT_TRUE(WaitFor([&] { return running() == "0\n"; }));
}

// The agent evaluates a failing gate every window for as long as it fails:
// no evaluation may leave a descriptor behind.
TEST_F(SqlGateTest, FailedEvaluationsLeaveNoDescriptorOpen) {
  const auto open_fds = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                         std::filesystem::directory_iterator{});
  };
  const std::string refused = "postgresql://app@127.0.0.1:" + std::to_string(FreePort()) + "/app";
  TempDir dir("cutover-fd");
  const std::vector<v1::Gate> failing = {
      SqlSpec(AppUri(kWrongPassword), "select true"),         // fails after connecting
      SqlSpec(refused, "select true"),                        // fails connecting
      SqlSpec(pg_->Uri(), "select true from no_such_table"),  // fails querying
      ParitySpec("sqlite://" + (dir / "none.db"), pg_->Uri(), {"t"}, false),
      ParitySpec("sqlite://" + (dir / "none.db"), refused, {"t"}, false),
  };
  for (const auto& spec : failing) EvaluateOnce(spec);  // warm up lazily opened files
  const auto before = open_fds();
  for (int round = 0; round < 10; ++round) {
    for (const auto& spec : failing) EXPECT_FALSE(EvaluateOnce(spec).passed);
  }
  EXPECT_EQ(open_fds(), before);
}

TEST_F(SqlGateTest, APasswordInTheDsnIsUsedButNeverShown) {
  const auto right = EvaluateOnce(SqlSpec(AppUri(kPassword), "select current_user = 'app'"));
  EXPECT_TRUE(right.passed) << right.detail;
  EXPECT_NE(right.detail.find("postgresql://app:***@"), std::string::npos) << right.detail;

  const std::string port = std::to_string(pg_->port());
  const std::string closed = std::to_string(FreePort());
  const std::vector<std::string> failing = {
      AppUri(kWrongPassword),
      "host=127.0.0.1 port=" + port + " user=app dbname=postgres password=" + kWrongPassword,
      "host=127.0.0.1 port=" + port + " user=app dbname=postgres password='" + kWrongPassword + "'",
      "postgresql://app:" + kWrongPassword + "@127.0.0.1:" + closed + "/postgres",
      "postgresql://app@127.0.0.1:" + port + "/postgres?password=" + kWrongPassword,
      "postgresql://app:" + kWrongPassword + "@127.0.0.1:" + port + "/no_such_db",
      "host=127.0.0.1 port=notanumber password=" + kWrongPassword,
  };
  for (const auto& dsn : failing) {
    const auto outcome = EvaluateOnce(SqlSpec(dsn, "select true"));
    EXPECT_FALSE(outcome.passed) << outcome.detail;
    EXPECT_EQ(outcome.detail.find("Secret"), std::string::npos) << outcome.detail;
    EXPECT_EQ(gates::RedactDsn(dsn).find("Secret"), std::string::npos) << dsn;
  }
  const auto denied = EvaluateOnce(SqlSpec(AppUri(kWrongPassword), "select true"));
  EXPECT_NE(denied.detail.find("password authentication failed"), std::string::npos)
      << denied.detail;
}

}  // namespace
}  // namespace cutover::test
