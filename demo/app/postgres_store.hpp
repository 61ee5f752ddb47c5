// The green slot's database: PostgreSQL through libpq, with a small pool of
// connections so concurrent requests do not queue behind one another.
#pragma once

#include <mutex>

#include "store.hpp"

struct pg_conn;
struct pg_result;

namespace demo {

// A libpq result freed on every path out.
class PgResult {
 public:
  explicit PgResult(pg_result* result) : result_(result) {}
  ~PgResult();
  PgResult(PgResult&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;

  int rows() const;
  std::string Text(int row, int column) const;
  std::int64_t Int(int row, int column) const;

 private:
  pg_result* result_;
};

// One connection; throws StoreError (with libpq's message, never the DSN).
class PgConnection {
 public:
  explicit PgConnection(const std::string& dsn);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one statement with text parameters; throws unless it succeeded.
  PgResult Exec(const std::string& sql, const std::vector<std::string>& params = {});
  bool ok() const;
  // The SQLSTATE of the last failure ("23503" foreign key violation...).
  const std::string& last_sqlstate() const { return last_sqlstate_; }

 private:
  pg_conn* conn_;
  std::string last_sqlstate_;
};

class PostgresStore final : public OrderStore {
 public:
  explicit PostgresStore(std::string dsn);

  std::string_view engine() const override { return "postgresql"; }
  void CreateSchema() override;
  std::optional<Order> GetOrder(std::int64_t id) override;
  std::vector<Order> ListOrders(std::int64_t after_id, int limit) override;
  std::optional<Order> AddOrder(const NewOrder& order) override;
  std::int64_t AddCustomer(const std::string& name, const std::string& email) override;
  std::optional<Customer> RenameCustomer(std::int64_t id, const std::string& name) override;
  std::int64_t CountRows(std::string_view table) override;
  std::vector<Customer> AllCustomers() override;

 private:
  // Borrows an idle connection (or opens one) and gives it back afterwards;
  // a broken connection is dropped rather than returned.
  class Lease {
   public:
    explicit Lease(PostgresStore& store);
    ~Lease();
    PgConnection* operator->() { return conn_.get(); }

   private:
    PostgresStore& store_;
    std::unique_ptr<PgConnection> conn_;
  };

  std::string dsn_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
};

// The DDL both the service and the migration create.
extern const char* const kPostgresSchema;

}  // namespace demo
