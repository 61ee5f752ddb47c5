// A real SQLite database file for parity and sync tests, written and read
// through libsqlite3 (a connection of its own: an application's, to the sync).
#pragma once

#include <sqlite3.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace cutover::test {

class SqliteFile {
 public:
  explicit SqliteFile(std::string path) : path_(std::move(path)) {
    if (sqlite3_open(path_.c_str(), &db_) != SQLITE_OK)
      throw std::runtime_error("cannot create " + path_);
    // Another connection (the sync's) may hold the write lock for a moment.
    sqlite3_busy_timeout(db_, 10000);
  }
  ~SqliteFile() { sqlite3_close(db_); }
  SqliteFile(const SqliteFile&) = delete;
  SqliteFile& operator=(const SqliteFile&) = delete;

  void Exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error != nullptr ? error : "?";
      sqlite3_free(error);
      throw std::runtime_error("sqlite: " + message + " in: " + sql);
    }
  }
  // Every row of a query, each value as text ("NULL" for NULL, blobs in hex as x'..').
  std::vector<std::vector<std::string>> Rows(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db_) + " in: " + sql);
    std::vector<std::vector<std::string>> rows;
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const int type = sqlite3_column_type(stmt, i);
        if (type == SQLITE_NULL) {
          row.emplace_back("NULL");
        } else if (type == SQLITE_BLOB) {
          static const char* hex = "0123456789abcdef";
          const auto* bytes = static_cast<const unsigned char*>(sqlite3_column_blob(stmt, i));
          std::string text = "x'";
          for (int b = 0; b < sqlite3_column_bytes(stmt, i); ++b)
            text += std::string{hex[bytes[b] >> 4], hex[bytes[b] & 15]};
          row.push_back(text + "'");
        } else {
          row.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, i)));
        }
      }
      rows.push_back(std::move(row));
    }
    const std::string error = rc == SQLITE_DONE ? "" : sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    if (!error.empty()) throw std::runtime_error("sqlite: " + error + " in: " + sql);
    return rows;
  }
  const std::string& path() const { return path_; }
  std::string Dsn() const { return "sqlite://" + path_; }  // path_ is absolute: sqlite:///...

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace cutover::test
