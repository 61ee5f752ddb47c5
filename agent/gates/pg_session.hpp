// One libpq connection whose every wait (connect, query, row fetch) is bounded
// by a gate's deadline: non-blocking libpq driven with poll(); the server ends
// an abandoned statement itself (statement_timeout just past the deadline).
// Read-only: gates observe a database, they never change it.
#pragma once

#include <libpq-fe.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/core/dsn.hpp"
#include "agent/gates/deadline.hpp"

namespace cutover::gates {

struct PgResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

class PgSession {
 public:
  // Connects within the deadline; throws GateError (scrubbed) on failure.
  PgSession(const std::string& dsn, const Deadline& deadline);
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;

  // Runs the agent's own SQL (several statements when there are no params)
  // and returns the last result; throws GateError on an error or when the
  // deadline passes.
  PgResult Query(const std::string& sql, const std::vector<std::string>& params = {});
  // Runs a plan's SQL (a caller's text) as one statement inside a read-only
  // transaction it cannot leave, rolled back after: the extended protocol
  // refuses "a; b", and a first query takes the transaction's snapshot, after
  // which SET TRANSACTION READ WRITE is refused too.
  PgResult QueryReadOnly(const std::string& statement);
  // The name of a result column's type, for details that say what came back
  // without quoting it ("integer", "text", else "type 1234").
  static std::string TypeName(const PGresult& result, int column);
  // Streams the rows of one query, one PGresult per row (single-row mode),
  // so a large table is never held in memory.
  void ForEachRow(const std::string& sql, const std::function<void(const PGresult& row)>& on_row);

  const std::string& redacted_dsn() const { return redacted_dsn_; }

 private:
  void Send(const std::string& sql, const std::vector<std::string>& params, bool one_statement);
  PgResult Collect();
  PgResult NextResult();
  void WaitForSocket(bool for_write, const char* doing);
  [[noreturn]] void Fail(const std::string& doing);
  [[noreturn]] void TimedOut(const char* doing);
  std::string Clean(std::string message) const;
  std::string QueryFailed(const PGresult* result) const;

  const Deadline& deadline_;
  agent::SecretScrubber scrubber_;
  std::string redacted_dsn_;
  struct ConnDeleter {
    void operator()(PGconn* conn) const { PQfinish(conn); }
  };
  std::unique_ptr<PGconn, ConnDeleter> conn_;  // closed on every path, a throwing constructor's too
};

}  // namespace cutover::gates
