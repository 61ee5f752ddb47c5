// The orders data behind one interface, so the very same service runs on
// SQLite (the blue slot) or PostgreSQL (the green slot).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace demo {

struct Customer {
  std::int64_t id = 0;
  std::string name;
  std::string email;
};

struct Order {
  std::int64_t id = 0;
  std::int64_t customer_id = 0;
  std::string item;
  int quantity = 0;
  std::string created_at;  // ISO 8601 UTC, seconds: 2026-01-01T00:00:00Z
};

struct NewOrder {
  std::int64_t customer_id = 0;
  std::string item;
  int quantity = 0;
  std::string created_at;  // empty: now
};

// A failure of the database itself (not of the caller's input).
struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The tables in dependency order: a table only references tables before it.
// Migration copies in this order and checks counts per table.
inline constexpr std::string_view kTablesInDependencyOrder[] = {"customers", "orders"};

class OrderStore {
 public:
  virtual ~OrderStore() = default;
  virtual std::string_view engine() const = 0;  // "sqlite" or "postgresql"

  // Creates the tables when they are missing; idempotent.
  virtual void CreateSchema() = 0;
  virtual std::optional<Order> GetOrder(std::int64_t id) = 0;
  // Orders with id > after_id, ascending, at most `limit`.
  virtual std::vector<Order> ListOrders(std::int64_t after_id, int limit) = 0;
  // nullopt when the customer does not exist.
  virtual std::optional<Order> AddOrder(const NewOrder& order) = 0;
  virtual std::int64_t AddCustomer(const std::string& name, const std::string& email) = 0;
  // nullopt when the customer does not exist.
  virtual std::optional<Customer> RenameCustomer(std::int64_t id, const std::string& name) = 0;
  virtual std::int64_t CountRows(std::string_view table) = 0;
  virtual std::vector<Customer> AllCustomers() = 0;
};

// "sqlite:PATH", "sqlite://PATH" or "postgresql://…" / "postgres://…".
std::unique_ptr<OrderStore> OpenStore(const std::string& dsn);
bool IsSqliteDsn(const std::string& dsn);
bool IsPostgresDsn(const std::string& dsn);
std::string SqlitePathOf(const std::string& dsn);

// The current time as the stores keep it (ISO 8601 UTC, seconds).
std::string UtcNow();
std::string UtcTime(std::int64_t unix_seconds);

}  // namespace demo
