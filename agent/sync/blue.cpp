#include "agent/sync/blue.hpp"

#include <algorithm>

#include "agent/core/canonical.hpp"
#include "agent/core/sync_status.hpp"
#include "agent/sync/sync_error.hpp"

namespace cutover::sync {

using agent::QuoteIdentifier;

namespace {

constexpr char kLog[] = "_cutover_sync_log";
constexpr char kState[] = "_cutover_sync_state";
constexpr int kLogFixedColumns = 4;  // seq, tbl, op, at
// When a change was captured: the Julian day, as SQLite computes it once per
// statement (the cheapest expression for a trigger; converted when read).
constexpr char kNow[] = "julianday('now')";

std::int64_t UnixMsFromJulianDay(double julian_day) {
  return static_cast<std::int64_t>((julian_day - 2440587.5) * 86400000.0);
}

std::string Literal(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') quoted += '\'';
    quoted += c;
  }
  return quoted + "'";
}

std::string LogColumn(std::size_t i) { return "c" + std::to_string(i); }

std::string TriggerName(const std::string& table, const char* op) {
  return std::string(agent::kSyncObjectPrefix) + table + "_" + op;
}

bool IsSyncObject(const std::string& name) { return name.rfind(agent::kSyncObjectPrefix, 0) == 0; }

}  // namespace

// A prepared statement, reset after every use.
class BlueDatabase::Statement {
 public:
  Statement(const BlueDatabase& db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db.db_, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK)
      db.Fail("cannot prepare \"" + sql.substr(0, 60) + "\"");
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int index, const Value& v) {
    switch (v.type) {
      case Value::Type::kNull:
        sqlite3_bind_null(stmt_, index);
        break;
      case Value::Type::kInteger:
        sqlite3_bind_int64(stmt_, index, v.integer);
        break;
      case Value::Type::kReal:
        sqlite3_bind_double(stmt_, index, v.real);
        break;
      case Value::Type::kText:
        sqlite3_bind_text(stmt_, index, v.bytes.data(), static_cast<int>(v.bytes.size()),
                          SQLITE_TRANSIENT);
        break;
      case Value::Type::kBlob:
        sqlite3_bind_blob(stmt_, index, v.bytes.data(), static_cast<int>(v.bytes.size()),
                          SQLITE_TRANSIENT);
        break;
    }
    return *this;
  }
  Statement& Bind(int index, std::int64_t v) { return Bind(index, Value::Integer(v)); }
  Statement& Bind(int index, const std::string& v) { return Bind(index, Value::Text(v)); }

  // True while there is a row; throws on an error.
  bool Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    db_.Fail("cannot run \"" + std::string(sqlite3_sql(stmt_)).substr(0, 60) + "\"");
  }
  void Run() {
    while (Step()) {
    }
    Reset();
  }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Value Column(int i) const {
    switch (sqlite3_column_type(stmt_, i)) {
      case SQLITE_INTEGER:
        return Value::Integer(sqlite3_column_int64(stmt_, i));
      case SQLITE_FLOAT:
        return Value::Real(sqlite3_column_double(stmt_, i));
      case SQLITE_TEXT: {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
        return Value::Text(
            std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i))));
      }
      case SQLITE_BLOB: {
        const auto* blob = static_cast<const char*>(sqlite3_column_blob(stmt_, i));
        return Value::Blob(
            std::string(blob, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i))));
      }
      default:
        return Value::Null();
    }
  }
  std::int64_t Int(int i) const { return sqlite3_column_int64(stmt_, i); }
  double Real(int i) const { return sqlite3_column_double(stmt_, i); }
  std::string Text(int i) const {
    const auto* text = sqlite3_column_text(stmt_, i);
    return text != nullptr ? reinterpret_cast<const char*>(text) : "";
  }

 private:
  const BlueDatabase& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

BlueDatabase::BlueDatabase(const std::string& path) : path_(path) {
  const int opened = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr);
  if (opened != SQLITE_OK) {
    const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Unavailable("cannot open sqlite:" + path + ": " + why);
  }
  // The application holds the write lock for its own transactions: wait for it.
  sqlite3_busy_timeout(db_, 5000);
  // A green position must never be confirmed to PostgreSQL before the commit
  // that stored it is on disk, whatever journal mode the application chose.
  Exec("PRAGMA synchronous = FULL");
  // The session guard: no trigger fires for this connection's writes, so what
  // the sync applies is never captured back (no echo), and the application's
  // own triggers leave green's changes alone, as PostgreSQL's logical apply
  // does in replica mode. It costs the application's writes nothing.
  if (sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr) != SQLITE_OK)
    Fail("cannot turn triggers off for the sync's connection");
  // Probe now so a file that is not a database fails here, clearly.
  Statement probe(*this, "SELECT count(*) FROM sqlite_master");
  probe.Run();
}

BlueDatabase::~BlueDatabase() {
  statements_.clear();
  sqlite3_close(db_);
}

void BlueDatabase::Fail(const std::string& doing) const {
  throw Unavailable(doing + " (sqlite:" + path_ + "): " + sqlite3_errmsg(db_));
}

void BlueDatabase::Exec(const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string why = error != nullptr ? error : sqlite3_errmsg(db_);
    sqlite3_free(error);
    throw Unavailable("sqlite:" + path_ + ": " + why);
  }
}

BlueDatabase::Statement& BlueDatabase::Cached(const std::string& sql) {
  auto& slot = statements_[sql];
  if (!slot) slot = std::make_unique<Statement>(*this, sql);
  return *slot;
}

std::vector<std::string> BlueDatabase::ApplicationTables() {
  Statement q(*this, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  std::vector<std::string> tables;
  while (q.Step()) {
    std::string name = q.Text(0);
    if (name.rfind("sqlite_", 0) != 0 && !IsSyncObject(name)) tables.push_back(std::move(name));
  }
  return tables;
}

TableSchema BlueDatabase::Describe(const std::string& table) {
  TableSchema schema;
  schema.name = table;
  {
    Statement q(*this,
                "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name = ?1 "
                "COLLATE NOCASE");
    q.Bind(1, table);
    if (!q.Step()) return schema;
    schema.exists = true;
    schema.name = q.Text(0);  // as the file spells it
    schema.virtual_table = q.Text(1).rfind("CREATE VIRTUAL", 0) == 0;
  }
  // table_xinfo: hidden 2 and 3 are generated columns, which the triggers leave alone.
  Statement columns(*this, "SELECT name, pk, hidden FROM pragma_table_xinfo(?1) ORDER BY cid");
  columns.Bind(1, schema.name);
  while (columns.Step())
    if (columns.Int(2) == 0)
      schema.columns.push_back({columns.Text(0), static_cast<int>(columns.Int(1)), 0, false});
  return schema;
}

std::optional<BlueState> BlueDatabase::ReadState() {
  {
    Statement exists(*this, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
    exists.Bind(1, std::string(kState));
    if (!exists.Step()) return std::nullopt;
  }
  BlueState state;
  Statement q(*this, std::string("SELECT name, value FROM ") + kState);
  while (q.Step()) {
    const std::string name = q.Text(0);
    if (name == "cutover") state.cutover = q.Text(1);
    if (name == "green_lsn") state.green_lsn = static_cast<Lsn>(q.Int(1));
    if (name == "echoed_seq") state.echoed_seq = q.Int(1);
    if (name == "applied") state.applied = static_cast<std::uint64_t>(q.Int(1));
    if (name == "conflicts") state.conflicts = static_cast<std::uint64_t>(q.Int(1));
    if (name.rfind("columns:", 0) == 0) state.columns[name.substr(8)] = q.Text(1);
  }
  return state;
}

void BlueDatabase::Install(const std::string& cutover, const std::vector<SyncedTable>& tables) {
  Exec("BEGIN IMMEDIATE");
  try {
    // No constraints on the log's columns: nothing for the triggers to check.
    Exec(std::string("CREATE TABLE IF NOT EXISTS ") + kState +
         " (name TEXT PRIMARY KEY, value) WITHOUT ROWID;"
         "CREATE TABLE IF NOT EXISTS " +
         kLog + " (seq INTEGER PRIMARY KEY, tbl, op, at)");
    {
      Statement owner(*this,
                      std::string("SELECT value FROM ") + kState + " WHERE name = 'cutover'");
      if (owner.Step() && owner.Text(0) != cutover)
        throw Unfit("sqlite:" + path_ + " is already synced by cutover \"" + owner.Text(0) +
                    "\" (stop that sync first)");
    }
    // The log holds one value column per synced column of the widest table.
    std::size_t have = 0;
    {
      Statement width(*this, std::string("SELECT count(*) FROM pragma_table_info('") + kLog + "')");
      width.Step();
      have = static_cast<std::size_t>(width.Int(0)) - kLogFixedColumns;
    }
    for (std::size_t i = have; i < WidestTable(tables); ++i)
      Exec(std::string("ALTER TABLE ") + kLog + " ADD COLUMN " + LogColumn(i));
    // Triggers of an earlier install (other tables, other columns) go first.
    std::vector<std::string> old_triggers;
    {
      Statement q(*this, "SELECT name FROM sqlite_master WHERE type = 'trigger'");
      while (q.Step())
        if (IsSyncObject(q.Text(0))) old_triggers.push_back(q.Text(0));
    }
    for (const auto& name : old_triggers) Exec("DROP TRIGGER " + QuoteIdentifier(name));
    Exec(std::string("DELETE FROM ") + kState + " WHERE name LIKE 'columns:%'");
    // As lean as triggers get (no WHEN, one INSERT, no constraint to check):
    // every write of the application pays for them (docs/benchmarks.md).
    for (const auto& t : tables) {
      std::string log_columns = "tbl, op, at";
      std::string new_values, old_values;
      for (std::size_t i = 0; i < t.columns.size(); ++i) {
        log_columns += ", " + LogColumn(i);
        new_values += ", NEW." + QuoteIdentifier(t.columns[i].blue_name);
        old_values += ", OLD." + QuoteIdentifier(t.columns[i].blue_name);
      }
      const std::string insert = std::string("INSERT INTO ") + kLog + " (" + log_columns + ") ";
      const std::string tbl = Literal(t.name);
      std::string key_changed;
      for (std::size_t k : t.key)
        key_changed += std::string(key_changed.empty() ? "" : " OR ") + "OLD." +
                       QuoteIdentifier(t.columns[k].blue_name) + " IS NOT NEW." +
                       QuoteIdentifier(t.columns[k].blue_name);
      Exec("CREATE TRIGGER " + QuoteIdentifier(TriggerName(t.name, "insert")) +
           " AFTER INSERT ON " + QuoteIdentifier(t.name) + " BEGIN " + insert + "VALUES (" + tbl +
           ", 'I', " + kNow + new_values + "); END");
      // A changed key is a delete of the old row and a write of the new one.
      Exec("CREATE TRIGGER " + QuoteIdentifier(TriggerName(t.name, "update")) +
           " AFTER UPDATE ON " + QuoteIdentifier(t.name) + " BEGIN " + insert + "SELECT " + tbl +
           ", 'D', " + kNow + old_values + " WHERE " + key_changed + "; " + insert + "VALUES (" +
           tbl + ", 'U', " + kNow + new_values + "); END");
      Exec("CREATE TRIGGER " + QuoteIdentifier(TriggerName(t.name, "delete")) +
           " AFTER DELETE ON " + QuoteIdentifier(t.name) + " BEGIN " + insert + "VALUES (" + tbl +
           ", 'D', " + kNow + old_values + "); END");
      Statement columns(*this, std::string("INSERT INTO ") + kState + " VALUES (?1, ?2)");
      columns.Bind(1, "columns:" + t.name).Bind(2, t.ColumnList()).Run();
    }
    Statement seed(*this, std::string("INSERT OR IGNORE INTO ") + kState + " VALUES (?1, ?2)");
    seed.Bind(1, std::string("cutover")).Bind(2, cutover).Run();
    for (const char* counter : {"green_lsn", "echoed_seq", "applied", "conflicts"})
      seed.Bind(1, std::string(counter)).Bind(2, std::int64_t{0}).Run();
    Exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  statements_.clear();  // the schema changed under them
}

void BlueDatabase::Uninstall() {
  statements_.clear();
  Exec("BEGIN IMMEDIATE");
  try {
    std::vector<std::pair<std::string, std::string>> objects;
    {
      Statement q(*this, "SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'table')");
      while (q.Step())
        if (IsSyncObject(q.Text(1))) objects.emplace_back(q.Text(0), q.Text(1));
    }
    // Triggers first: they name the tables.
    std::stable_partition(objects.begin(), objects.end(),
                          [](const auto& o) { return o.first == "trigger"; });
    for (const auto& [type, name] : objects)
      Exec((type == "trigger" ? "DROP TRIGGER " : "DROP TABLE ") + QuoteIdentifier(name));
    Exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void BlueDatabase::Use(const std::vector<SyncedTable>& tables) {
  tables_ = tables;
  statements_.clear();
}

std::int64_t BlueDatabase::DataVersion() {
  Statement& q = Cached("PRAGMA data_version");
  q.Step();
  const std::int64_t version = q.Int(0);
  q.Reset();
  return version;
}

std::int64_t BlueDatabase::MaxSeq() {
  Statement& q = Cached(std::string("SELECT coalesce(max(seq), 0) FROM ") + kLog);
  q.Step();
  const std::int64_t seq = q.Int(0);
  q.Reset();
  return seq;
}

BlueDatabase::Pending BlueDatabase::PendingAfter(std::int64_t seq) {
  Pending pending;
  // Sequences are contiguous after the applied position (only entries green
  // has seen are ever deleted), so the count is a subtraction.
  const std::int64_t max = MaxSeq();
  pending.count = max > seq ? static_cast<std::uint64_t>(max - seq) : 0;
  if (pending.count == 0) return pending;
  Statement& q =
      Cached(std::string("SELECT at FROM ") + kLog + " WHERE seq > ?1 ORDER BY seq LIMIT 1");
  q.Bind(1, seq);
  if (q.Step()) pending.oldest_ms = UnixMsFromJulianDay(q.Real(0));
  q.Reset();
  return pending;
}

std::string BlueDatabase::KeyWhere(const SyncedTable& table, int first_param) const {
  std::string where;
  for (std::size_t k = 0; k < table.key.size(); ++k)
    where += std::string(k ? " AND " : "") +
             QuoteIdentifier(table.columns[table.key[k]].blue_name) + " = ?" +
             std::to_string(first_param + static_cast<int>(k));
  return where;
}

std::vector<BlueChange> BlueDatabase::ReadChanges(std::int64_t after, std::size_t limit) {
  std::vector<BlueChange> changes;
  std::map<std::string, std::size_t> index;
  for (std::size_t t = 0; t < tables_.size(); ++t) index[tables_[t].name] = t;
  const std::size_t width = WidestTable(tables_);
  std::string select = "SELECT seq, tbl, op, at";
  for (std::size_t i = 0; i < width; ++i) select += ", " + LogColumn(i);
  select += std::string(" FROM ") + kLog + " WHERE seq > ?1 ORDER BY seq LIMIT ?2";
  Exec("BEGIN");  // one snapshot: the log and the rows R entries read
  try {
    Statement& q = Cached(select);
    q.Bind(1, after).Bind(2, static_cast<std::int64_t>(limit));
    while (q.Step()) {
      BlueChange c;
      c.seq = q.Int(0);
      const auto it = index.find(q.Text(1));
      const std::string op = q.Text(2);
      c.op = op.empty() ? '?' : op[0];
      c.captured_ms = UnixMsFromJulianDay(q.Real(3));
      if (it == index.end()) {  // a table no longer synced: passed over
        c.op = '-';
        changes.push_back(std::move(c));
        continue;
      }
      c.table = it->second;
      for (std::size_t i = 0; i < tables_[c.table].columns.size(); ++i)
        c.values.push_back(q.Column(kLogFixedColumns + static_cast<int>(i)));
      changes.push_back(std::move(c));
    }
    q.Reset();
    for (auto& c : changes) {
      if (c.op != 'R') continue;
      const SyncedTable& t = tables_[c.table];
      std::string row = "SELECT ";
      for (std::size_t i = 0; i < t.columns.size(); ++i)
        row += std::string(i ? ", " : "") + QuoteIdentifier(t.columns[i].blue_name);
      Statement& r = Cached(row + " FROM " + QuoteIdentifier(t.name) + " WHERE " + KeyWhere(t, 1));
      for (std::size_t k = 0; k < t.key.size(); ++k)
        r.Bind(static_cast<int>(k) + 1, c.values[t.key[k]]);
      c.row_exists = r.Step();
      if (c.row_exists)
        for (std::size_t i = 0; i < t.columns.size(); ++i)
          c.values[i] = r.Column(static_cast<int>(i));
      r.Reset();
    }
    Exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  return changes;
}

void BlueDatabase::WriteState(const BlueState& state) {
  Statement& w = Cached(std::string("INSERT INTO ") + kState +
                        " VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value");
  const std::pair<const char*, std::int64_t> rows[] = {
      {"green_lsn", static_cast<std::int64_t>(state.green_lsn)},
      {"echoed_seq", state.echoed_seq},
      {"applied", static_cast<std::int64_t>(state.applied)},
      {"conflicts", static_cast<std::int64_t>(state.conflicts)}};
  for (const auto& [name, value] : rows) w.Bind(1, std::string(name)).Bind(2, value).Run();
}

// ------------------------------------------------------------------ Writer

BlueDatabase::Writer::Writer(BlueDatabase& db) : db_(db) {
  db_.Exec("BEGIN IMMEDIATE");
  open_ = true;
}

BlueDatabase::Writer::~Writer() {
  if (open_) sqlite3_exec(db_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

bool BlueDatabase::Writer::ChangedSince(std::size_t table, const std::vector<Value>& key,
                                        std::int64_t echoed_seq) {
  const SyncedTable& t = db_.tables_[table];
  std::string sql =
      std::string("SELECT 1 FROM ") + kLog + " WHERE seq > ?1 AND tbl = ?2 AND op <> 'R'";
  for (std::size_t k = 0; k < t.key.size(); ++k)
    sql += " AND " + LogColumn(t.key[k]) + " = ?" + std::to_string(3 + k);
  Statement& q = db_.Cached(sql + " LIMIT 1");
  q.Bind(1, echoed_seq).Bind(2, t.name);
  for (std::size_t k = 0; k < key.size(); ++k) q.Bind(3 + static_cast<int>(k), key[k]);
  const bool changed = q.Step();
  q.Reset();
  return changed;
}

void BlueDatabase::Writer::Upsert(std::size_t table, const std::vector<std::optional<Value>>& row) {
  const SyncedTable& t = db_.tables_[table];
  const bool whole =
      std::all_of(row.begin(), row.end(), [](const auto& v) { return v.has_value(); });
  if (whole) {
    std::string columns, params, updates;
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
      const std::string name = QuoteIdentifier(t.columns[i].blue_name);
      columns += std::string(i ? ", " : "") + name;
      params += std::string(i ? ", " : "") + "?" + std::to_string(i + 1);
      if (std::find(t.key.begin(), t.key.end(), i) == t.key.end())
        updates += std::string(updates.empty() ? "" : ", ") + name + " = excluded." + name;
    }
    std::string key;
    for (std::size_t k : t.key)
      key += std::string(key.empty() ? "" : ", ") + QuoteIdentifier(t.columns[k].blue_name);
    Statement& s = db_.Cached("INSERT INTO " + QuoteIdentifier(t.name) + " (" + columns +
                              ") VALUES (" + params + ") ON CONFLICT (" + key + ") DO " +
                              (updates.empty() ? "NOTHING" : "UPDATE SET " + updates));
    for (std::size_t i = 0; i < row.size(); ++i) s.Bind(static_cast<int>(i) + 1, *row[i]);
    s.Run();
    return;
  }
  // Green left TOASTed values out (unchanged): update what it sent.
  std::string sets;
  std::vector<const Value*> values;
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (!row[i] || std::find(t.key.begin(), t.key.end(), i) != t.key.end()) continue;
    sets += std::string(sets.empty() ? "" : ", ") + QuoteIdentifier(t.columns[i].blue_name) +
            " = ?" + std::to_string(values.size() + 1);
    values.push_back(&*row[i]);
  }
  if (sets.empty()) return;
  Statement& s = db_.Cached("UPDATE " + QuoteIdentifier(t.name) + " SET " + sets + " WHERE " +
                            db_.KeyWhere(t, static_cast<int>(values.size()) + 1));
  for (std::size_t i = 0; i < values.size(); ++i) s.Bind(static_cast<int>(i) + 1, *values[i]);
  for (std::size_t k = 0; k < t.key.size(); ++k)
    s.Bind(static_cast<int>(values.size() + k) + 1, *row[t.key[k]]);
  s.Run();
}

void BlueDatabase::Writer::Delete(std::size_t table, const std::vector<Value>& key) {
  const SyncedTable& t = db_.tables_[table];
  Statement& s =
      db_.Cached("DELETE FROM " + QuoteIdentifier(t.name) + " WHERE " + db_.KeyWhere(t, 1));
  for (std::size_t k = 0; k < key.size(); ++k) s.Bind(static_cast<int>(k) + 1, key[k]);
  s.Run();
}

void BlueDatabase::Writer::DeleteAll(std::size_t table) {
  db_.Cached("DELETE FROM " + QuoteIdentifier(db_.tables_[table].name)).Run();
}

void BlueDatabase::Writer::Repush(std::size_t table, const std::vector<Value>& key) {
  const SyncedTable& t = db_.tables_[table];
  std::string columns = "tbl, op, at", params;
  for (std::size_t k = 0; k < t.key.size(); ++k) {
    columns += ", " + LogColumn(t.key[k]);
    params += ", ?" + std::to_string(k + 2);
  }
  Statement& s = db_.Cached(std::string("INSERT INTO ") + kLog + " (" + columns +
                            ") VALUES (?1, 'R', " + kNow + params + ")");
  s.Bind(1, t.name);
  for (std::size_t k = 0; k < key.size(); ++k) s.Bind(static_cast<int>(k) + 2, key[k]);
  s.Run();
}

void BlueDatabase::Writer::Savepoint() { db_.Exec("SAVEPOINT green_transaction"); }

void BlueDatabase::Writer::ReleaseSavepoint() { db_.Exec("RELEASE green_transaction"); }

void BlueDatabase::Writer::RollbackToSavepoint() {
  db_.Exec("ROLLBACK TO green_transaction; RELEASE green_transaction");
}

void BlueDatabase::Writer::Trim(std::int64_t up_to_seq) {
  Statement& s = db_.Cached(std::string("DELETE FROM ") + kLog +
                            " WHERE seq <= ?1 AND seq < (SELECT max(seq) FROM " + kLog + ")");
  s.Bind(1, up_to_seq).Run();
}

void BlueDatabase::Writer::Commit(const BlueState& state) {
  db_.WriteState(state);
  db_.Exec("COMMIT");
  open_ = false;
}

}  // namespace cutover::sync
