// The sync through the whole stack, all real: the demo app on SQLite (blue)
// and PostgreSQL with logical WAL (green), nginx with the module, the
// cutover-agent binary over gRPC and cutoverctl. Zero loss is asserted as
// exact row sets and exact applied counts.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "support/cutoverctl.hpp"
#include "support/demo_site.hpp"
#include "support/http.hpp"
#include "support/postgres_suite.hpp"
#include "support/sqlite_file.hpp"

namespace cutover::test {
namespace {

using nlohmann::json;
using Rows = std::vector<std::vector<std::string>>;

const std::map<std::string, std::string> kJson = {{"Content-Type", "application/json"}};
constexpr const char* kOrders = "SELECT id, customer_id, item, quantity FROM orders ORDER BY id";
constexpr const char* kCustomers = "SELECT id, name, email FROM customers ORDER BY id";

class SyncStackTest : public LogicalPostgresSuite {
 protected:
  std::unique_ptr<DemoSite> Site(DemoSiteOptions options = {}) {
    static int counter = 0;
    return std::make_unique<DemoSite>(pg(), "stack_" + std::to_string(++counter), options);
  }
  static json SyncStatus(DemoSite& site) {
    const auto r = site.Ctl({"--json", "sync", "status", "app"});
    EXPECT_EQ(r.exit_code, 0) << Said(r);
    return r.exit_code == 0 ? json::parse(r.out) : json::object();
  }
  static std::uint64_t Number(const json& j) {  // proto3 JSON: 64-bit integers are strings
    return j.is_string() ? std::stoull(j.get<std::string>()) : j.get<std::uint64_t>();
  }
  // Running, nothing pending either way, and both sides hold these rows.
  static bool Converged(DemoSite& site, const char* sql) {
    const json s = SyncStatus(site);
    if (s.value("state", "") != "SYNC_STATE_RUNNING" ||
        Number(s["blue_to_green"]["pending"]) != 0 || Number(s["green_to_blue"]["pending"]) != 0)
      return false;
    SqliteFile blue(site.blue_path());
    PgClient green(site.green_dsn());
    return blue.Rows(sql) == green.Query(sql);
  }
  static void ExpectConverged(DemoSite& site, const char* sql) {
    const bool converged = WaitFor([&] { return Converged(site, sql); }, 60s);
    EXPECT_TRUE(converged) << "sync: " << site.Ctl({"sync", "status", "app"}).out
                           << site.agent().Log();
  }
  static void StartSync(DemoSite& site, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"sync",           "start",         "app",
                                     "--blue",         site.blue_dsn(), "--green",
                                     site.green_dsn(), "--tables",      "all"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto started = site.Ctl(args);
    ASSERT_EQ(started.exit_code, 0) << Said(started) << site.agent().Log();
  }
  static std::string History(DemoSite& site) {
    return site.Ctl({"history", "app", "--limit", "200"}).out;
  }
};

TEST_F(SyncStackTest, CutoverctlStartsShowsAndStopsTheSyncWithoutEverPrintingThePassword) {
  DemoSiteOptions options;
  options.metrics = true;
  auto site = Site(options);
  // Trust authentication ignores the password: it is there to be hidden.
  const std::string green = site->green_dsn();
  const std::string with_password =
      "postgresql://postgres:hunter2@" + green.substr(green.find('@') + 1);
  const auto started =
      site->Ctl({"sync", "start", "app", "--blue", site->blue_dsn(), "--green", with_password,
                 "--tables", "customers,orders", "--reason", "release 2.0 window"});
  ASSERT_EQ(started.exit_code, 0) << Said(started);
  EXPECT_NE(started.out.find("sync app: running"), std::string::npos) << started.out;
  EXPECT_NE(started.out.find("tables: customers, orders"), std::string::npos) << started.out;
  EXPECT_NE(started.out.find("postgres:***@"), std::string::npos) << started.out;

  // An order on each slot, straight to each app: each arrives on the other side.
  HttpClient http;
  const std::string order = R"({"customer_id": 3, "item": "kettle", "quantity": 2})";
  const auto on_blue = http.Post(site->blue().Url("/orders"), order, kJson);
  const auto on_green = http.Post(site->green().Url("/orders"), order, kJson);
  ASSERT_EQ(on_blue.status, 201);
  ASSERT_EQ(on_green.status, 201);
  ExpectConverged(*site, kOrders);
  const json s = SyncStatus(*site);
  EXPECT_EQ(s["state"], "SYNC_STATE_RUNNING");
  for (const char* direction : {"blue_to_green", "green_to_blue"}) {
    ASSERT_TRUE(s.contains(direction)) << s.dump();
    EXPECT_EQ(Number(s[direction]["pending"]), 0u);
    EXPECT_EQ(Number(s[direction]["applied"]), 1u) << direction;
    EXPECT_TRUE(s[direction]["lag_ms"].is_number());
  }
  EXPECT_EQ(Number(s["conflicts"]), 0u);

  // Metrics per direction; the sync gate in a preflight sees the same.
  HttpClient scraper;
  std::string scrape;
  EXPECT_TRUE(WaitFor([&] {
    scrape = scraper.Get(site->metrics_url()).body;
    return scrape.find(
               "cutover_sync_applied_total{cutover=\"app\",direction=\"green_to_blue\"} 1") !=
           std::string::npos;
  })) << scrape;
  for (const char* line :
       {"cutover_sync_applied_total{cutover=\"app\",direction=\"blue_to_green\"} 1",
        "cutover_sync_pending{cutover=\"app\",direction=\"blue_to_green\"} 0",
        "cutover_sync_streaming{cutover=\"app\",direction=\"green_to_blue\"} 1",
        "cutover_sync_lag_seconds{cutover=\"app\",direction=\"green_to_blue\"}",
        "cutover_sync_conflicts_total{cutover=\"app\"} 0", "cutover_sync_state{cutover=\"app\"} 2"})
    EXPECT_NE(scrape.find(line), std::string::npos) << line << "\n" << scrape;
  WriteFile(site->dir() / "gate.yaml",
            "steps: [{percent: 1, hold: 1m}]\nanalysis: {window: 10s}\n"
            "gates:\n  - sync: {max_lag: 5s, max_conflicts: 0}\n");
  const auto preflight = site->Ctl({"preflight", site->dir() / "gate.yaml", "--cutover", "app"});
  EXPECT_EQ(preflight.exit_code, 0) << Said(preflight);
  EXPECT_NE(preflight.out.find("sync  pass"), std::string::npos) << preflight.out;

  const auto status = site->Ctl({"sync", "status", "app"});
  EXPECT_NE(status.out.find("blue_to_green"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("conflicts: 0"), std::string::npos) << status.out;
  EXPECT_NE(site->Ctl({"status", "app"}).out.find("cutover app"), std::string::npos);
  const std::string history = History(*site);
  EXPECT_NE(history.find("sync_started"), std::string::npos) << history;
  EXPECT_NE(history.find("release 2.0 window"), std::string::npos) << history;

  const auto stopped = site->Ctl({"sync", "stop", "app", "--reason", "window over"});
  ASSERT_EQ(stopped.exit_code, 0) << Said(stopped);
  EXPECT_NE(stopped.out.find("sync app: stopped"), std::string::npos) << stopped.out;
  EXPECT_NE(stopped.out.find("removed"), std::string::npos) << stopped.out;
  SqliteFile blue(site->blue_path());
  EXPECT_EQ(blue.Rows("SELECT count(*) FROM sqlite_master WHERE name LIKE '\\_cutover\\_sync%' "
                      "ESCAPE '\\'"),
            (Rows{{"0"}}));
  EXPECT_NE(History(*site).find("sync_stopped"), std::string::npos);

  // The password never reached an answer, the journal or the log.
  for (const std::string& said :
       {started.out + started.err, status.out, stopped.out, History(*site), scrape,
        ReadFile(site->agent().options().journal + "/journal.jsonl"), site->agent().Log()})
    EXPECT_EQ(said.find("hunter2"), std::string::npos) << said;
}

// The sync's three RPCs over the HTTP/JSON API, at their routes, as curl
// would call them on the agent's unix socket.
TEST_F(SyncStackTest, TheHttpApiStartsShowsAndStopsTheSync) {
  DemoSiteOptions options;
  options.http = true;
  auto site = Site(options);
  HttpClient api(site->http_socket());
  const json spec = {{"spec",
                      {{"blue", site->blue_dsn()},
                       {"green", site->green_dsn()},
                       {"tables", {"customers", "orders"}}}},
                     {"reason", "over http"}};
  const auto started = api.Post("http://localhost/v1/cutovers/app:startSync", spec.dump(), kJson);
  ASSERT_EQ(started.status, 200) << started.body << site->agent().Log();
  EXPECT_EQ(json::parse(started.body)["sync"]["state"], "SYNC_STATE_RUNNING") << started.body;

  HttpClient http;
  const auto on_green = http.Post(site->green().Url("/orders"),
                                  R"({"customer_id": 4, "item": "teapot", "quantity": 1})", kJson);
  ASSERT_EQ(on_green.status, 201);
  json sync;
  EXPECT_TRUE(WaitFor([&] {
    const auto got = api.Get("http://localhost/v1/cutovers/app/sync");
    if (got.status != 200) return false;
    sync = json::parse(got.body)["sync"];
    return Number(sync["green_to_blue"]["applied"]) == 1;
  })) << sync.dump();
  EXPECT_EQ(sync["tables"], json({"customers", "orders"})) << sync.dump();

  // A bad argument is the API's INVALID_ARGUMENT naming the field, as over gRPC.
  const auto bad = api.Post("http://localhost/v1/cutovers/app:startSync",
                            R"({"spec": {"blue": "sqlite://relative.db"}})", kJson);
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("spec.blue"), std::string::npos) << bad.body;

  const auto stopped =
      api.Post("http://localhost/v1/cutovers/app:stopSync", R"({"reason": "done"})", kJson);
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_EQ(json::parse(stopped.body)["sync"]["state"], "SYNC_STATE_STOPPED") << stopped.body;
  const std::string history = History(*site);
  EXPECT_NE(history.find("sync_started"), std::string::npos) << history;
  EXPECT_NE(history.find("sync_stopped"), std::string::npos) << history;
}

TEST_F(SyncStackTest, BadStartsAreRefusedNamingTheProblem) {
  auto site = Site();
  const auto no_green =
      site->Ctl({"sync", "start", "app", "--blue", site->blue_dsn(), "--tables", "all"});
  EXPECT_EQ(no_green.exit_code, 2) << Said(no_green);
  EXPECT_NE(no_green.err.find("spec.green: is required"), std::string::npos) << no_green.err;
  const auto policy = site->Ctl({"sync", "start", "app", "--blue", site->blue_dsn(), "--green",
                                 site->green_dsn(), "--tables", "all", "--on-conflict", "maybe"});
  EXPECT_EQ(policy.exit_code, 2) << Said(policy);
  EXPECT_NE(policy.err.find("--on-conflict"), std::string::npos) << policy.err;
  const auto unknown = site->Ctl({"sync", "start", "nosuch", "--blue", site->blue_dsn(), "--green",
                                  site->green_dsn(), "--tables", "all"});
  EXPECT_EQ(unknown.exit_code, 2) << Said(unknown);
  EXPECT_NE(unknown.err.find("unknown cutover \"nosuch\""), std::string::npos) << unknown.err;
  // A table without a primary key: refused by name, nothing installed.
  SqliteFile(site->blue_path()).Exec("CREATE TABLE audit (at TEXT, what TEXT)");
  PgClient(site->green_dsn()).Exec("CREATE TABLE audit (at timestamptz, what text)");
  const auto no_key = site->Ctl({"sync", "start", "app", "--blue", site->blue_dsn(), "--green",
                                 site->green_dsn(), "--tables", "all"});
  EXPECT_EQ(no_key.exit_code, 1) << Said(no_key);
  EXPECT_NE(no_key.err.find("audit has no primary key on blue (SQLite)"), std::string::npos)
      << no_key.err;
  const auto none = site->Ctl({"sync", "status", "app"});
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_NE(none.out.find("no sync for cutover app"), std::string::npos) << none.out;
  EXPECT_EQ(site->Ctl({"sync", "stop", "app"}).exit_code, 1);
  EXPECT_EQ(site->Ctl({"sync"}).exit_code, 2);
  EXPECT_EQ(site->Ctl({"sync", "pause", "app"}).exit_code, 2);
}

// Orders written straight to one slot's app, counting the row changes.
class OrderWriter {
 public:
  OrderWriter(std::string url, int customers) : url_(std::move(url)), customers_(customers) {}
  void Run(int orders) {
    HttpClient http;
    for (int i = 0; i < orders; ++i) {
      const std::string body = R"({"customer_id": )" + std::to_string(1 + i % customers_) +
                               R"(, "item": "thing )" + std::to_string(i) + R"(", "quantity": 1})";
      const auto r = http.Post(url_ + "/orders", body, kJson);
      if (r.status == 201) ++changes_;
    }
  }
  std::uint64_t changes() const { return changes_; }

 private:
  std::string url_;
  int customers_;
  std::atomic<std::uint64_t> changes_{0};
};

TEST_F(SyncStackTest, SigkillOfTheAgentMidStreamLosesNothingAndAppliesNothingTwice) {
  auto site = Site();
  ASSERT_NO_FATAL_FAILURE(StartSync(*site));
  OrderWriter on_blue(site->blue().Url(""), 10), on_green(site->green().Url(""), 10);
  {
    std::thread b([&] { on_blue.Run(150); });
    std::thread g([&] { on_green.Run(150); });
    b.join();
    g.join();
  }
  // Mid-stream: changes are still pending when the agent dies.
  EXPECT_EQ(site->agent().StopWith(SIGKILL), 128 + SIGKILL);
  {
    std::thread b([&] { on_blue.Run(100); });
    std::thread g([&] { on_green.Run(100); });
    b.join();
    g.join();
  }
  site->agent().Start();  // resumes the sync from its journal
  ExpectConverged(*site, kOrders);
  const json s = SyncStatus(*site);
  EXPECT_EQ(Number(s["blue_to_green"]["applied"]), on_blue.changes());
  EXPECT_EQ(Number(s["green_to_blue"]["applied"]), on_green.changes());
  EXPECT_EQ(on_blue.changes() + on_green.changes(), 500u);
  EXPECT_EQ(PgClient(site->green_dsn()).Query("SELECT count(*) FROM orders"), (Rows{{"550"}}));
  EXPECT_NE(site->agent().Log().find("resuming the sync"), std::string::npos)
      << site->agent().Log();
}

TEST_F(SyncStackTest, ARevertDuringARolloutLeavesEveryOneOfGreensWritesInSqlite) {
  auto site = Site();
  ASSERT_NO_FATAL_FAILURE(StartSync(*site));
  WriteFile(site->dir() / "plan.yaml", R"(steps:
  - {percent: 50, hold: 1h}
  - {percent: 100, hold: 1h}
analysis: {window: 2s, min_requests: 5, max_error_rate: 5%}
on_breach: revert
gates:
  - sync: {max_lag: 5s, max_conflicts: 0}
  - reversibility: {policy: block, max_writes: 1000}
)");
  const auto rollout = site->Ctl({"rollout", "start", "app", site->dir() / "plan.yaml"});
  ASSERT_EQ(rollout.exit_code, 0) << Said(rollout);
  ASSERT_TRUE(WaitFor([&] {
    return site->Ctl({"status", "app"}).out.find("step 1/2") != std::string::npos;
  })) << site->Ctl({"status", "app"}).out;

  // Orders through nginx; green answers about half of them.
  std::mutex mutex;
  std::set<std::int64_t> green_orders;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  struct JoinOnExit {  // a failed assertion must not leave them running
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~JoinOnExit() {
      stop = true;
      for (auto& t : threads)
        if (t.joinable()) t.join();
    }
  } join_on_exit{stop, clients};
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&, t] {
      HttpClient http;
      for (int i = 0; !stop; ++i) {
        const auto r = http.Post(site->Url("/orders"),
                                 R"({"customer_id": )" + std::to_string(1 + (t + i) % 10) +
                                     R"(, "item": "through nginx", "quantity": 1})",
                                 kJson);
        if (r.status == 201 && r.Header("X-Backend-Server") == "green") {
          std::lock_guard lock(mutex);
          green_orders.insert(json::parse(r.body).at("id").get<std::int64_t>());
        }
      }
    });
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(mutex);
    return green_orders.size() >= 40;
  }));
  // Green's release goes bad: the agent reverts on its own.
  HttpClient admin;
  ASSERT_EQ(
      admin.Post(site->green().Url("/admin/fail-rate"), R"({"fail_rate": 1.0})", kJson).status,
      200);
  ASSERT_TRUE(WaitFor([&] { return History(*site).find("revert_synced") != std::string::npos; }))
      << History(*site) << site->agent().Log();
  stop = true;
  for (auto& c : clients) c.join();

  const std::string history = History(*site);
  EXPECT_NE(history.find("reverted"), std::string::npos) << history;
  EXPECT_NE(history.find("green writes in flight at the revert"), std::string::npos) << history;
  EXPECT_NE(history.find(" 0 lost"), std::string::npos) << history;
  // Every order green took is in SQLite, as green stored it.
  ExpectConverged(*site, kOrders);
  SqliteFile blue(site->blue_path());
  std::string ids;
  for (auto id : green_orders) ids += (ids.empty() ? "" : ",") + std::to_string(id);
  EXPECT_EQ(
      blue.Rows("SELECT count(*) FROM orders WHERE item = 'through nginx' AND id IN (" + ids + ")"),
      (Rows{{std::to_string(green_orders.size())}}));
  // watch shows the proof of the revert, then ends as a revert does.
  const auto watch = site->Ctl({"watch", "app", "--interval", "100ms", "--exit-on-end"});
  EXPECT_EQ(watch.exit_code, 1) << Said(watch);
  EXPECT_NE(watch.out.find("revert: "), std::string::npos) << watch.out;
  EXPECT_NE(watch.out.find("0 lost"), std::string::npos) << watch.out;
  // And the parity gate agrees, row for row.
  WriteFile(site->dir() / "parity.yaml",
            "steps: [{percent: 1, hold: 1m}]\nanalysis: {window: 10s}\ngates:\n  - parity: "
            "{source: \"" +
                site->blue_dsn() + "\", target: \"" + site->green_dsn() +
                "\", tables: all, checksum: true}\n");
  const auto parity = site->Ctl({"preflight", site->dir() / "parity.yaml"});
  EXPECT_EQ(parity.exit_code, 0) << Said(parity);
  EXPECT_NE(parity.out.find("verdict: GO"), std::string::npos) << parity.out;
}

// Renames of each customer's own row, from 4 clients each with its customers.
void RenameCustomers(const std::string& url_prefix, int customers, int rounds) {
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&, t] {
      HttpClient http;
      for (int round = 0; round < rounds; ++round)
        for (int c = 1 + t; c <= customers; c += 4) {
          const std::string name = "customer " + std::to_string(c) + " v" + std::to_string(round);
          http.Request("PUT", url_prefix + "/customers/" + std::to_string(c),
                       R"({"name": ")" + name + R"("})",
                       {{"Content-Type", "application/json"}, {"X-Customer", std::to_string(c)}});
        }
    });
  for (auto& c : clients) c.join();
}

TEST_F(SyncStackTest, AKeySplitPerCustomerCannotConflictOnTheCustomersOwnRows) {
  DemoSiteOptions options;
  options.cutover_params = "key=$http_x_customer";
  options.unkeyed_twin = true;
  options.customers = 24;
  auto site = Site(options);
  ASSERT_NO_FATAL_FAILURE(StartSync(*site, {"--on-conflict", "green_wins"}));
  ASSERT_EQ(site->Ctl({"set-weight", "app", "50"}).exit_code, 0);
  ASSERT_EQ(site->Ctl({"set-weight", "mixed", "50"}).exit_code, 0);
  const auto conflicts = [&] { return Number(SyncStatus(*site)["conflicts"]); };

  // key=: each customer is served by one slot, so its row is written on one
  // side only, with the sync running...
  RenameCustomers(site->Url(""), 24, 20);
  ExpectConverged(*site, kCustomers);
  EXPECT_EQ(conflicts(), 0u);
  EXPECT_GT(Number(SyncStatus(*site)["green_to_blue"]["applied"]), 0u);  // green did take some
  EXPECT_GT(Number(SyncStatus(*site)["blue_to_green"]["applied"]), 0u);
  // ...and with it stopped, however long: still no row changed on both sides.
  ASSERT_EQ(site->Ctl({"sync", "stop", "app", "--keep"}).exit_code, 0);
  RenameCustomers(site->Url(""), 24, 20);
  ASSERT_NO_FATAL_FAILURE(StartSync(*site, {"--on-conflict", "green_wins"}));
  ExpectConverged(*site, kCustomers);
  EXPECT_EQ(conflicts(), 0u) << History(*site);
  EXPECT_EQ(SqliteFile(site->blue_path()).Rows("SELECT name FROM customers WHERE id = 24"),
            (Rows{{"customer 24 v19"}}));

  // The same renames without the key: one customer's consecutive requests
  // alternate slots, so its row changes on both sides before either change
  // reaches the other, and the sync counts (and here resolves) conflicts.
  ASSERT_EQ(site->Ctl({"sync", "stop", "app", "--keep"}).exit_code, 0);
  RenameCustomers(site->Url("/mixed"), 24, 20);
  ASSERT_NO_FATAL_FAILURE(StartSync(*site, {"--on-conflict", "green_wins"}));
  ASSERT_TRUE(WaitFor([&] { return conflicts() > 0; })) << History(*site);
  ExpectConverged(*site, kCustomers);
  EXPECT_NE(History(*site).find("sync_conflict"), std::string::npos);
}

}  // namespace
}  // namespace cutover::test
