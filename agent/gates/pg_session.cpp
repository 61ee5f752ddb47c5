#include "agent/gates/pg_session.hpp"

#include <poll.h>

#include <cerrno>
#include <cmath>
#include <cstdio>

#include "agent/gates/evaluation.hpp"
#include "agent/gates/gate_error.hpp"

namespace cutover::gates {

PgSession::PgSession(const std::string& dsn, const Deadline& deadline)
    : deadline_(deadline), scrubber_(dsn), redacted_dsn_(agent::RedactDsn(dsn)) {
  if (auto problem = agent::PostgresDsnProblem(dsn)) throw GateError("invalid DSN: " + *problem);
  // libpq enforces connect_timeout only for blocking connects; it is passed
  // anyway (whole seconds, at least 2 as libpq wants) for each host of a
  // multi-host DSN, while poll() below holds the real deadline.
  const auto seconds = std::max<long long>(
      2,
      static_cast<long long>(std::ceil(static_cast<double>(deadline.remaining().count()) / 1000)));
  const std::string connect_timeout = std::to_string(seconds);
  const char* keys[] = {"dbname", "fallback_application_name", "connect_timeout", nullptr};
  const char* values[] = {dsn.c_str(), "cutover-gate", connect_timeout.c_str(), nullptr};
  conn_.reset(PQconnectStartParams(keys, values, /*expand_dbname=*/1));
  if (conn_ == nullptr) throw GateError("cannot connect: out of memory");
  if (PQstatus(conn_.get()) == CONNECTION_BAD) Fail("cannot connect");
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) Fail("cannot connect");
    WaitForSocket(state == PGRES_POLLING_WRITING, "connecting");
    state = PQconnectPoll(conn_.get());
  }
  if (PQsetnonblocking(conn_.get(), 1) != 0) Fail("cannot switch to non-blocking mode");
  // What stops the server's work when we give up on a statement: its own
  // statement_timeout, a second past our deadline (so that ours fires first and
  // says so). No PQcancel: in libpq 15 it connects without any timeout, and a
  // gate must not hang on a server that stopped answering.
  // And when we give up before the deadline (nobody waits for the gate any
  // more) and close the connection: a server of 14 or later looks for a
  // client gone every second of a running statement and ends it.
  const auto statement_ms = deadline.remaining().count() + 1000;
  Query(std::string("select set_config('statement_timeout', $1, false),"
                    " set_config('default_transaction_read_only', 'on', false)") +
            (PQserverVersion(conn_.get()) >= 140000
                 ? ", set_config('client_connection_check_interval', '1000', false)"
                 : ""),
        {std::to_string(statement_ms)});
}

std::string PgSession::Clean(std::string message) const {
  message = scrubber_.Scrub(std::move(message));
  // libpq messages end with a newline and may span lines; a detail is one line.
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  // One line, single spaces: "FATAL:  x\n\tIs the server..." reads "FATAL: x Is the server...".
  std::string line;
  for (char c : message) {
    if (c == '\n' || c == '\t') c = ' ';
    if (c == ' ' && !line.empty() && line.back() == ' ') continue;
    line += c;
  }
  return line;
}

std::string PgSession::QueryFailed(const PGresult* result) const {
  return "query failed (" + redacted_dsn_ + "): " + Clean(PQresultErrorMessage(result));
}

void PgSession::Fail(const std::string& doing) {
  throw GateError(doing + " (" + redacted_dsn_ + "): " + Clean(PQerrorMessage(conn_.get())));
}

void PgSession::TimedOut(const char* doing) {
  throw GateError("timed out after " +
                  FormatSeconds(static_cast<double>(deadline_.budget().count()) / 1000.0) + " " +
                  doing + " (" + redacted_dsn_ + ")");
}

void PgSession::WaitForSocket(bool for_write, const char* doing) {
  for (;;) {
    if (deadline_.cancelled())
      throw GateError(std::string("given up ") + doing + ": nobody waits for this gate any more (" +
                      redacted_dsn_ + ")");
    if (deadline_.remaining().count() == 0) TimedOut(doing);
    pollfd fd{PQsocket(conn_.get()), static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    if (fd.fd < 0) Fail(doing);
    const int ready = ::poll(&fd, 1, static_cast<int>(deadline_.slice().count()));
    if (ready > 0) return;
    if (ready < 0 && errno != EINTR) Fail(doing);
  }
}

void PgSession::Send(const std::string& sql, const std::vector<std::string>& params,
                     bool one_statement) {
  int sent = 0;
  if (params.empty() && !one_statement) {
    sent = PQsendQuery(conn_.get(), sql.c_str());
  } else {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    sent = PQsendQueryParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  }
  if (sent == 0) Fail("cannot send query");
  // Non-blocking: the query may still sit in libpq's buffer.
  for (int left = PQflush(conn_.get()); left != 0; left = PQflush(conn_.get())) {
    if (left < 0) Fail("cannot send query");
    WaitForSocket(true, "sending a query");
  }
}

PgResult PgSession::NextResult() {
  while (PQisBusy(conn_.get()) != 0) {
    WaitForSocket(false, "waiting for the server");
    if (PQconsumeInput(conn_.get()) == 0) Fail("connection lost");
  }
  return PgResult(PQgetResult(conn_.get()));
}

PgResult PgSession::Query(const std::string& sql, const std::vector<std::string>& params) {
  Send(sql, params, /*one_statement=*/false);
  return Collect();
}

PgResult PgSession::QueryReadOnly(const std::string& statement) {
  Query("begin transaction read only");
  Query("select 1");  // the snapshot: the transaction's mode is now fixed
  Send(statement, {}, /*one_statement=*/true);
  PgResult result = Collect();
  Query("rollback");  // the statement may have been a COMMIT: a warning then, not an error
  return result;
}

std::string PgSession::TypeName(const PGresult& result, int column) {
  switch (PQftype(&result, column)) {
    case 16:
      return "boolean";
    case 20:
      return "bigint";
    case 21:
      return "smallint";
    case 23:
      return "integer";
    case 25:
      return "text";
    case 700:
      return "real";
    case 701:
      return "double precision";
    case 1043:
      return "character varying";
    case 1700:
      return "numeric";
    case 1114:
      return "timestamp";
    case 1184:
      return "timestamp with time zone";
    case 1186:
      return "interval";
    default:
      return "type " + std::to_string(PQftype(&result, column));
  }
}

PgResult PgSession::Collect() {
  PgResult last;
  std::string error;
  while (PgResult result = NextResult()) {
    const ExecStatusType status = PQresultStatus(result.get());
    if (status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE) {
      if (error.empty()) error = QueryFailed(result.get());
    }
    last = std::move(result);
  }
  if (!error.empty()) throw GateError(error);
  if (!last) throw GateError("the server returned no result");
  return last;
}

void PgSession::ForEachRow(const std::string& sql,
                           const std::function<void(const PGresult& row)>& on_row) {
  Send(sql, {}, /*one_statement=*/false);
  if (PQsetSingleRowMode(conn_.get()) == 0) Fail("cannot stream rows");
  std::string error;
  std::size_t rows = 0;
  while (PgResult result = NextResult()) {
    const ExecStatusType status = PQresultStatus(result.get());
    if (status == PGRES_SINGLE_TUPLE) {
      // Rows can arrive faster than poll() is ever reached.
      if (++rows % 512 == 0 && deadline_.expired()) TimedOut("reading rows");
      on_row(*result);
    } else if (status != PGRES_TUPLES_OK && error.empty()) {
      error = QueryFailed(result.get());
    }
  }
  if (!error.empty()) throw GateError(error);
}

}  // namespace cutover::gates
