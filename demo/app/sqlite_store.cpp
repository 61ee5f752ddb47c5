#include "sqlite_store.hpp"

#include <sqlite3.h>

namespace demo {

namespace {

// A prepared statement finalized on every path out.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      throw StoreError(std::string("sqlite: ") + sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int index, std::int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  Statement& Bind(int index, const std::string& value) {
    sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // True while there is a row; throws on errors (constraint failures included).
  bool Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw StoreError(std::string("sqlite: ") + sqlite3_errmsg(db_));
  }
  std::int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string Text(int column) const {
    const auto* text = sqlite3_column_text(stmt_, column);
    return text ? reinterpret_cast<const char*>(text) : "";
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

constexpr const char* kOrderColumns = "id, customer_id, item, quantity, created_at";

Order ReadOrder(const Statement& s) {
  return Order{s.Int(0), s.Int(1), s.Text(2), static_cast<int>(s.Int(3)), s.Text(4)};
}

}  // namespace

SqliteStore::SqliteStore(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw StoreError("sqlite: cannot open " + path + ": " + why);
  }
  sqlite3_busy_timeout(db_, 5000);
  Exec("PRAGMA journal_mode = WAL");
  // WAL's usual pairing: a commit survives the process crashing, and only a
  // checkpoint waits for the disk, so writes do not stall every read.
  Exec("PRAGMA synchronous = NORMAL");
  Exec("PRAGMA foreign_keys = ON");
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

void SqliteStore::Exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string why = error ? error : "unknown error";
    sqlite3_free(error);
    throw StoreError("sqlite: " + why);
  }
}

void SqliteStore::CreateSchema() {
  std::lock_guard lock(mutex_);
  Exec(R"sql(
    CREATE TABLE IF NOT EXISTS customers (
      id    INTEGER PRIMARY KEY AUTOINCREMENT,
      name  TEXT NOT NULL,
      email TEXT NOT NULL UNIQUE);
    CREATE TABLE IF NOT EXISTS orders (
      id          INTEGER PRIMARY KEY AUTOINCREMENT,
      customer_id INTEGER NOT NULL REFERENCES customers(id),
      item        TEXT NOT NULL,
      quantity    INTEGER NOT NULL CHECK (quantity > 0),
      created_at  TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS orders_customer_id ON orders(customer_id);
  )sql");
}

std::optional<Order> SqliteStore::GetOrder(std::int64_t id) {
  std::lock_guard lock(mutex_);
  Statement s(db_, (std::string("SELECT ") + kOrderColumns + " FROM orders WHERE id = ?").c_str());
  s.Bind(1, id);
  if (!s.Step()) return std::nullopt;
  return ReadOrder(s);
}

std::vector<Order> SqliteStore::ListOrders(std::int64_t after_id, int limit) {
  std::lock_guard lock(mutex_);
  Statement s(db_, (std::string("SELECT ") + kOrderColumns +
                    " FROM orders WHERE id > ? ORDER BY id LIMIT ?")
                       .c_str());
  s.Bind(1, after_id).Bind(2, std::int64_t{limit});
  std::vector<Order> orders;
  while (s.Step()) orders.push_back(ReadOrder(s));
  return orders;
}

std::optional<Order> SqliteStore::AddOrder(const NewOrder& order) {
  std::lock_guard lock(mutex_);
  {
    Statement exists(db_, "SELECT 1 FROM customers WHERE id = ?");
    exists.Bind(1, order.customer_id);
    if (!exists.Step()) return std::nullopt;
  }
  const std::string created_at = order.created_at.empty() ? UtcNow() : order.created_at;
  Statement s(db_, (std::string("INSERT INTO orders (customer_id, item, quantity, created_at) "
                                "VALUES (?, ?, ?, ?) RETURNING ") +
                    kOrderColumns)
                       .c_str());
  s.Bind(1, order.customer_id).Bind(2, order.item).Bind(3, std::int64_t{order.quantity});
  s.Bind(4, created_at);
  if (!s.Step()) throw StoreError("sqlite: INSERT returned no row");
  Order added = ReadOrder(s);
  while (s.Step()) {
  }
  return added;
}

std::int64_t SqliteStore::AddCustomer(const std::string& name, const std::string& email) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "INSERT INTO customers (name, email) VALUES (?, ?) RETURNING id");
  s.Bind(1, name).Bind(2, email);
  if (!s.Step()) throw StoreError("sqlite: INSERT returned no row");
  const std::int64_t id = s.Int(0);
  while (s.Step()) {
  }
  return id;
}

std::optional<Customer> SqliteStore::RenameCustomer(std::int64_t id, const std::string& name) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "UPDATE customers SET name = ? WHERE id = ? RETURNING id, name, email");
  s.Bind(1, name).Bind(2, id);
  if (!s.Step()) return std::nullopt;
  Customer renamed{s.Int(0), s.Text(1), s.Text(2)};
  while (s.Step()) {
  }
  return renamed;
}

std::int64_t SqliteStore::CountRows(std::string_view table) {
  std::lock_guard lock(mutex_);
  // `table` comes from kTablesInDependencyOrder, never from a request.
  Statement s(db_, ("SELECT count(*) FROM " + std::string(table)).c_str());
  s.Step();
  return s.Int(0);
}

std::vector<Customer> SqliteStore::AllCustomers() {
  std::lock_guard lock(mutex_);
  Statement s(db_, "SELECT id, name, email FROM customers ORDER BY id");
  std::vector<Customer> customers;
  while (s.Step()) customers.push_back(Customer{s.Int(0), s.Text(1), s.Text(2)});
  return customers;
}

std::int64_t SqliteStore::NextId(std::string_view table) {
  std::lock_guard lock(mutex_);
  Statement s(db_, ("SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0), "
                    "coalesce((SELECT max(id) FROM " +
                    std::string(table) + "), 0)) + 1")
                       .c_str());
  s.Bind(1, std::string(table));
  s.Step();
  return s.Int(0);
}

void SqliteStore::MoveIdsTo(std::string_view table, std::int64_t next) {
  std::lock_guard lock(mutex_);
  Statement update(db_, "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?");
  update.Bind(1, next - 1).Bind(2, std::string(table));
  update.Step();
  if (sqlite3_changes(db_) == 0) {  // nothing inserted yet: no row to move
    Statement insert(db_, "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)");
    insert.Bind(1, std::string(table)).Bind(2, next - 1);
    insert.Step();
  }
}

}  // namespace demo
