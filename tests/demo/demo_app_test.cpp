// The demo app against a real SQLite file and a real PostgreSQL: the same
// API on both slots, the SQLite -> PostgreSQL migration, fault injection.
#include "support/demo_app.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "support/http.hpp"
#include "support/postgres.hpp"

namespace cutover::test {
namespace {

using nlohmann::json;

const std::map<std::string, std::string> kJson = {{"Content-Type", "application/json"}};

// SQL straight into the blue slot's file, behind the app's back.
void SqliteExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
      << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

json Body(const HttpResponse& r) { return json::parse(r.body); }

// Every order the app serves, page by page, as it answers them.
json AllOrders(HttpClient& http, const DemoApp& app) {
  json all = json::array();
  for (std::int64_t after = 0;;) {
    auto r = http.Get(app.Url("/orders?limit=1000&after=" + std::to_string(after)));
    EXPECT_EQ(r.status, 200) << r.body;
    const json page = Body(r).at("orders");
    for (const auto& o : page) all.push_back(o);
    if (page.size() < 1000) return all;
    after = page.back().at("id").get<std::int64_t>();
  }
}

void ExpectServesOrders(const std::string& slot, const std::string& db, const std::string& engine) {
  TempDir dir("demo-app");
  ASSERT_EQ(RunDemoApp({"seed", "--db", db, "--orders", "20", "--customers", "3"}).exit_code, 0);
  // Seeding again tops up to the count asked for: it adds nothing here.
  ASSERT_EQ(RunDemoApp({"seed", "--db", db, "--orders", "20", "--customers", "3"}).exit_code, 0);
  DemoApp app(dir, slot, db);
  HttpClient http;

  auto health = http.Get(app.Url("/health"));
  ASSERT_EQ(health.status, 200);
  EXPECT_EQ(Body(health).at("slot"), slot);
  EXPECT_EQ(Body(health).at("database"), engine);
  EXPECT_EQ(Body(health).at("version"), slot == "blue" ? "1.0" : "2.0");

  auto created = http.Post(app.Url("/orders"),
                           R"({"customer_id": 2, "item": "café grinder", "quantity": 3})", kJson);
  ASSERT_EQ(created.status, 201) << created.body;
  const json order = Body(created);
  EXPECT_EQ(order.at("id"), 21);  // after the 20 seeded orders
  EXPECT_EQ(created.Header("Location"), "/orders/21");

  auto fetched = http.Get(app.Url("/orders/21"));
  ASSERT_EQ(fetched.status, 200);
  EXPECT_EQ(Body(fetched), order);  // byte for byte what was stored, UTF-8 included
  EXPECT_EQ(Body(fetched).at("item"), "café grinder");
  EXPECT_EQ(Body(fetched).at("customer_id"), 2);

  auto list = http.Get(app.Url("/orders?after=19&limit=5"));
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(Body(list).at("orders").size(), 2u);
  EXPECT_EQ(Body(list).at("orders")[1], order);

  EXPECT_EQ(http.Get(app.Url("/orders/999")).status, 404);
  EXPECT_EQ(
      http.Post(app.Url("/orders"), R"({"customer_id": 99, "item": "x", "quantity": 1})", kJson)
          .status,
      422);
  EXPECT_EQ(
      http.Post(app.Url("/orders"), R"({"customer_id": 1, "item": "x", "quantity": 0})", kJson)
          .status,
      400);
  EXPECT_EQ(http.Post(app.Url("/orders"),
                      R"({"customer_id": 1, "item": "x", "quantity": 4294967297})", kJson)
                .status,
            400);
  EXPECT_EQ(http.Post(app.Url("/orders"), R"({"customer_id": 1, "item": "x"})", kJson).status, 400);
  EXPECT_EQ(http.Post(app.Url("/orders"), "not json", kJson).status, 400);
  EXPECT_EQ(http.Get(app.Url("/orders?limit=0")).status, 400);
  // Nothing invalid was written.
  EXPECT_EQ(AllOrders(http, app).size(), 21u);

  // A customer's details change in place (the sync's per-customer row).
  auto renamed = http.Request("PUT", app.Url("/customers/2"), R"({"name": "Ada"})", kJson);
  ASSERT_EQ(renamed.status, 200) << renamed.body;
  EXPECT_EQ(Body(renamed).at("name"), "Ada");
  EXPECT_EQ(Body(renamed).at("email"), "customer2@example.com");
  EXPECT_EQ(http.Request("PUT", app.Url("/customers/99"), R"({"name": "x"})", kJson).status, 404);
  EXPECT_EQ(http.Request("PUT", app.Url("/customers/2"), R"({"name": ""})", kJson).status, 400);
}

TEST(DemoApp, ServesOrdersOnSqlite) {
  TempDir db("demo-sqlite");
  ExpectServesOrders("blue", "sqlite:" + (db / "app.db"), "sqlite");
}

TEST(DemoApp, ServesOrdersOnPostgres) {
  Postgres pg;
  ExpectServesOrders("green", pg.Uri(), "postgresql");
}

TEST(DemoApp, MigrationCopiesEveryRowAndAlignsSequences) {
  TempDir dir("demo-migrate");
  Postgres pg;
  const std::string sqlite = "sqlite:" + (dir / "blue.db");
  ASSERT_EQ(RunDemoApp({"seed", "--db", sqlite, "--orders", "1500", "--customers", "7"}).exit_code,
            0);
  // A deleted order: its id is never handed out again, on SQLite or after
  // migration, so ids in logs and emails stay unambiguous.
  {
    DemoApp blue(dir, "blue", sqlite);
    HttpClient http;
    ASSERT_EQ(
        http.Post(blue.Url("/orders"), R"({"customer_id": 7, "item": "x", "quantity": 1})", kJson)
            .status,
        201);
  }
  SqliteExec(dir / "blue.db", "DELETE FROM orders WHERE id = 1501");

  auto migrated = RunDemoApp({"migrate", "--from", sqlite, "--to", pg.Uri()});
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_NE(migrated.out.find("orders: 1500 rows copied, next id 1502"), std::string::npos)
      << migrated.out;
  EXPECT_EQ(pg.Psql("SELECT count(*) FROM customers"), "7\n");
  EXPECT_EQ(pg.Psql("SELECT count(*) FROM orders"), "1500\n");
  EXPECT_NE(migrated.out.find("customers: 7 rows copied, next id 8"), std::string::npos);

  DemoApp blue(dir, "blue", sqlite);
  DemoApp green(dir, "green", pg.Uri());
  HttpClient http;
  const json on_blue = AllOrders(http, blue);
  const json on_green = AllOrders(http, green);
  ASSERT_EQ(on_blue.size(), 1500u);
  EXPECT_EQ(on_green, on_blue);  // every row, every column, same ids

  // The first write on green continues the sequence: no duplicate key.
  auto created =
      http.Post(green.Url("/orders"), R"({"customer_id": 7, "item": "y", "quantity": 2})", kJson);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Body(created).at("id"), 1502);
  EXPECT_EQ(pg.Psql("SELECT max(id) FROM orders"), "1502\n");
  EXPECT_EQ(pg.Psql("SELECT nextval(pg_get_serial_sequence('customers', 'id'))"), "8\n");

  // A second migration refuses the non-empty target and leaves it alone.
  auto again = RunDemoApp({"migrate", "--from", sqlite, "--to", pg.Uri()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already holds"), std::string::npos) << again.err;
  EXPECT_EQ(pg.Psql("SELECT count(*) FROM orders"), "1501\n");
}

TEST(DemoApp, MigrationCanGiveBlueAnIdRangeOfItsOwnForATwoWaySync) {
  TempDir dir("demo-migrate");
  Postgres pg;
  const std::string sqlite = "sqlite:" + (dir / "blue.db");
  ASSERT_EQ(RunDemoApp({"seed", "--db", sqlite, "--orders", "30", "--customers", "3"}).exit_code,
            0);
  auto migrated =
      RunDemoApp({"migrate", "--from", sqlite, "--to", pg.Uri(), "--blue-ids-from", "1000000"});
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_NE(migrated.out.find("orders: SQLite's next id is now 1000000"), std::string::npos)
      << migrated.out;
  DemoApp blue(dir, "blue", sqlite);
  DemoApp green(dir, "green", pg.Uri());
  HttpClient http;
  const std::string order = R"({"customer_id": 1, "item": "x", "quantity": 1})";
  EXPECT_EQ(Body(http.Post(blue.Url("/orders"), order, kJson)).at("id"), 1000000);
  EXPECT_EQ(Body(http.Post(green.Url("/orders"), order, kJson)).at("id"), 31);
  // Green's ids arriving in blue (as the sync writes them) stay below blue's range.
  SqliteExec(dir / "blue.db",
             "INSERT INTO orders (id, customer_id, item, quantity, created_at) "
             "VALUES (31, 1, 'x', 1, '2026-01-01T00:00:00Z')");
  EXPECT_EQ(Body(http.Post(blue.Url("/orders"), order, kJson)).at("id"), 1000001);
  // A range SQLite already reaches is refused.
  Postgres other;
  auto refused =
      RunDemoApp({"migrate", "--from", sqlite, "--to", other.Uri(), "--blue-ids-from", "10"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("past --blue-ids-from 10"), std::string::npos) << refused.err;
}

TEST(DemoApp, MigrationIsAllOrNothing) {
  TempDir dir("demo-migrate");
  Postgres pg;
  const std::string sqlite = "sqlite:" + (dir / "blue.db");
  ASSERT_EQ(RunDemoApp({"seed", "--db", sqlite, "--orders", "50"}).exit_code, 0);
  // An orphan order, as old SQLite files often hold (foreign keys are off
  // unless a connection asks): PostgreSQL refuses it half way through.
  SqliteExec(dir / "blue.db",
             "INSERT INTO orders (customer_id, item, quantity, created_at) "
             "VALUES (999, 'orphan', 1, '2026-01-01T00:00:00Z')");
  auto r = RunDemoApp({"migrate", "--from", sqlite, "--to", pg.Uri()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("foreign key"), std::string::npos) << r.err;
  // Not even the schema is left behind: it was created in the same transaction.
  EXPECT_EQ(pg.Psql("SELECT count(*) FROM pg_tables WHERE tablename IN ('customers', 'orders')"),
            "0\n");
}

TEST(DemoApp, MigrationFromAMissingFileFailsWithoutTouchingTheTarget) {
  TempDir dir("demo-migrate");
  Postgres pg;
  auto r = RunDemoApp({"migrate", "--from", "sqlite:" + (dir / "absent.db"), "--to", pg.Uri()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no SQLite database"), std::string::npos) << r.err;
  EXPECT_FALSE(FileExists(dir / "absent.db"));
  EXPECT_EQ(pg.Psql("SELECT count(*) FROM pg_tables WHERE tablename = 'orders'"), "0\n");
}

TEST(DemoApp, FailRateAnswers500OnTheApiUntilTurnedOff) {
  TempDir dir("demo-fail");
  const std::string db = "sqlite:" + (dir / "app.db");
  ASSERT_EQ(RunDemoApp({"seed", "--db", db, "--orders", "3"}).exit_code, 0);
  DemoApp app(dir, "green", db, {"--fail-rate", "1.0"});
  HttpClient http;

  for (int i = 0; i < 5; ++i) EXPECT_EQ(http.Get(app.Url("/orders/1")).status, 500);
  EXPECT_EQ(
      http.Post(app.Url("/orders"), R"({"customer_id": 1, "item": "x", "quantity": 1})", kJson)
          .status,
      500);
  // The process stays healthy and observable while its API fails.
  auto health = http.Get(app.Url("/health"));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(Body(health).at("fail_rate"), 1.0);

  // Half: exactly every other request over any even run.
  ASSERT_EQ(http.Post(app.Url("/admin/fail-rate"), R"({"fail_rate": 0.5})", kJson).status, 200);
  int failed = 0;
  for (int i = 0; i < 20; ++i) failed += http.Get(app.Url("/orders/1")).status == 500;
  EXPECT_EQ(failed, 10);

  ASSERT_EQ(http.Post(app.Url("/admin/fail-rate"), R"({"fail_rate": 0})", kJson).status, 200);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(http.Get(app.Url("/orders/1")).status, 200);
  EXPECT_EQ(http.Post(app.Url("/admin/fail-rate"), R"({"fail_rate": 1.5})", kJson).status, 400);
  // The failed POST wrote nothing.
  EXPECT_EQ(http.Get(app.Url("/orders/4")).status, 404);
}

TEST(DemoApp, StopsCleanlyOnSigterm) {
  TempDir dir("demo-stop");
  DemoApp app(dir, "blue", "sqlite:" + (dir / "app.db"));
  app.process().Signal(SIGTERM);
  EXPECT_EQ(app.process().Wait(), 0);
}

TEST(DemoApp, RejectsBadUsage) {
  EXPECT_EQ(RunDemoApp({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(RunDemoApp({"--listen", "127.0.0.1:1"}).exit_code, 2);  // no --db
  EXPECT_EQ(RunDemoApp({"--listen", "127.0.0.1:1", "--db", "mysql://x"}).exit_code, 1);
  EXPECT_EQ(
      RunDemoApp({"--listen", "127.0.0.1:1", "--db", "sqlite:x", "--fail-rate", "2"}).exit_code, 2);
  EXPECT_EQ(RunDemoApp({"seed", "--db", "sqlite:x", "--orders", "many"}).exit_code, 2);
}

}  // namespace
}  // namespace cutover::test
