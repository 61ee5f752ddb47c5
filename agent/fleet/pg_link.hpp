// One long-lived libpq connection to the fleet's database whose every wait
// (connect, statement, notification) is bounded: non-blocking libpq driven
// with poll(), so a database that stops answering (a cut network) costs a
// timeout, never a hang. The server ends an abandoned statement itself
// (statement_timeout a second past ours). Errors are scrubbed of the DSN's
// secrets; after one, the connection is closed and Connect() starts again.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent/core/dsn.hpp"

namespace cutover::fleet {

// What went wrong talking to the fleet's database, without secrets.
class FleetDbError : public std::runtime_error {
 public:
  FleetDbError(const std::string& message, std::string sqlstate = "")
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)) {}
  // The server's SQLSTATE ("23505"), "" when the connection itself failed.
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

struct PgResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

struct Notification {
  std::string channel;
  std::string payload;
};

class PgLink {
 public:
  using Param = std::optional<std::string>;  // nullopt: SQL NULL

  PgLink(std::string dsn, std::string application_name, std::chrono::milliseconds timeout);
  ~PgLink();
  PgLink(const PgLink&) = delete;
  PgLink& operator=(const PgLink&) = delete;

  bool connected() const { return conn_ != nullptr; }
  // Connects (when not connected) within the timeout; throws FleetDbError.
  void Connect();
  void Close();
  // One statement (several without params); its last result. Connects first
  // when needed. Throws FleetDbError on an error, a lost connection or the
  // timeout; any but a statement's own error closes the connection.
  PgResult Exec(const std::string& sql, const std::vector<Param>& params = {});
  // Notifications of the channels LISTENed to: those already received, or
  // the first to arrive within `timeout`, or none when `wake_fd` (if not -1)
  // becomes readable first. Throws FleetDbError when the connection is lost.
  std::vector<Notification> Wait(std::chrono::milliseconds timeout, int wake_fd = -1);

  const std::string& redacted_dsn() const { return redacted_; }

 private:
  void WaitForSocket(bool for_write, std::chrono::steady_clock::time_point deadline,
                     const char* doing);
  [[noreturn]] void Fail(const std::string& doing);
  std::vector<Notification> Drain();
  std::string Clean(const std::string& message) const;

  std::string dsn_;
  std::string application_name_;
  std::chrono::milliseconds timeout_;
  std::string redacted_;
  agent::SecretScrubber scrubber_;
  PGconn* conn_ = nullptr;
};

// Text values of a result (libpq's own text format).
std::string Text(const PGresult* result, int row, int column);
bool IsNull(const PGresult* result, int row, int column);
std::int64_t Int(const PGresult* result, int row, int column);
// bytea in and out of the text format ("\x0a1b...").
std::string ByteaLiteral(const std::string& bytes);
std::string ByteaValue(const PGresult* result, int row, int column);

}  // namespace cutover::fleet
