// A real SQLite database file for parity tests, written through libsqlite3.
#pragma once

#include <sqlite3.h>

#include <stdexcept>
#include <string>

namespace cutover::test {

class SqliteFile {
 public:
  explicit SqliteFile(std::string path) : path_(std::move(path)) {
    if (sqlite3_open(path_.c_str(), &db_) != SQLITE_OK)
      throw std::runtime_error("cannot create " + path_);
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
  const std::string& path() const { return path_; }
  std::string Dsn() const { return "sqlite://" + path_; }  // path_ is absolute: sqlite:///...

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace cutover::test
