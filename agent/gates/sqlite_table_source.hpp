// A SQLite file as the source side of a parity check: opened read-only (never
// created), read in one transaction, interrupted when the deadline passes.
#pragma once

#include <sqlite3.h>

#include <memory>

#include "agent/gates/table_source.hpp"

namespace cutover::gates {

class SqliteTableSource : public TableSource {
 public:
  SqliteTableSource(const std::string& path, const Deadline& deadline);
  SqliteTableSource(const SqliteTableSource&) = delete;
  SqliteTableSource& operator=(const SqliteTableSource&) = delete;

  std::vector<std::string> Tables() override;
  std::optional<std::vector<Column>> Columns(const std::string& table) override;
  std::uint64_t CountRows(const std::string& table) override;
  TableChecksum Checksum(const std::string& table, const std::vector<Column>& columns) override;

 private:
  class Statement;
  [[noreturn]] void Fail(const std::string& doing) const;

  std::string path_;
  const Deadline& deadline_;
  struct Closer {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  std::unique_ptr<sqlite3, Closer> db_;  // closed on every path, a throwing constructor's too
};

}  // namespace cutover::gates
