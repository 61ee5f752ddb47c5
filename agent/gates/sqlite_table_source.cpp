#include "agent/gates/sqlite_table_source.hpp"

#include <string_view>

#include "agent/core/sync_status.hpp"
#include "agent/gates/evaluation.hpp"
#include "agent/gates/gate_error.hpp"

namespace cutover::gates {

namespace {

// SQLite has no schemas in the PostgreSQL sense: "public.orders" is "orders".
std::string Unqualified(const std::string& table) {
  const auto dot = table.rfind('.');
  return dot == std::string::npos ? table : table.substr(dot + 1);
}

}  // namespace

// A prepared statement finalized when it goes out of scope.
class SqliteTableSource::Statement {
 public:
  Statement(const SqliteTableSource& source, const std::string& sql) : source_(source) {
    if (sqlite3_prepare_v2(source.db_.get(), sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK)
      source.Fail("cannot prepare a query");
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void Bind(int index, const std::string& text) {
    sqlite3_bind_text(stmt_, index, text.c_str(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  // True while there is a row.
  bool Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if (rc == SQLITE_INTERRUPT || source_.deadline_.expired())
      throw GateError(
          "timed out after " +
          FormatSeconds(static_cast<double>(source_.deadline_.budget().count()) / 1000.0) +
          " reading sqlite:" + source_.path_);
    source_.Fail("cannot read");
  }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  const SqliteTableSource& source_;
  sqlite3_stmt* stmt_ = nullptr;
};

SqliteTableSource::SqliteTableSource(const std::string& path, const Deadline& deadline)
    : path_(path), deadline_(deadline) {
  // Read-only and never created: a wrong path is an error, not an empty database.
  sqlite3* db = nullptr;
  const int opened = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  db_.reset(db);  // SQLite hands out a handle to close even when the open fails
  if (opened != SQLITE_OK) Fail("cannot open");
  sqlite3_busy_timeout(db_.get(), static_cast<int>(deadline.remaining().count()));
  sqlite3_progress_handler(
      db_.get(), 1000,
      [](void* self) -> int { return static_cast<SqliteTableSource*>(self)->deadline_.expired(); },
      this);
  // One read transaction: every table is read from the same snapshot.
  if (sqlite3_exec(db_.get(), "begin", nullptr, nullptr, nullptr) != SQLITE_OK)
    Fail("cannot begin");
  // Touch the schema now so a file that is not a database fails here, clearly.
  Statement probe(*this, "select count(*) from sqlite_master");
  probe.Step();
}

void SqliteTableSource::Fail(const std::string& doing) const {
  const char* message = db_ != nullptr ? sqlite3_errmsg(db_.get()) : "out of memory";
  throw GateError(doing + " sqlite:" + path_ + ": " + message);
}

std::vector<std::string> SqliteTableSource::Tables() {
  Statement query(*this,
                  "select name from sqlite_master where type = 'table'"
                  " and name not like 'sqlite\\_%' escape '\\' order by name");
  std::vector<std::string> tables;
  while (query.Step()) {
    std::string name = reinterpret_cast<const char*>(sqlite3_column_text(query.get(), 0));
    // The sync's change log and state are not the application's data.
    if (name.rfind(agent::kSyncObjectPrefix, 0) != 0) tables.push_back(std::move(name));
  }
  return tables;
}

std::optional<std::vector<Column>> SqliteTableSource::Columns(const std::string& table) {
  Statement query(*this, "select name from pragma_table_info(?1) order by cid");
  query.Bind(1, Unqualified(table));
  std::vector<Column> columns;
  while (query.Step())
    columns.push_back({reinterpret_cast<const char*>(sqlite3_column_text(query.get(), 0))});
  if (columns.empty()) return std::nullopt;
  return columns;
}

std::uint64_t SqliteTableSource::CountRows(const std::string& table) {
  Statement query(*this, "select count(*) from " + QuoteIdentifier(Unqualified(table)));
  query.Step();
  return static_cast<std::uint64_t>(sqlite3_column_int64(query.get(), 0));
}

TableChecksum SqliteTableSource::Checksum(const std::string& table,
                                          const std::vector<Column>& columns) {
  std::string select = "select ";
  for (std::size_t i = 0; i < columns.size(); ++i)
    select += (i == 0 ? "" : ", ") + QuoteIdentifier(columns[i].name);
  if (columns.empty()) select += "1";
  select += " from " + QuoteIdentifier(Unqualified(table));
  Statement query(*this, select);
  TableChecksum checksum;
  RowHasher hasher;
  while (query.Step()) {
    for (int c = 0; c < static_cast<int>(columns.size()); ++c) {
      sqlite3_stmt* row = query.get();
      switch (sqlite3_column_type(row, c)) {
        case SQLITE_NULL:
          hasher.AddNull();
          break;
        case SQLITE_INTEGER:
          hasher.AddInteger(sqlite3_column_int64(row, c));
          break;
        case SQLITE_FLOAT:
          hasher.AddReal(sqlite3_column_double(row, c));
          break;
        case SQLITE_BLOB: {
          const void* blob = sqlite3_column_blob(row, c);
          hasher.AddText(std::string_view(static_cast<const char*>(blob),
                                          static_cast<std::size_t>(sqlite3_column_bytes(row, c))));
          break;
        }
        default: {  // text; column_text before column_bytes, as SQLite asks
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(row, c));
          const std::string_view value(text,
                                       static_cast<std::size_t>(sqlite3_column_bytes(row, c)));
          const ColumnKind kind = columns[static_cast<std::size_t>(c)].kind;
          if (kind == ColumnKind::kPlain) {
            hasher.AddText(value);
          } else {
            hasher.AddTimestamp(value, kind == ColumnKind::kTimestampTz);
          }
        }
      }
    }
    checksum.AddRow(hasher.FinishRow());
  }
  return checksum;
}

}  // namespace cutover::gates
