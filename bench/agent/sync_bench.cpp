// The sync's lag and the capture's cost, measured on a real SQLite file (WAL,
// synchronous=NORMAL, as the demo app runs it) and a real PostgreSQL 15
// (logical WAL) this program starts itself.
//
//   lag: RATE row inserts per second into blue and RATE into green at the
//        same time, each row stamped with its commit time; an observer on
//        each other side polls every millisecond and records when each row
//        became visible there. p50 / p99 / max per direction.
//   capture cost: single-row insert transactions into two identical SQLite
//        tables, one with the sync's capture triggers and one without,
//        alternating blocks in the same run, with synchronous=NORMAL and
//        =FULL; and the demo app's POST /orders over HTTP on a captured and an
//        uncaptured file. The ratio of their rates.
//
// Usage: cutover-sync-bench [SECONDS_PER_RATE] [RATE...]   (default: 10 200 2000)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "agent/core/clock.hpp"
#include "agent/sync/manager.hpp"
#include "support/demo_app.hpp"
#include "support/http.hpp"
#include "support/postgres.hpp"
#include "support/process.hpp"
#include "support/sqlite_file.hpp"

using namespace cutover;
using namespace cutover::test;
using Steady = std::chrono::steady_clock;

namespace {

std::int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Lags {
  std::vector<double> ms;
  double Quantile(double q) {
    if (ms.empty()) return 0;
    std::sort(ms.begin(), ms.end());
    return ms[std::min(ms.size() - 1,
                       static_cast<std::size_t>(q * static_cast<double>(ms.size())))];
  }
};

// Paced inserts of (id, committed_us): the pacing is the experiment.
template <typename Insert>
void Write(int rate, std::chrono::seconds duration, std::int64_t first_id, Insert insert) {
  const auto interval = std::chrono::nanoseconds(1'000'000'000LL / rate);
  auto next = Steady::now();
  const auto until = next + duration;
  for (std::int64_t id = first_id; Steady::now() < until; ++id) {
    std::this_thread::sleep_until(next);
    next += interval;
    insert(id);
  }
}

// Polls `rows_after(last_id)` (each row: id, committed_us) and records each
// row's lag when first seen, until `expected` rows were seen.
template <typename RowsAfter>
Lags Observe(std::int64_t first_id, const std::atomic<std::int64_t>& written, RowsAfter rows_after,
             const std::atomic<bool>& writing) {
  Lags lags;
  std::int64_t last = first_id - 1;
  const auto give_up = Steady::now() + std::chrono::minutes(5);
  while ((writing || last < written.load()) && Steady::now() < give_up) {
    for (const auto& row : rows_after(last)) {
      const std::int64_t id = std::stoll(row[0]);
      lags.ms.push_back(static_cast<double>(NowUs() - std::stoll(row[1])) / 1000.0);
      last = std::max(last, id);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the observer's poll period
  }
  return lags;
}

void LagRun(Postgres& pg, const std::string& blue_path, int rate, std::chrono::seconds duration,
            std::int64_t first_id) {
  std::atomic<std::int64_t> blue_written{first_id - 1}, green_written{first_id - 1};
  std::atomic<bool> writing{true};
  Lags b2g, g2b;
  std::thread blue_observer([&] {
    PgClient green(pg.Uri("bench"));
    b2g = Observe(
        first_id, blue_written,
        [&](std::int64_t last) {
          return green.Query("SELECT id, committed_us FROM b2g WHERE id > $1 ORDER BY id",
                             {std::to_string(last)});
        },
        writing);
  });
  std::thread green_observer([&] {
    SqliteFile blue(blue_path);
    g2b = Observe(
        first_id, green_written,
        [&](std::int64_t last) {
          return blue.Rows("SELECT id, committed_us FROM g2b WHERE id > " + std::to_string(last) +
                           " ORDER BY id");
        },
        writing);
  });
  std::thread blue_writer([&] {
    SqliteFile app(blue_path);
    app.Exec("PRAGMA synchronous = NORMAL");
    Write(rate, duration, first_id, [&](std::int64_t id) {
      app.Exec("INSERT INTO b2g VALUES (" + std::to_string(id) + ", " + std::to_string(NowUs()) +
               ")");
      blue_written = id;
    });
  });
  std::thread green_writer([&] {
    PgClient app(pg.Uri("bench"));
    Write(rate, duration, first_id, [&](std::int64_t id) {
      app.Query("INSERT INTO g2b VALUES ($1, $2)", {std::to_string(id), std::to_string(NowUs())});
      green_written = id;
    });
  });
  blue_writer.join();
  green_writer.join();
  writing = false;
  blue_observer.join();
  green_observer.join();
  for (auto [name, lags] : {std::pair{"blue_to_green", &b2g}, std::pair{"green_to_blue", &g2b}})
    std::printf("lag %-14s %5d changes/s  %6zu rows  p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms\n",
                name, rate, lags->ms.size(), lags->Quantile(0.5), lags->Quantile(0.99),
                lags->Quantile(1.0));
  std::fflush(stdout);
}

// Single-row insert transactions per second into `table` of `db`, through
// one prepared statement (as a driver with a statement cache runs them).
double InsertRate(sqlite3* db, const std::string& table, int count, std::int64_t& next_id) {
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(
      db, ("INSERT INTO " + table + " VALUES (?1, 'a payload of some length', ?1)").c_str(), -1,
      &insert, nullptr);
  const auto start = Steady::now();
  for (int i = 0; i < count; ++i, ++next_id) {
    sqlite3_bind_int64(insert, 1, next_id);
    if (sqlite3_step(insert) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
    sqlite3_reset(insert);
  }
  const double rate = count / std::chrono::duration<double>(Steady::now() - start).count();
  sqlite3_finalize(insert);
  return rate;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void Report(const char* what, double without, double with) {
  std::printf("capture cost, %s: %.0f/s without triggers, %.0f/s with: %.1f%% slower, ratio %.3f\n",
              what, without, with, (without / with - 1) * 100, with / without);
  std::fflush(stdout);
}

// Bare single-row inserts, the worst case: the capture doubles the rows written.
void RawCaptureCost(const std::string& path, const char* synchronous, int per_round) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, (std::string("PRAGMA synchronous = ") + synchronous).c_str(), nullptr, nullptr,
               nullptr);
  static std::int64_t next_plain = 1, next_captured = 1;
  std::vector<double> plain, captured;
  for (int round = 0; round < 12; ++round) {  // alternating, so drift hits both alike
    plain.push_back(InsertRate(db, "plain", per_round, next_plain));
    captured.push_back(InsertRate(db, "captured", per_round, next_captured));
  }
  sqlite3_close(db);
  const std::string what = std::string("single-row INSERT transactions, WAL, synchronous=") +
                           synchronous + " (medians of 12 rounds of " + std::to_string(per_round) +
                           ")";
  Report(what.c_str(), Median(plain), Median(captured));
}

// The application's own writes: the demo app's POST /orders on two SQLite
// files, one captured, rounds alternating.
void AppCaptureCost(Postgres& pg, const TempDir& dir) {
  const std::string plain_db = "sqlite:" + (dir / "app-plain.db");
  const std::string captured_db = "sqlite:" + (dir / "app-captured.db");
  for (const auto& db : {plain_db, captured_db})
    if (RunDemoApp({"seed", "--db", db, "--orders", "10", "--customers", "10"}).exit_code != 0)
      throw std::runtime_error("seed failed");
  pg.Psql("CREATE DATABASE app");
  if (RunDemoApp({"migrate", "--from", captured_db, "--to", pg.Uri("app")}).exit_code != 0)
    throw std::runtime_error("migrate failed");
  {
    agent::RealClock clock;
    sync::SyncDependencies deps;
    deps.clock = &clock;
    sync::SyncManager syncs(deps);
    v1::SyncSpec spec;
    spec.set_blue("sqlite://" + (dir / "app-captured.db"));
    spec.set_green(pg.Uri("app"));
    spec.set_all_tables(true);
    syncs.Start("app", spec, "", "bench");
    syncs.Stop("app", /*keep=*/true, "", "bench");  // the triggers stay, nothing applies
  }
  DemoApp plain(dir, "blue", plain_db), captured(dir, "green", captured_db);
  const auto posts_per_second = [](DemoApp& app) {
    constexpr int kThreads = 4, kEach = 150;
    const auto start = Steady::now();
    std::vector<std::thread> clients;
    for (int t = 0; t < kThreads; ++t)
      clients.emplace_back([&] {
        HttpClient http;
        for (int i = 0; i < kEach; ++i)
          http.Post(app.Url("/orders"), R"({"customer_id": 1, "item": "x", "quantity": 1})",
                    {{"Content-Type", "application/json"}});
      });
    for (auto& c : clients) c.join();
    return kThreads * kEach / std::chrono::duration<double>(Steady::now() - start).count();
  };
  std::vector<double> without, with;
  for (int round = 0; round < 8; ++round) {
    without.push_back(posts_per_second(plain));
    with.push_back(posts_per_second(captured));
  }
  Report("the demo app's POST /orders over HTTP, 4 clients (medians of 8 rounds of 600)",
         Median(without), Median(with));
}

}  // namespace

int main(int argc, char** argv) {
  const auto seconds = std::chrono::seconds(argc > 1 ? std::atoi(argv[1]) : 10);
  std::vector<int> rates;
  for (int i = 2; i < argc; ++i) rates.push_back(std::atoi(argv[i]));
  if (rates.empty()) rates = {200, 2000};

  TempDir dir("sync-bench");
  Postgres pg("wal_level = logical");
  pg.Psql("CREATE DATABASE bench");
  PgClient green(pg.Uri("bench"));
  green.Exec(
      "CREATE TABLE b2g (id bigint PRIMARY KEY, committed_us bigint NOT NULL);"
      " CREATE TABLE g2b (id bigint PRIMARY KEY, committed_us bigint NOT NULL);"
      " CREATE TABLE captured (id bigint PRIMARY KEY, a text, b bigint)");
  const std::string blue_path = dir / "blue.db";
  {
    SqliteFile blue(blue_path);
    blue.Exec(
        "PRAGMA journal_mode = WAL;"
        " CREATE TABLE b2g (id INTEGER PRIMARY KEY, committed_us INTEGER NOT NULL);"
        " CREATE TABLE g2b (id INTEGER PRIMARY KEY, committed_us INTEGER NOT NULL);"
        " CREATE TABLE plain (id INTEGER PRIMARY KEY, a TEXT, b INTEGER);"
        " CREATE TABLE captured (id INTEGER PRIMARY KEY, a TEXT, b INTEGER)");
  }
  agent::RealClock clock;
  sync::SyncDependencies deps;
  deps.clock = &clock;
  sync::SyncManager syncs(deps);
  v1::SyncSpec spec;
  spec.set_blue("sqlite://" + blue_path);
  spec.set_green(pg.Uri("bench"));
  for (const char* t : {"b2g", "g2b", "captured"}) spec.add_tables(t);
  syncs.Start("bench", spec, "", "bench");

  std::printf("sync bench: %lds per rate, both directions at once, %u cores\n",
              static_cast<long>(seconds.count()), std::thread::hardware_concurrency());
  std::int64_t first_id = 1;
  for (int rate : rates) {
    LagRun(pg, blue_path, rate, seconds, first_id);
    first_id += static_cast<std::int64_t>(rate) * seconds.count() * 2;
  }
  // The capture without the sync applying next to it: its cost to the app alone.
  syncs.Stop("bench", /*keep=*/true, "", "bench");
  RawCaptureCost(blue_path, "NORMAL", 3000);
  RawCaptureCost(blue_path, "FULL", 200);
  AppCaptureCost(pg, dir);
  return 0;
}
