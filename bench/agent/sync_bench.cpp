// The sync's lag and the capture's cost, measured on a real SQLite file (WAL,
// synchronous=NORMAL, as the demo app runs it) and a real PostgreSQL 15
// (logical WAL) this program starts itself.
//
//   lag: RATE row inserts per second into blue and RATE into green at the
//        same time, each row stamped with its commit time; an observer on
//        each other side polls every millisecond and records when each row
//        became visible there. p50 / p99 / max per direction.
//   capture cost: single-row insert transactions into two identical SQLite
//        tables, one with the sync's capture triggers and one without, in
//        paired rounds of the same run, with synchronous=NORMAL and =FULL;
//        next to it what bounds it (a bare insert into a second table in the
//        same transaction, no trigger) and the trigger with its time or its
//        values taken out; and the demo app's POST /orders over HTTP on a
//        captured and an uncaptured file. The median of the rounds' ratios of
//        their rates, with their spread.
//
// Usage: cutover-sync-bench [SECONDS_PER_RATE] [RATE...]   (default: 10 200 2000)
//        cutover-sync-bench 0    the capture's cost alone
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
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

// A cost read from paired rounds: each round measures every contender back
// to back, the order reversed every other round, and the cost is the ratio
// within the round, so what the shared machine does meanwhile hits both sides
// of a ratio alike. Reported: the median of the ratios and their spread.
class PairedRatios {
 public:
  void Add(double without, double with) {
    without_.push_back(without);
    with_.push_back(with);
    ratios_.push_back(with / without);
  }
  double Median() const { return Quantile(0.5); }
  // "0.613 (95% interval of the median 0.598-0.627; middle half 0.590-0.640,
  // all 0.55-0.66; 41 rounds)". The interval: the order statistics (from 1)
  // n/2 - 0.98 sqrt(n) and 1 + n/2 + 0.98 sqrt(n), which hold the true median
  // with 95% whatever the noise's shape (Conover, Practical Nonparametric
  // Statistics, 3.2).
  std::string Spread() const {
    const double n = static_cast<double>(ratios_.size());
    const double half_width = 0.98 * std::sqrt(n);
    char text[200];
    std::snprintf(text, sizeof text,
                  "%.3f (95%% interval of the median %.3f-%.3f; middle half %.3f-%.3f, all "
                  "%.3f-%.3f; %zu rounds)",
                  Median(), Order(std::round(n / 2 - half_width) - 1),
                  Order(std::round(1 + n / 2 + half_width) - 1), Quantile(0.25), Quantile(0.75),
                  Quantile(0), Quantile(1), ratios_.size());
    return text;
  }
  double MedianWithout() const { return Middle(without_); }
  double MedianWith() const { return Middle(with_); }

 private:
  double Quantile(double q) const { return Order(q * static_cast<double>(ratios_.size())); }
  // The i-th smallest ratio (from 0), clamped to the ones there are.
  double Order(double i) const {
    std::vector<double> v = ratios_;
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(std::clamp(i, 0.0, static_cast<double>(v.size() - 1)))];
  }
  static double Middle(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }
  std::vector<double> without_, with_, ratios_;
};

void Report(const std::string& what, const PairedRatios& r) {
  std::printf("capture cost, %s: %.0f/s without, %.0f/s with: %.1f%% slower, ratio %s\n",
              what.c_str(), r.MedianWithout(), r.MedianWith(), (1 / r.Median() - 1) * 100,
              r.Spread().c_str());
  std::fflush(stdout);
}

// Single-row write transactions into one table of a SQLite file, through
// prepared statements (as a driver with a statement cache runs them):
// an INSERT on its own, or BEGIN, the INSERT, `second` (if any), COMMIT.
class InsertLoop {
 public:
  enum class Wrap { kAutocommit, kBeginCommit };
  InsertLoop(sqlite3* db, const std::string& table, Wrap wrap = Wrap::kAutocommit,
             const std::string& second = "")
      : db_(db),
        next_id_(NextIds()[table]),
        insert_(Prepare("INSERT INTO " + table + " VALUES (?1, 'a payload of some length', ?1)")) {
    if (wrap == Wrap::kAutocommit) return;
    begin_ = Prepare("BEGIN");
    if (!second.empty()) second_ = Prepare(second);
    commit_ = Prepare("COMMIT");
  }
  ~InsertLoop() {
    for (sqlite3_stmt* s : {insert_, begin_, second_, commit_}) sqlite3_finalize(s);
  }
  InsertLoop(const InsertLoop&) = delete;
  InsertLoop& operator=(const InsertLoop&) = delete;

  // Transactions per second over `round` (and at least 20 of them): a
  // round as long whatever the commit costs (synchronous=FULL's fsync may
  // take 50 us or 5 ms on a shared disk).
  double Rate(std::chrono::milliseconds round) {
    const auto start = Steady::now();
    auto now = start;
    int count = 0;
    for (; count < 20 || now - start < round; ++count, ++next_id_) {
      if (begin_ != nullptr) Step(begin_);
      sqlite3_bind_int64(insert_, 1, next_id_);
      Step(insert_);
      if (second_ != nullptr) Step(second_);
      if (commit_ != nullptr) Step(commit_);
      if (count % 16 == 0) now = Steady::now();
    }
    return count / std::chrono::duration<double>(Steady::now() - start).count();
  }

 private:
  sqlite3_stmt* Prepare(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string(sqlite3_errmsg(db_)) + " in: " + sql);
    return stmt;
  }
  void Step(sqlite3_stmt* stmt) {
    if (sqlite3_step(stmt) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
    sqlite3_reset(stmt);
  }

  // Per table, across loops: several loops write the same table.
  static std::map<std::string, std::int64_t>& NextIds() {
    static std::map<std::string, std::int64_t> next;
    return next;
  }

  sqlite3* db_;
  std::int64_t& next_id_;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt *begin_ = nullptr, *second_ = nullptr, *commit_ = nullptr;
};

constexpr std::chrono::milliseconds kRound{100};

std::string Replaced(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  if (at == std::string::npos) throw std::runtime_error("no \"" + from + "\" in: " + text);
  return text.replace(at, from.size(), to);
}

// The sync's insert trigger on `captured`, copied onto `table` with one piece
// taken out, so that piece's cost can be read against the whole trigger's.
void CopyCaptureTrigger(SqliteFile& blue, const std::string& table,
                        const std::vector<std::pair<std::string, std::string>>& changes) {
  const auto rows = blue.Rows(
      "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = "
      "'_cutover_sync_captured_insert'");
  if (rows.empty()) throw std::runtime_error("the sync installed no insert trigger on captured");
  std::string sql =
      Replaced(Replaced(rows[0][0], "_cutover_sync_captured_insert", "_bench_" + table + "_insert"),
               "ON \"captured\"", "ON \"" + table + "\"");
  for (const auto& [from, to] : changes) sql = Replaced(sql, from, to);
  blue.Exec("CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, a TEXT, b INTEGER); " + sql);
}

// Bare single-row inserts, the worst case: the capture doubles the pages a
// commit writes. Next to it, what bounds it: the same transaction with a bare
// second insert into another table and no trigger at all (one more page, as
// the capture's log row); and the sync's trigger with a piece taken out.
void RawCaptureCost(const std::string& path, const char* synchronous, int rounds, bool pieces) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, (std::string("PRAGMA synchronous = ") + synchronous).c_str(), nullptr, nullptr,
               nullptr);
  const std::string what = std::string("single-row INSERTs, WAL, synchronous=") + synchronous +
                           ", rounds of 2 x " + std::to_string(kRound.count()) + " ms";
  struct Contender {
    std::string name;
    std::unique_ptr<InsertLoop> without, with;
    PairedRatios ratios;
  };
  std::vector<Contender> contenders;
  contenders.push_back({"the sync's triggers",
                        std::make_unique<InsertLoop>(db, "plain"),
                        std::make_unique<InsertLoop>(db, "captured"),
                        {}});
  if (pieces) {
    contenders.push_back(
        {"no trigger but a bare second-table insert in BEGIN..COMMIT (the second page alone)",
         std::make_unique<InsertLoop>(db, "plain_txn", InsertLoop::Wrap::kBeginCommit),
         std::make_unique<InsertLoop>(db, "second_page", InsertLoop::Wrap::kBeginCommit,
                                      "INSERT INTO second_page_log (seq) VALUES (NULL)"),
         {}});
    contenders.push_back({"the sync's trigger without julianday('now'), vs the whole trigger",
                          std::make_unique<InsertLoop>(db, "captured"),
                          std::make_unique<InsertLoop>(db, "captured_no_time"),
                          {}});
    contenders.push_back(
        {"the sync's trigger into a log 64 value columns wide, vs the whole trigger",
         std::make_unique<InsertLoop>(db, "captured"),
         std::make_unique<InsertLoop>(db, "captured_wide_log"),
         {}});
    contenders.push_back({"the sync's trigger logging the key only, vs the whole trigger",
                          std::make_unique<InsertLoop>(db, "captured"),
                          std::make_unique<InsertLoop>(db, "captured_key_only"),
                          {}});
  }
  for (int round = 0; round < rounds; ++round)
    for (auto& c : contenders) {
      const bool first_without = round % 2 == 0;
      const double a = (first_without ? c.without : c.with)->Rate(kRound);
      const double b = (first_without ? c.with : c.without)->Rate(kRound);
      c.ratios.Add(first_without ? a : b, first_without ? b : a);
    }
  for (auto& c : contenders) {
    c.without.reset();  // their statements, before the connection goes
    c.with.reset();
    Report(what + ", " + c.name, c.ratios);
  }
  sqlite3_close(db);
}

// The application's own writes: the demo app's POST /orders on two SQLite
// files, one captured, in paired rounds.
void AppCaptureCost(Postgres& pg, const TempDir& dir, int rounds) {
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
  constexpr int kClients = 4, kEach = 150;
  const auto posts_per_second = [](DemoApp& app) {
    const auto start = Steady::now();
    std::vector<std::thread> clients;
    for (int t = 0; t < kClients; ++t)
      clients.emplace_back([&] {
        HttpClient http;
        for (int i = 0; i < kEach; ++i)
          http.Post(app.Url("/orders"), R"({"customer_id": 1, "item": "x", "quantity": 1})",
                    {{"Content-Type", "application/json"}});
      });
    for (auto& c : clients) c.join();
    return kClients * kEach / std::chrono::duration<double>(Steady::now() - start).count();
  };
  PairedRatios ratios;
  for (int round = 0; round < rounds; ++round) {
    const bool first_without = round % 2 == 0;
    const double a = posts_per_second(first_without ? plain : captured);
    const double b = posts_per_second(first_without ? captured : plain);
    ratios.Add(first_without ? a : b, first_without ? b : a);
  }
  Report("the demo app's POST /orders over HTTP, " + std::to_string(kClients) + " clients, " +
             std::to_string(kClients * kEach) + " per round",
         ratios);
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
  for (int rate : seconds.count() > 0 ? rates : std::vector<int>{}) {
    LagRun(pg, blue_path, rate, seconds, first_id);
    first_id += static_cast<std::int64_t>(rate) * seconds.count() * 2;
  }
  // The capture without the sync applying next to it: its cost to the app alone.
  syncs.Stop("bench", /*keep=*/true, "", "bench");
  {
    SqliteFile blue(blue_path);
    blue.Exec(
        "CREATE TABLE plain_txn (id INTEGER PRIMARY KEY, a TEXT, b INTEGER);"
        " CREATE TABLE second_page (id INTEGER PRIMARY KEY, a TEXT, b INTEGER);"
        " CREATE TABLE second_page_log (seq INTEGER PRIMARY KEY)");
    CopyCaptureTrigger(blue, "captured_no_time", {{"julianday('now')", "NULL"}});
    CopyCaptureTrigger(blue, "captured_key_only", {{"NEW.\"a\", NEW.\"b\"", "NULL, NULL"}});
    // The log is as wide as the widest synced table: what 64 columns cost every table.
    std::string wide = "CREATE TABLE wide_log (seq INTEGER PRIMARY KEY, tbl, op, at";
    for (int i = 0; i < 64; ++i) wide += ", c" + std::to_string(i);
    blue.Exec(wide + ")");
    CopyCaptureTrigger(blue, "captured_wide_log", {{"_cutover_sync_log", "wide_log"}});
  }
  RawCaptureCost(blue_path, "NORMAL", 41, /*pieces=*/true);
  RawCaptureCost(blue_path, "FULL", 21, /*pieces=*/false);
  AppCaptureCost(pg, dir, 41);
  return 0;
}
