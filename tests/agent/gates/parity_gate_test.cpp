// The parity gate between a real SQLite file and a real PostgreSQL database
// (and between two PostgreSQL databases): counts, checksums, what it reports.
#include <gtest/gtest.h>

#include "agent/gates/gate_error.hpp"
#include "agent/gates/sqlite_table_source.hpp"
#include "support/gate_specs.hpp"
#include "support/postgres_suite.hpp"
#include "support/sqlite_file.hpp"

namespace cutover::test {
namespace {

// The same data on both sides, written the way each database holds it, rows
// inserted in a different order: integers (one beyond a double's precision),
// reals, text with non-ASCII, NULL next to '', booleans, blobs, timestamps.
const char* kSqliteSchema = R"(
  create table customers (id integer primary key, name text not null, balance real, note text);
  create table orders (id integer primary key, customer_id integer, total real, paid integer,
                       placed_at text, receipt blob, big integer);
  insert into customers values (1, 'Ada', 10.5, null), (2, 'Grace Hopper', -0.1, ''),
                               (3, 'Zoë ∑', 1e-7, 'vip');
  insert into orders values
    (10, 1, 99.99, 1, '2024-03-04 05:06:07', x'00ff10', 9007199254740993),
    (11, 2, 5, 0, '2024-03-04 05:06:08.5', null, -42),
    (12, 3, 0.1, 1, null, x'', 0);
)";

const char* kPostgresSchema = R"(
  create table customers (id bigint primary key, name text not null, balance double precision,
                          note varchar(20));
  create table orders (id integer primary key, customer_id bigint, total numeric(10,2),
                       paid boolean, placed_at timestamp, receipt bytea, big bigint,
                       imported_at timestamptz default now());
  insert into orders (id, customer_id, total, paid, placed_at, receipt, big) values
    (12, 3, 0.1, true, null, '\x', 0),
    (11, 2, 5.00, false, '2024-03-04 05:06:08.5', null, -42),
    (10, 1, 99.99, true, '2024-03-04 05:06:07', '\x00ff10', 9007199254740993);
  insert into customers values (3, 'Zoë ∑', 1e-7, 'vip'), (2, 'Grace Hopper', -0.1, ''),
                               (1, 'Ada', 10.5, null);
)";

class ParityGateTest : public PostgresSuite {
 protected:
  // A fresh SQLite file and PostgreSQL database holding the same rows.
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    db_ = "t_" + std::to_string(++databases_);
    pg().Psql("create database " + db_);
    pg().Psql(kPostgresSchema, db_);
    sqlite_ = std::make_unique<SqliteFile>(dir_ / (std::string(info->name()) + ".db"));
    sqlite_->Exec(kSqliteSchema);
  }

  gates::GateOutcome Parity(const std::vector<std::string>& tables, bool checksum) {
    return EvaluateOnce(ParitySpec(sqlite_->Dsn(), pg().Uri(db_), tables, checksum));
  }

  static int databases_;
  TempDir dir_{"cutover-parity"};
  std::string db_;
  std::unique_ptr<SqliteFile> sqlite_;
};

int ParityGateTest::databases_ = 0;

TEST_F(ParityGateTest, EqualDataPasses) {
  const auto counts = Parity({"customers", "orders"}, false);
  EXPECT_TRUE(counts.passed) << counts.detail;
  EXPECT_EQ(counts.name, "parity");
  EXPECT_NE(counts.detail.find("customers 3 rows"), std::string::npos) << counts.detail;
  EXPECT_NE(counts.detail.find("orders 3 rows"), std::string::npos) << counts.detail;

  // The canonical rendering makes SQLite's and PostgreSQL's rows hash alike.
  const auto checksums = Parity({"customers", "orders"}, true);
  EXPECT_TRUE(checksums.passed) << checksums.detail;
  EXPECT_NE(checksums.detail.find("checksum"), std::string::npos) << checksums.detail;
}

TEST_F(ParityGateTest, AllComparesEverySourceTable) {
  sqlite_->Exec("create table audit (id integer); insert into audit values (1);");
  const auto missing = Parity({}, true);
  EXPECT_FALSE(missing.passed);
  EXPECT_NE(missing.detail.find("audit: missing on the target (source has 1 row)"),
            std::string::npos)
      << missing.detail;
  pg().Psql("create table audit (id int); insert into audit values (1)", db_);
  const auto all = Parity({}, true);
  EXPECT_TRUE(all.passed) << all.detail;
  EXPECT_NE(all.detail.find("all 3 tables match"), std::string::npos) << all.detail;
}

TEST_F(ParityGateTest, AMissingRowFailsNamingTheTableAndTheCounts) {
  pg().Psql("delete from orders where id = 11", db_);
  for (bool checksum : {false, true}) {
    const auto outcome = Parity({"customers", "orders"}, checksum);
    EXPECT_FALSE(outcome.passed);
    EXPECT_NE(
        outcome.detail.find("1 of 2 tables differs: orders: source 3 rows, target 2 rows (-1)"),
        std::string::npos)
        << outcome.detail;
    EXPECT_EQ(outcome.detail.find("customers"), std::string::npos) << outcome.detail;
  }
}

TEST_F(ParityGateTest, ReportsEveryTableThatDiffers) {
  pg().Psql("delete from orders; insert into customers (id, name) values (4, 'Extra')", db_);
  const auto outcome = Parity({"customers", "orders"}, false);
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("2 of 2 tables differ"), std::string::npos) << outcome.detail;
  EXPECT_NE(outcome.detail.find("customers: source 3 rows, target 4 rows (+1)"), std::string::npos)
      << outcome.detail;
  EXPECT_NE(outcome.detail.find("orders: source 3 rows, target 0 rows (-3)"), std::string::npos)
      << outcome.detail;
}

TEST_F(ParityGateTest, TheChecksumCatchesAChangedRowWithEqualCounts) {
  pg().Psql("update customers set name = 'Ada L.' where id = 1", db_);
  EXPECT_TRUE(Parity({"customers"}, false).passed);
  const auto outcome = Parity({"customers"}, true);
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("customers: 3 rows on both sides but the checksums differ"),
            std::string::npos)
      << outcome.detail;
}

TEST_F(ParityGateTest, TheChecksumTellsNullFromEmptyAndSeesSmallNumericChanges) {
  pg().Psql("update customers set note = '' where id = 1", db_);
  EXPECT_FALSE(Parity({"customers"}, true).passed);
  pg().Psql(
      "update customers set note = null where id = 1;"
      " update orders set total = 100.00 where id = 10",
      db_);
  EXPECT_TRUE(Parity({"customers"}, true).passed);
  const auto outcome = Parity({"orders"}, true);
  EXPECT_FALSE(outcome.passed) << outcome.detail;
  EXPECT_NE(outcome.detail.find("orders: 3 rows on both sides"), std::string::npos)
      << outcome.detail;
}

// The demo app's shape: SQLite keeps created_at as ISO-8601 text, PostgreSQL
// as timestamptz, and the checksum sees one instant, not two spellings.
TEST_F(ParityGateTest, TimestampsMatchAcrossSpellings) {
  sqlite_->Exec(
      "create table events (id integer primary key, created_at text not null, day text);"
      " insert into events values (1, '2024-03-04T05:06:07Z', '2024-03-04'),"
      " (2, '2024-03-04 07:06:08.250+02:00', null);");
  pg().Psql(
      "set TimeZone = 'Europe/Paris';"
      " create table events (id bigint primary key, created_at timestamptz not null,"
      " day timestamp);"
      " insert into events values (1, '2024-03-04T05:06:07Z', '2024-03-04'),"
      " (2, '2024-03-04 05:06:08.25+00', null)",
      db_);
  const auto same = Parity({"events"}, true);
  EXPECT_TRUE(same.passed) << same.detail;
  pg().Psql("update events set created_at = created_at + interval '1 second' where id = 2", db_);
  const auto moved = Parity({"events"}, true);
  EXPECT_FALSE(moved.passed);
  EXPECT_NE(moved.detail.find("events: 2 rows on both sides but the checksums differ"),
            std::string::npos)
      << moved.detail;
}

// The live case: the app holds the SQLite file open in WAL mode and is in the
// middle of a write. The gate reads the last committed state, undisturbed.
TEST_F(ParityGateTest, ReadsALiveWalDatabaseWithAWriteInFlight) {
  sqlite_->Exec("pragma journal_mode = wal");
  sqlite_->Exec("begin; insert into orders (id, customer_id) values (99, 1)");
  const auto outcome = Parity({"customers", "orders"}, true);
  EXPECT_TRUE(outcome.passed) << outcome.detail;
  sqlite_->Exec("commit");
  const auto committed = Parity({"orders"}, false);
  EXPECT_FALSE(committed.passed);
  EXPECT_NE(committed.detail.find("orders: source 4 rows, target 3 rows (-1)"), std::string::npos)
      << committed.detail;
}

TEST_F(ParityGateTest, AColumnMissingOnTheTargetFails) {
  pg().Psql("alter table customers drop column note", db_);
  const auto outcome = Parity({"customers"}, true);
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("customers: column(s) note missing on the target"),
            std::string::npos)
      << outcome.detail;
}

TEST_F(ParityGateTest, PostgresToPostgres) {
  const std::string copy = db_ + "_copy";
  pg().Psql("create database " + copy + " template " + db_);
  const auto same = EvaluateOnce(ParitySpec(pg().Uri(db_), pg().Uri(copy), {}, true));
  EXPECT_TRUE(same.passed) << same.detail;
  pg().Psql("update orders set paid = false where id = 12", copy);
  const auto changed = EvaluateOnce(ParitySpec(pg().Uri(db_), pg().Uri(copy), {}, true));
  EXPECT_FALSE(changed.passed);
  EXPECT_NE(changed.detail.find("orders: 3 rows on both sides but the checksums differ"),
            std::string::npos)
      << changed.detail;
}

TEST_F(ParityGateTest, AMissingSqliteFileFailsAndIsNotCreated) {
  const std::string path = dir_ / "nowhere.db";
  const auto outcome =
      EvaluateOnce(ParitySpec("sqlite://" + path, pg().Uri(db_), {"orders"}, false));
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("cannot open sqlite:" + path), std::string::npos) << outcome.detail;
  EXPECT_FALSE(FileExists(path));
}

TEST_F(ParityGateTest, AnUnreachableTargetFails) {
  const std::string nobody =
      "postgresql://app:Parity-Secret@127.0.0.1:" + std::to_string(FreePort()) + "/app";
  const auto outcome = EvaluateOnce(ParitySpec(sqlite_->Dsn(), nobody, {"orders"}, false));
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("cannot connect"), std::string::npos) << outcome.detail;
  EXPECT_EQ(outcome.detail.find("Parity-Secret"), std::string::npos) << outcome.detail;
}

TEST_F(ParityGateTest, ATableMissingEverywhereIsNamed) {
  const auto outcome = Parity({"orders", "invoices"}, false);
  EXPECT_FALSE(outcome.passed);
  EXPECT_NE(outcome.detail.find("invoices: missing on the source"), std::string::npos)
      << outcome.detail;
}

}  // namespace
}  // namespace cutover::test

namespace cutover::test {
namespace {

TEST(SqliteTableSource, ReadsWithinItsDeadlineAndStopsAtIt) {
  TempDir dir("cutover-sqlite");
  SqliteFile file(dir / "big.db");
  file.Exec(
      "create table big (id integer primary key, label text);"
      " insert into big with recursive n(i) as (select 1 union all select i + 1 from n"
      " where i < 300000) select i, 'row ' || i from n;");
  {
    const gates::Deadline ample(60s);
    gates::SqliteTableSource source(file.path(), ample);
    EXPECT_EQ(source.Checksum("big", {{"id"}, {"label"}}).rows, 300000u);
  }
  // A budget no machine reads 300,000 rows in: interrupted, not finished.
  const gates::Deadline tiny(1ms);
  try {
    gates::SqliteTableSource source(file.path(), tiny);
    source.Checksum("big", {{"id"}, {"label"}});
    ADD_FAILURE() << "read 300,000 rows within 1ms";
  } catch (const gates::GateError& e) {
    EXPECT_NE(std::string(e.what()).find("timed out after 1ms reading sqlite:"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace cutover::test
