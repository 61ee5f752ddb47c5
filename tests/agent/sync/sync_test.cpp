// The sync against a real SQLite file (in WAL mode, written by another
// connection, as an application writes it) and a real PostgreSQL 15 with
// logical WAL, both directions at once. Every test ends on exact row sets
// and exact applied counts: nothing lost, nothing applied twice.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "agent/core/event_kinds.hpp"
#include "agent/core/units.hpp"
#include "agent/gates/factory.hpp"
#include "agent/sync/manager.hpp"
#include "agent/sync/sync_error.hpp"
#include "support/postgres_suite.hpp"
#include "support/process.hpp"
#include "support/sqlite_file.hpp"

namespace cutover::test {
namespace {

using sync::SyncError;
using Rows = std::vector<std::vector<std::string>>;

class SyncTest : public LogicalPostgresSuite {
 protected:
  void SetUp() override {
    static int counter = 0;
    db_ = "sync_" + std::to_string(++counter);
    pg().Psql("CREATE DATABASE " + db_);
    blue_ = std::make_unique<SqliteFile>(dir_ / "blue.db");
    blue_->Exec("PRAGMA journal_mode = WAL");
    green_ = std::make_unique<PgClient>(pg().Uri(db_));
  }
  void TearDown() override {
    manager_.reset();
    // A test that ended without stopping its sync leaves the slot behind,
    // held by its walsender for a moment after the sync let go of it; a
    // slot is the cluster's (16 at most here), so none may outlive its test.
    const std::string slots = " FROM pg_replication_slots WHERE database = current_database()";
    EXPECT_TRUE(WaitFor(
        [&] { return green_->Query("SELECT count(*)" + slots + " AND active") == Rows{{"0"}}; }));
    green_->Query("SELECT pg_drop_replication_slot(slot_name)" + slots);
  }

  sync::SyncManager& Manager() {
    if (!manager_) manager_ = std::make_unique<sync::SyncManager>(Deps());
    return *manager_;
  }
  sync::SyncDependencies Deps() {
    sync::SyncDependencies deps;
    deps.clock = &clock_;
    deps.tuning.retry_min = std::chrono::milliseconds(50);
    deps.tuning.retry_max = std::chrono::milliseconds(500);
    deps.publish = [this](v1::Event e) {
      std::lock_guard lock(mutex_);
      e.set_sequence(events_.size() + 1);
      events_.push_back(std::move(e));
    };
    deps.pause_rollout = [this](const std::string& cutover, const std::string& reason) {
      std::lock_guard lock(mutex_);
      paused_.push_back(cutover + ": " + reason);
    };
    return deps;
  }

  v1::SyncSpec Spec(std::vector<std::string> tables,
                    v1::SyncConflictPolicy policy = v1::SYNC_CONFLICT_POLICY_PAUSE) {
    v1::SyncSpec spec;
    spec.set_blue(blue_->Dsn());
    spec.set_green(pg().Uri(db_));
    for (auto& t : tables) spec.add_tables(t);
    spec.set_on_conflict(policy);
    return spec;
  }
  v1::Sync Start(std::vector<std::string> tables,
                 v1::SyncConflictPolicy policy = v1::SYNC_CONFLICT_POLICY_PAUSE) {
    return Manager().Start(cutover(), Spec(std::move(tables), policy), "", "test");
  }
  std::string cutover() const { return db_; }

  std::vector<v1::Event> Events(const std::string& kind) {
    std::lock_guard lock(mutex_);
    std::vector<v1::Event> out;
    for (const auto& e : events_)
      if (e.kind() == kind) out.push_back(e);
    return out;
  }

  // Both sides hold exactly these rows and the sync has nothing pending.
  bool Converged(const std::string& blue_sql, const std::string& green_sql) {
    const v1::Sync s = Manager().Get(cutover());
    if (s.state() != v1::SYNC_STATE_RUNNING || s.blue_to_green().pending() != 0 ||
        s.green_to_blue().pending() != 0)
      return false;
    return blue_->Rows(blue_sql) == green_->Query(green_sql);
  }
  void ExpectConverged(const std::string& blue_sql, const std::string& green_sql) {
    const bool converged = WaitFor([&] { return Converged(blue_sql, green_sql); }, 60s);
    EXPECT_TRUE(converged) << "blue:\n"
                           << Dump(blue_->Rows(blue_sql)) << "green:\n"
                           << Dump(green_->Query(green_sql))
                           << "sync: " << Manager().Get(cutover()).DebugString();
  }
  // Once converged, the counters hold every row either side shows (they are
  // published before the commit that carries the rows), so they are asserted
  // exact: nothing applied twice.
  v1::Sync Status() { return Manager().Get(cutover()); }

  static std::string Dump(const Rows& rows) {
    std::string out;
    for (const auto& row : rows) {
      for (const auto& v : row) out += v + "|";
      out += "\n";
    }
    return out.size() > 3000 ? out.substr(0, 3000) + "...\n" : out;
  }

  void CreateItems() {
    blue_->Exec(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, n INTEGER NOT NULL)");
    green_->Exec(
        "CREATE TABLE items (id bigint PRIMARY KEY, owner text NOT NULL, n integer NOT NULL,"
        " note text NOT NULL DEFAULT 'green only')");
  }
  static constexpr const char* kItems = "SELECT id, owner, n FROM items ORDER BY id";

  TempDir dir_{"sync-test"};
  std::string db_;
  std::unique_ptr<SqliteFile> blue_;
  std::unique_ptr<PgClient> green_;
  agent::RealClock clock_;
  std::unique_ptr<sync::SyncManager> manager_;
  std::mutex mutex_;
  std::vector<v1::Event> events_;
  std::vector<std::string> paused_;
};

// An application on one side: inserts, updates and deletes in small
// transactions on keys of its own, counting the row changes it made.
class Writer {
 public:
  // `exec` runs one statement and returns the rows it changed.
  Writer(std::function<void(const std::string&)> exec, std::int64_t first_id, std::string owner)
      : exec_(std::move(exec)), next_id_(first_id), owner_(std::move(owner)) {}

  void Run(int operations, unsigned seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < operations; ++i) {
      const int pick = static_cast<int>(rng() % 10);
      if (pick < 5 || live_.size() < 3) {
        const std::int64_t id = next_id_++;
        exec_("INSERT INTO items (id, owner, n) VALUES (" + std::to_string(id) + ", '" + owner_ +
              "', 0)");
        live_.push_back(id);
      } else if (pick < 8) {
        const std::int64_t id = live_[rng() % live_.size()];
        exec_("UPDATE items SET n = n + 1 WHERE id = " + std::to_string(id));
      } else {
        const std::size_t at = rng() % live_.size();
        exec_("DELETE FROM items WHERE id = " + std::to_string(live_[at]));
        live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(at));
      }
      ++changes_;
    }
  }
  std::uint64_t changes() const { return changes_; }

 private:
  std::function<void(const std::string&)> exec_;
  std::int64_t next_id_;
  std::string owner_;
  std::vector<std::int64_t> live_;
  std::uint64_t changes_ = 0;
};

TEST_F(SyncTest, CarriesBothDirectionsUnderConcurrentWritesIntoAGreenWithAnExtraColumn) {
  CreateItems();
  for (int id = 1; id <= 20; ++id) {  // both sides equal before the sync starts
    blue_->Exec("INSERT INTO items VALUES (" + std::to_string(id) + ", 'seed', 0)");
    green_->Exec("INSERT INTO items (id, owner, n) VALUES (" + std::to_string(id) + ", 'seed', 0)");
  }
  const v1::Sync started = Start({"items"});
  EXPECT_EQ(started.state(), v1::SYNC_STATE_RUNNING) << started.reason();
  ASSERT_EQ(started.tables_size(), 1);

  SqliteFile app(blue_->path());  // the application's own connection
  PgClient green_app(pg().Uri(db_));
  Writer on_blue([&](const std::string& sql) { app.Exec(sql); }, 1000, "blue");
  Writer on_green([&](const std::string& sql) { green_app.Exec(sql); }, 5000, "green");
  std::thread blue_thread([&] { on_blue.Run(400, 1); });
  std::thread green_thread([&] { on_green.Run(400, 2); });
  blue_thread.join();
  green_thread.join();

  ExpectConverged(kItems, kItems);
  const v1::Sync s = Status();
  // Applied exactly once: as many changes applied each way as each side made.
  EXPECT_EQ(s.blue_to_green().applied(), on_blue.changes());
  EXPECT_EQ(s.green_to_blue().applied(), on_green.changes());
  EXPECT_EQ(s.conflicts(), 0u);
  // Green's own column keeps its default for blue's rows; blue never gets it.
  EXPECT_EQ(
      green_->Query("SELECT count(*) FROM items WHERE owner = 'blue' AND note <> 'green only'"),
      (Rows{{"0"}}));
  EXPECT_EQ(blue_->Rows("SELECT count(*) FROM pragma_table_info('items') WHERE name = 'note'"),
            (Rows{{"0"}}));
  EXPECT_EQ(Events(agent::event_kind::kSyncStarted).size(), 1u);
}

// A clock that runs a probe whenever it is asked the time.
class ProbingClock final : public agent::Clock {
 public:
  explicit ProbingClock(std::function<void()> probe) : probe_(std::move(probe)) {}
  agent::WallTime Now() const override {
    probe_();
    return agent::WallClock::now();
  }

 private:
  std::function<void()> probe_;
};

// The sync asks its clock the time many times an iteration, right after each
// commit among them (to stamp it): at every one of those moments the status
// must count every row the other side already shows. Failed before the
// counters were published ahead of the commit (they were set at the end of
// the iteration, after it).
TEST_F(SyncTest, TheAppliedCountersNeverTrailTheRowsTheOtherSideShows) {
  CreateItems();
  SqliteFile blue_reader(blue_->path());
  PgClient green_reader(pg().Uri(db_));
  std::mutex probe_mutex;
  std::atomic<bool> probing{false};
  std::vector<std::string> trailing;
  std::uint64_t most_seen = 0;
  ProbingClock clock([&] {
    if (!probing) return;
    std::lock_guard lock(probe_mutex);
    // The rows first, then the status: a count that trails them is the bug.
    const auto on_green =
        std::stoull(green_reader.Query("SELECT count(*) FROM items WHERE owner = 'blue'")[0][0]);
    const auto on_blue =
        std::stoull(blue_reader.Rows("SELECT count(*) FROM items WHERE owner = 'green'")[0][0]);
    const v1::Sync s = manager_->Get(cutover());
    if (s.blue_to_green().applied() < on_green || s.green_to_blue().applied() < on_blue)
      trailing.push_back("green shows " + std::to_string(on_green) + " blue rows, applied " +
                         std::to_string(s.blue_to_green().applied()) + "; blue shows " +
                         std::to_string(on_blue) + " green rows, applied " +
                         std::to_string(s.green_to_blue().applied()));
    most_seen = std::min(on_green, on_blue);
  });
  sync::SyncDependencies deps = Deps();
  deps.clock = &clock;
  manager_ = std::make_unique<sync::SyncManager>(deps);
  Start({"items"});
  probing = true;

  constexpr int kRows = 100;
  std::thread blue_thread([&] {
    SqliteFile app(blue_->path());
    for (int id = 1; id <= kRows; ++id)
      app.Exec("INSERT INTO items VALUES (" + std::to_string(id) + ", 'blue', 0)");
  });
  std::thread green_thread([&] {
    PgClient app(pg().Uri(db_));
    for (int id = 1001; id <= 1000 + kRows; ++id)
      app.Exec("INSERT INTO items (id, owner, n) VALUES (" + std::to_string(id) + ", 'green', 0)");
  });
  blue_thread.join();
  green_thread.join();
  ExpectConverged(kItems, kItems);
  // The probe has run since both sides showed every row.
  EXPECT_TRUE(WaitFor([&] {
    std::lock_guard lock(probe_mutex);
    return most_seen == kRows;
  }));
  probing = false;
  {
    std::lock_guard lock(probe_mutex);
    EXPECT_TRUE(trailing.empty()) << trailing.size()
                                  << " probes saw counters trail, first: " << trailing.front();
  }
  EXPECT_EQ(Status().blue_to_green().applied(), static_cast<std::uint64_t>(kRows));
  EXPECT_EQ(Status().green_to_blue().applied(), static_cast<std::uint64_t>(kRows));
  manager_.reset();  // before the clock goes
}

TEST_F(SyncTest, NeverEchoesAndFiresNoTriggerOfTheAppForGreensChanges) {
  CreateItems();
  blue_->Exec(
      "CREATE TABLE audit (id INTEGER PRIMARY KEY, item INTEGER);"
      " CREATE TRIGGER audit_items AFTER INSERT ON items BEGIN"
      " INSERT INTO audit (item) VALUES (NEW.id); END");
  Start({"items"});
  for (int id = 1; id <= 5; ++id)
    green_->Exec("INSERT INTO items (id, owner, n) VALUES (" + std::to_string(id) +
                 ", 'green', 0)");
  blue_->Exec("INSERT INTO items VALUES (100, 'blue', 0)");
  ExpectConverged(kItems, kItems);
  const v1::Sync s = Status();
  EXPECT_EQ(s.green_to_blue().applied(), 5u);
  EXPECT_EQ(s.blue_to_green().applied(), 1u);  // green's rows did not come back as blue's
  EXPECT_EQ(blue_->Rows("SELECT item FROM audit"), (Rows{{"100"}}));  // the app's own write only
}

TEST_F(SyncTest, RefusesTablesItCannotSyncByNameAndInstallsNothing) {
  blue_->Exec("CREATE TABLE audit (at TEXT, what TEXT)");
  green_->Exec("CREATE TABLE audit (at timestamptz, what text)");
  blue_->Exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT)");
  green_->Exec("CREATE TABLE orders (id bigint, region text, item text, PRIMARY KEY (id, region))");
  blue_->Exec("CREATE TABLE blue_only (id INTEGER PRIMARY KEY)");
  try {
    Start({"audit", "orders", "blue_only"});
    FAIL() << "started";
  } catch (const SyncError& e) {
    EXPECT_EQ(e.kind(), SyncError::Kind::kFailedPrecondition);
    const std::string why = e.what();
    EXPECT_NE(why.find("audit has no primary key on blue (SQLite)"), std::string::npos) << why;
    EXPECT_NE(why.find("orders: primary key (id) on blue but (id, region) on green"),
              std::string::npos)
        << why;
    EXPECT_NE(why.find("blue_only does not exist on green"), std::string::npos) << why;
  }
  EXPECT_EQ(blue_->Rows("SELECT name FROM sqlite_master WHERE name LIKE '\\_cutover\\_sync%' "
                        "ESCAPE '\\'"),
            Rows{});
  EXPECT_EQ(green_->Query(
                "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"),
            (Rows{{"0"}}));
  EXPECT_EQ(Manager().Get(cutover()).state(), v1::SYNC_STATE_UNSPECIFIED);
}

TEST_F(SyncTest, RefusesAServerWithoutLogicalWalSayingSo) {
  Postgres replica_level;  // wal_level's default: replica
  replica_level.Psql("CREATE TABLE items (id bigint PRIMARY KEY)");
  blue_->Exec("CREATE TABLE items (id INTEGER PRIMARY KEY)");
  v1::SyncSpec spec = Spec({"items"});
  spec.set_green(replica_level.Uri());
  try {
    Manager().Start(cutover(), spec, "", "test");
    FAIL() << "started";
  } catch (const SyncError& e) {
    EXPECT_EQ(e.kind(), SyncError::Kind::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("wal_level is replica"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("set wal_level = logical"), std::string::npos) << e.what();
  }
}

// Both sides change row 1 while the sync is stopped (keeping its capture and
// slot): when it starts again, each side changed the key before it had the
// other's change.
class SyncConflictTest : public SyncTest {
 protected:
  void ChangeRowOneOnBothSides() {
    CreateItems();
    blue_->Exec("INSERT INTO items VALUES (1, 'seed', 0)");
    green_->Exec("INSERT INTO items (id, owner, n) VALUES (1, 'seed', 0)");
    Start({"items"});
    ExpectConverged(kItems, kItems);
    Manager().Stop(cutover(), /*keep=*/true, "", "test");
    blue_->Exec("UPDATE items SET owner = 'blue', n = 10 WHERE id = 1");
    green_->Exec("UPDATE items SET owner = 'green', n = 20 WHERE id = 1");
  }
};

TEST_F(SyncConflictTest, PausePolicyPausesTheSyncAndTheRolloutAndJournalsTableAndKey) {
  ChangeRowOneOnBothSides();
  Start({"items"}, v1::SYNC_CONFLICT_POLICY_PAUSE);
  ASSERT_TRUE(WaitFor([&] { return Manager().Get(cutover()).state() == v1::SYNC_STATE_PAUSED; }))
      << Manager().Get(cutover()).DebugString();
  const v1::Sync s = Manager().Get(cutover());
  EXPECT_EQ(s.conflicts(), 1u);
  EXPECT_NE(s.reason().find("conflict on items id=1"), std::string::npos) << s.reason();
  EXPECT_EQ(s.last_conflict().table(), "items");
  EXPECT_EQ(s.last_conflict().key(), "id=1");
  const auto conflicts = Events(agent::event_kind::kSyncConflict);
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0].sync_conflict().key(), "id=1");
  EXPECT_NE(conflicts[0].reason().find("sync paused"), std::string::npos);
  // The rollout is told just after the state says paused.
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(mutex_);
    return !paused_.empty();
  }));
  {
    std::lock_guard lock(mutex_);
    ASSERT_EQ(paused_.size(), 1u);
    EXPECT_NE(paused_[0].find("conflict on items id=1"), std::string::npos) << paused_[0];
  }
  // Blue never got green's row while paused.
  EXPECT_EQ(blue_->Rows(kItems), (Rows{{"1", "blue", "10"}}));

  // The operator decides: starting again with a winner resolves it and runs on.
  Start({"items"}, v1::SYNC_CONFLICT_POLICY_GREEN_WINS);
  ASSERT_TRUE(WaitFor([&] { return Events(agent::event_kind::kSyncConflict).size() == 2; }));
  ExpectConverged(kItems, kItems);
  EXPECT_EQ(blue_->Rows(kItems), (Rows{{"1", "green", "20"}}));
  EXPECT_EQ(Manager().Get(cutover()).conflicts(), 1u);  // the same conflict, once
}

TEST_F(SyncConflictTest, BlueWinsKeepsBluesRowOnBothSides) {
  ChangeRowOneOnBothSides();
  Start({"items"}, v1::SYNC_CONFLICT_POLICY_BLUE_WINS);
  // Blue's change may reach green first: both then agree before green's
  // change comes through the slot and is found to conflict.
  ASSERT_TRUE(WaitFor([&] { return !Events(agent::event_kind::kSyncConflict).empty(); }));
  ExpectConverged(kItems, kItems);
  EXPECT_EQ(green_->Query(kItems), (Rows{{"1", "blue", "10"}}));
  EXPECT_EQ(Manager().Get(cutover()).conflicts(), 1u);
  const auto conflicts = Events(agent::event_kind::kSyncConflict);
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0].sync_conflict().resolution(), "blue's row kept");
}

TEST_F(SyncConflictTest, GreenWinsKeepsGreensRowOnBothSides) {
  ChangeRowOneOnBothSides();
  Start({"items"}, v1::SYNC_CONFLICT_POLICY_GREEN_WINS);
  ASSERT_TRUE(WaitFor([&] { return !Events(agent::event_kind::kSyncConflict).empty(); }));
  ExpectConverged(kItems, kItems);
  EXPECT_EQ(blue_->Rows(kItems), (Rows{{"1", "green", "20"}}));
  EXPECT_EQ(Manager().Get(cutover()).conflicts(), 1u);
}

TEST_F(SyncTest, ChangesWhileNoSyncRunsArriveOnceWhenItResumes) {
  CreateItems();
  Start({"items"});
  Writer on_blue([&](const std::string& sql) { blue_->Exec(sql); }, 1000, "blue");
  Writer on_green([&](const std::string& sql) { green_->Exec(sql); }, 5000, "green");
  on_blue.Run(100, 3);
  on_green.Run(100, 4);
  // The worker stops as a killed agent's would: no removal, no last word.
  manager_->Shutdown();
  std::vector<v1::Event> journal = Events(agent::event_kind::kSyncStarted);
  manager_.reset();
  on_blue.Run(100, 5);  // while nothing syncs, both sides go on
  on_green.Run(100, 6);
  Manager().Restore(journal);
  ExpectConverged(kItems, kItems);
  const v1::Sync s = Status();
  EXPECT_EQ(s.blue_to_green().applied(), on_blue.changes());
  EXPECT_EQ(s.green_to_blue().applied(), on_green.changes());
}

TEST_F(SyncTest, StoresGreensPositionWhenOnlyItsOwnTransactionsComeBack) {
  // Blue's changes come back through the slot as the sync's own transactions:
  // nothing to apply, but the slot may move past them only once SQLite holds
  // the new position (else PostgreSQL keeps that WAL, and a fast shutdown
  // waits a whole wal_sender_timeout for the confirmation).
  CreateItems();
  Start({"items"});
  const auto position = [&] {
    return blue_->Rows("SELECT value FROM _cutover_sync_state WHERE name = 'green_lsn'");
  };
  Rows before = position();
  for (int id = 1; id <= 3; ++id) {  // each soon after the last one was written
    blue_->Exec("INSERT INTO items VALUES (" + std::to_string(id) + ", 'blue', 0)");
    ExpectConverged(kItems, kItems);
    EXPECT_TRUE(WaitFor([&] { return position() != before; })) << id << ": " << Dump(position());
    before = position();
  }
}

TEST_F(SyncTest, RidesOutAPostgresRestartMidStream) {
  CreateItems();
  Start({"items"});
  Writer on_blue([&](const std::string& sql) { blue_->Exec(sql); }, 1000, "blue");
  Writer on_green([&](const std::string& sql) { green_->Exec(sql); }, 5000, "green");
  on_green.Run(150, 7);
  on_blue.Run(150, 8);
  pg().Stop();
  on_blue.Run(150, 9);  // blue goes on writing while green is down
  pg().Start();
  ASSERT_TRUE(WaitFor([&] { return Manager().Get(cutover()).state() == v1::SYNC_STATE_RUNNING; }))
      << Manager().Get(cutover()).DebugString();
  green_ = std::make_unique<PgClient>(pg().Uri(db_));
  Writer more_green([&](const std::string& sql) { green_->Exec(sql); }, 8000, "green");
  more_green.Run(150, 10);
  ExpectConverged(kItems, kItems);
  const v1::Sync s = Status();
  EXPECT_EQ(s.blue_to_green().applied(), on_blue.changes());
  EXPECT_EQ(s.green_to_blue().applied(), on_green.changes() + more_green.changes());
}

TEST_F(SyncTest, StopRemovesEveryObjectFromBothDatabases) {
  CreateItems();
  Start({"items"});
  const v1::Sync stopped = Manager().Stop(cutover(), /*keep=*/false, "done", "test");
  EXPECT_EQ(stopped.state(), v1::SYNC_STATE_STOPPED);
  EXPECT_NE(stopped.reason().find("removed"), std::string::npos) << stopped.reason();
  EXPECT_EQ(blue_->Rows("SELECT name FROM sqlite_master WHERE name LIKE '\\_cutover\\_sync%' "
                        "ESCAPE '\\'"),
            Rows{});
  EXPECT_EQ(green_->Query(
                "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"),
            (Rows{{"0"}}));
  EXPECT_EQ(green_->Query("SELECT count(*) FROM pg_publication"), (Rows{{"0"}}));
  EXPECT_EQ(green_->Query("SELECT count(*) FROM cutover_sync.position"), (Rows{{"0"}}));
  blue_->Exec("INSERT INTO items VALUES (1, 'after', 0)");  // the app writes as before
  EXPECT_EQ(Events(agent::event_kind::kSyncStopped).size(), 1u);
  EXPECT_THROW(Manager().Stop(cutover(), false, "", "test"), SyncError);  // no sync any more
}

TEST_F(SyncTest, ProvesARevertWithTheWritesInFlightAtTheFlip) {
  CreateItems();
  Start({"items"});
  // Blue is busy (the app holds its write lock) while green takes 30 writes
  // and the traffic goes back to blue: they are all in flight at the flip.
  SqliteFile app(blue_->path());
  app.Exec("BEGIN IMMEDIATE");
  for (int id = 1; id <= 30; ++id)
    green_->Exec("INSERT INTO items (id, owner, n) VALUES (" + std::to_string(id) +
                 ", 'green', 0)");
  v1::Event reverted;
  reverted.set_kind(agent::event_kind::kReverted);
  reverted.set_cutover(cutover());
  reverted.set_sequence(41);
  reverted.set_rollout_id("r1");
  reverted.set_weight_before(25);
  reverted.set_weight_after(0);
  *reverted.mutable_time() = agent::ToProtoTimestamp(clock_.Now());
  Manager().OnEvent(reverted);
  app.Exec("COMMIT");
  ASSERT_TRUE(WaitFor([&] { return !Events(agent::event_kind::kRevertSynced).empty(); }))
      << Manager().Get(cutover()).DebugString();
  const v1::Event proof = Events(agent::event_kind::kRevertSynced)[0];
  EXPECT_EQ(proof.revert_proof().in_flight(), 30u);
  EXPECT_EQ(proof.revert_proof().lost(), 0u);
  EXPECT_TRUE(proof.revert_proof().done());
  EXPECT_EQ(proof.revert_proof().reverted_sequence(), 41u);
  EXPECT_EQ(proof.revert_proof().to_slot(), v1::SLOT_BLUE);
  EXPECT_NE(proof.reason().find("30 green writes in flight at the revert, all applied to blue "),
            std::string::npos)
      << proof.reason();
  EXPECT_NE(proof.reason().find("later, 0 lost"), std::string::npos) << proof.reason();
  EXPECT_EQ(blue_->Rows("SELECT count(*) FROM items WHERE owner = 'green'"), (Rows{{"30"}}));
  EXPECT_EQ(Manager().Get(cutover()).last_revert().in_flight(), 30u);
}

TEST_F(SyncTest, ConvertsValuesByTheParityGatesCanonicalRules) {
  blue_->Exec("CREATE TABLE kinds (id INTEGER PRIMARY KEY, flag, amount, ratio, raw, at, code)");
  green_->Exec(
      "CREATE TABLE kinds (id bigint PRIMARY KEY, flag boolean, amount numeric(12,2),"
      " ratio double precision, raw bytea, at timestamptz, code char(4))");
  Start({"kinds"});
  blue_->Exec(
      "INSERT INTO kinds VALUES (1, 1, 12.5, 0.1, x'00ff', '2024-03-04T07:06:07+02:00', 'ab')");
  green_->Exec(
      "INSERT INTO kinds VALUES (2, false, 3.00, 1e-7, '\\x0102', '2024-03-04 05:06:07.25+00', "
      "'cd')");
  ASSERT_TRUE(WaitFor([&] {
    return blue_->Rows("SELECT count(*) FROM kinds") == Rows{{"2"}} &&
           green_->Query("SELECT count(*) FROM kinds") == Rows{{"2"}};
  }));
  // What SQLite got from green: the canonical forms.
  EXPECT_EQ(
      blue_->Rows("SELECT flag, typeof(amount), amount, raw, at, code FROM kinds WHERE id = 2"),
      (Rows{{"0", "real", "3.0", "x'0102'", "2024-03-04T05:06:07.25Z", "cd"}}));
  EXPECT_EQ(green_->Query(
                "SELECT flag, amount, raw, at AT TIME ZONE 'UTC', code FROM kinds WHERE id = 1"),
            (Rows{{"t", "12.50", "\\x00ff", "2024-03-04 05:06:07", "ab  "}}));
  // And the parity gate, comparing by the same rules, finds the tables equal.
  v1::Gate spec;
  spec.mutable_parity()->set_source(blue_->Dsn());
  spec.mutable_parity()->set_target(pg().Uri(db_));
  spec.mutable_parity()->add_tables("kinds");
  spec.mutable_parity()->set_checksum(true);
  google::protobuf::RepeatedPtrField<v1::Gate> specs;
  *specs.Add() = spec;
  const auto outcome = gates::MakeGates(specs)[0]->Evaluate({});
  EXPECT_TRUE(outcome.passed) << outcome.detail;
}

}  // namespace
}  // namespace cutover::test
