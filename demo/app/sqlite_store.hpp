// The blue slot's database: one SQLite file, one connection behind a mutex
// (SQLite serialises writers anyway), WAL so readers such as the migration
// and the parity gate do not block the service.
#pragma once

#include <mutex>
#include <utility>

#include "store.hpp"

struct sqlite3;

namespace demo {

class SqliteStore final : public OrderStore {
 public:
  explicit SqliteStore(const std::string& path);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  std::string_view engine() const override { return "sqlite"; }
  void CreateSchema() override;
  std::optional<Order> GetOrder(std::int64_t id) override;
  std::vector<Order> ListOrders(std::int64_t after_id, int limit) override;
  std::optional<Order> AddOrder(const NewOrder& order) override;
  std::int64_t AddCustomer(const std::string& name, const std::string& email) override;
  std::optional<Customer> RenameCustomer(std::int64_t id, const std::string& name) override;
  std::int64_t CountRows(std::string_view table) override;
  std::vector<Customer> AllCustomers() override;

  // The id the next insert into `table` gets: AUTOINCREMENT never reuses an
  // id, even a deleted one, so this is sqlite_sequence's, not max(id) + 1.
  std::int64_t NextId(std::string_view table);
  // Makes the next insert into `table` get an id of at least `next`: gives
  // this database a range of ids of its own (see Migrate's blue_ids_from).
  void MoveIdsTo(std::string_view table, std::int64_t next);

  // Runs `body` on one consistent snapshot (WAL lets writers carry on).
  template <typename F>
  void InSnapshot(F&& body) {
    InTransactionBegunWith("BEGIN", std::forward<F>(body));
  }

  // Runs `body` inside one write transaction (seeding thousands of rows).
  template <typename F>
  void InTransaction(F&& body) {
    InTransactionBegunWith("BEGIN IMMEDIATE", std::forward<F>(body));
  }

 private:
  template <typename F>
  void InTransactionBegunWith(const char* begin, F&& body) {
    std::lock_guard lock(mutex_);
    Exec(begin);
    try {
      body();
    } catch (...) {
      Exec("ROLLBACK");
      throw;
    }
    Exec("COMMIT");
  }

  void Exec(const char* sql);

  std::recursive_mutex mutex_;
  sqlite3* db_ = nullptr;
};

}  // namespace demo
