#include "postgres_store.hpp"

#include <libpq-fe.h>

namespace demo {

const char* const kPostgresSchema = R"sql(
  CREATE TABLE IF NOT EXISTS customers (
    id    bigserial PRIMARY KEY,
    name  text NOT NULL,
    email text NOT NULL UNIQUE);
  CREATE TABLE IF NOT EXISTS orders (
    id          bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers(id),
    item        text NOT NULL,
    quantity    integer NOT NULL CHECK (quantity > 0),
    created_at  timestamptz NOT NULL);
  CREATE INDEX IF NOT EXISTS orders_customer_id ON orders(customer_id);
)sql";

namespace {

// created_at comes back in the same text form SQLite keeps, so both slots
// answer byte-identical JSON for the same row.
constexpr const char* kOrderColumns =
    "id, customer_id, item, quantity, "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

Order ReadOrder(const PgResult& r, int row) {
  return Order{r.Int(row, 0), r.Int(row, 1), r.Text(row, 2), static_cast<int>(r.Int(row, 3)),
               r.Text(row, 4)};
}

}  // namespace

PgResult::~PgResult() { PQclear(result_); }
int PgResult::rows() const { return PQntuples(result_); }
std::string PgResult::Text(int row, int column) const { return PQgetvalue(result_, row, column); }
std::int64_t PgResult::Int(int row, int column) const {
  return std::stoll(PQgetvalue(result_, row, column));
}

PgConnection::PgConnection(const std::string& dsn) : conn_(PQconnectdb(dsn.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    // libpq's message names host and port, never the password.
    const std::string why = PQerrorMessage(conn_);
    PQfinish(conn_);
    throw StoreError("postgresql: cannot connect: " + why);
  }
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::ok() const { return PQstatus(conn_) == CONNECTION_OK; }

PgResult PgConnection::Exec(const std::string& sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  PGresult* raw = params.empty() ? PQexec(conn_, sql.c_str())
                                 : PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()),
                                                nullptr, values.data(), nullptr, nullptr, 0);
  PgResult result(raw);
  const auto status = PQresultStatus(raw);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const char* state = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
    last_sqlstate_ = state ? state : "";
    throw StoreError(std::string("postgresql: ") + PQresultErrorMessage(raw));
  }
  last_sqlstate_.clear();
  return result;
}

PostgresStore::PostgresStore(std::string dsn) : dsn_(std::move(dsn)) {
  Lease probe(*this);  // fail at start-up, not on the first request
}

PostgresStore::Lease::Lease(PostgresStore& store) : store_(store) {
  {
    std::lock_guard lock(store_.mutex_);
    if (!store_.idle_.empty()) {
      conn_ = std::move(store_.idle_.back());
      store_.idle_.pop_back();
    }
  }
  if (!conn_) conn_ = std::make_unique<PgConnection>(store_.dsn_);
}

PostgresStore::Lease::~Lease() {
  if (!conn_->ok()) return;
  std::lock_guard lock(store_.mutex_);
  store_.idle_.push_back(std::move(conn_));
}

void PostgresStore::CreateSchema() {
  Lease conn(*this);
  conn->Exec(kPostgresSchema);
}

std::optional<Order> PostgresStore::GetOrder(std::int64_t id) {
  Lease conn(*this);
  auto r = conn->Exec(std::string("SELECT ") + kOrderColumns + " FROM orders WHERE id = $1",
                      {std::to_string(id)});
  if (r.rows() == 0) return std::nullopt;
  return ReadOrder(r, 0);
}

std::vector<Order> PostgresStore::ListOrders(std::int64_t after_id, int limit) {
  Lease conn(*this);
  auto r = conn->Exec(
      std::string("SELECT ") + kOrderColumns + " FROM orders WHERE id > $1 ORDER BY id LIMIT $2",
      {std::to_string(after_id), std::to_string(limit)});
  std::vector<Order> orders;
  for (int i = 0; i < r.rows(); ++i) orders.push_back(ReadOrder(r, i));
  return orders;
}

std::optional<Order> PostgresStore::AddOrder(const NewOrder& order) {
  Lease conn(*this);
  const std::string created_at = order.created_at.empty() ? UtcNow() : order.created_at;
  try {
    auto r = conn->Exec(std::string("INSERT INTO orders (customer_id, item, quantity, created_at) "
                                    "VALUES ($1, $2, $3, $4) RETURNING ") +
                            kOrderColumns,
                        {std::to_string(order.customer_id), order.item,
                         std::to_string(order.quantity), created_at});
    return ReadOrder(r, 0);
  } catch (const StoreError&) {
    if (conn->last_sqlstate() == "23503") return std::nullopt;  // no such customer
    throw;
  }
}

std::int64_t PostgresStore::AddCustomer(const std::string& name, const std::string& email) {
  Lease conn(*this);
  auto r =
      conn->Exec("INSERT INTO customers (name, email) VALUES ($1, $2) RETURNING id", {name, email});
  return r.Int(0, 0);
}

std::optional<Customer> PostgresStore::RenameCustomer(std::int64_t id, const std::string& name) {
  Lease conn(*this);
  auto r = conn->Exec("UPDATE customers SET name = $1 WHERE id = $2 RETURNING id, name, email",
                      {name, std::to_string(id)});
  if (r.rows() == 0) return std::nullopt;
  return Customer{r.Int(0, 0), r.Text(0, 1), r.Text(0, 2)};
}

std::int64_t PostgresStore::CountRows(std::string_view table) {
  Lease conn(*this);
  // `table` comes from kTablesInDependencyOrder, never from a request.
  return conn->Exec("SELECT count(*) FROM " + std::string(table)).Int(0, 0);
}

std::vector<Customer> PostgresStore::AllCustomers() {
  Lease conn(*this);
  auto r = conn->Exec("SELECT id, name, email FROM customers ORDER BY id");
  std::vector<Customer> customers;
  for (int i = 0; i < r.rows(); ++i)
    customers.push_back(Customer{r.Int(i, 0), r.Text(i, 1), r.Text(i, 2)});
  return customers;
}

}  // namespace demo
