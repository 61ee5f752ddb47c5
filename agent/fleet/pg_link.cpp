#include "agent/fleet/pg_link.hpp"

#include <poll.h>

#include <cerrno>
#include <cmath>

namespace cutover::fleet {

namespace {

using SteadyClock = std::chrono::steady_clock;

std::chrono::milliseconds Left(SteadyClock::time_point deadline) {
  return std::max(
      std::chrono::milliseconds(0),
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()));
}

}  // namespace

PgLink::PgLink(std::string dsn, std::string application_name, std::chrono::milliseconds timeout)
    : dsn_(std::move(dsn)),
      application_name_(std::move(application_name)),
      timeout_(timeout),
      redacted_(agent::RedactDsn(dsn_)),
      scrubber_(dsn_) {}

PgLink::~PgLink() { Close(); }

void PgLink::Close() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
}

std::string PgLink::Clean(const std::string& message) const {
  // libpq's messages end with a newline and may span lines: one line here.
  std::string line;
  for (char c : scrubber_.Scrub(message)) {
    if (c == '\n' || c == '\t') c = ' ';
    if (c == ' ' && (line.empty() || line.back() == ' ')) continue;
    line += c;
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

void PgLink::Fail(const std::string& doing) {
  const std::string why = conn_ != nullptr ? Clean(PQerrorMessage(conn_)) : "no connection";
  Close();
  throw FleetDbError(doing + " (" + redacted_ + "): " + why);
}

void PgLink::WaitForSocket(bool for_write, SteadyClock::time_point deadline, const char* doing) {
  for (;;) {
    const auto left = Left(deadline);
    if (left.count() == 0) {
      Close();
      throw FleetDbError(std::string("timed out ") + doing + " (" + redacted_ + ")");
    }
    pollfd fd{PQsocket(conn_), static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    if (fd.fd < 0) Fail(doing);
    const int ready = ::poll(&fd, 1, static_cast<int>(left.count()));
    if (ready > 0) return;
    if (ready < 0 && errno != EINTR) Fail(doing);
  }
}

void PgLink::Connect() {
  if (conn_ != nullptr) return;
  const auto deadline = SteadyClock::now() + timeout_;
  // libpq honours connect_timeout only for blocking connects (whole
  // seconds, at least 2); poll() below holds the real deadline.
  const std::string connect_timeout = std::to_string(
      std::max<long long>(2, static_cast<long long>(std::ceil(timeout_.count() / 1000.0))));
  const char* keys[] = {"dbname", "fallback_application_name", "connect_timeout", nullptr};
  const char* values[] = {dsn_.c_str(), application_name_.c_str(), connect_timeout.c_str(),
                          nullptr};
  conn_ = PQconnectStartParams(keys, values, /*expand_dbname=*/1);
  if (conn_ == nullptr) throw FleetDbError("cannot connect (" + redacted_ + "): out of memory");
  if (PQstatus(conn_) == CONNECTION_BAD) Fail("cannot connect");
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) Fail("cannot connect");
    WaitForSocket(state == PGRES_POLLING_WRITING, deadline, "connecting");
    state = PQconnectPoll(conn_);
  }
  if (PQsetnonblocking(conn_, 1) != 0) Fail("cannot switch to non-blocking mode");
  // The server's notices ("already exists, skipping") are not the agent's to print.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  // The server stops a statement we gave up on a second after we did.
  Exec("select set_config('statement_timeout', $1, false)",
       {std::to_string(timeout_.count() + 1000)});
}

PgResult PgLink::Exec(const std::string& sql, const std::vector<Param>& params) {
  Connect();
  const auto deadline = SteadyClock::now() + timeout_;
  int sent = 0;
  if (params.empty()) {
    sent = PQsendQuery(conn_, sql.c_str());
  } else {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    sent = PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  }
  if (sent == 0) Fail("cannot send a statement");
  for (int left = PQflush(conn_); left != 0; left = PQflush(conn_)) {
    if (left < 0) Fail("cannot send a statement");
    WaitForSocket(true, deadline, "sending a statement");
  }
  PgResult last;
  std::string error, sqlstate;
  for (;;) {
    while (PQisBusy(conn_) != 0) {
      WaitForSocket(false, deadline, "waiting for the server");
      if (PQconsumeInput(conn_) == 0) Fail("connection lost");
    }
    PgResult result(PQgetResult(conn_));
    if (!result) break;
    const ExecStatusType status = PQresultStatus(result.get());
    if ((status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE) && error.empty()) {
      error = Clean(PQresultErrorMessage(result.get()));
      const char* state = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
      sqlstate = state != nullptr ? state : "";
    }
    last = std::move(result);
  }
  if (PQstatus(conn_) != CONNECTION_OK) Fail("connection lost");
  if (!error.empty()) throw FleetDbError(error + " (" + redacted_ + ")", sqlstate);
  if (!last) throw FleetDbError("the server returned no result (" + redacted_ + ")");
  return last;
}

std::vector<Notification> PgLink::Drain() {
  std::vector<Notification> out;
  while (PGnotify* n = PQnotifies(conn_)) {
    out.push_back({n->relname, n->extra});
    PQfreemem(n);
  }
  return out;
}

std::vector<Notification> PgLink::Wait(std::chrono::milliseconds timeout, int wake_fd) {
  Connect();
  if (PQconsumeInput(conn_) == 0) Fail("connection lost");
  std::vector<Notification> out = Drain();
  if (!out.empty()) return out;
  pollfd fds[2] = {{PQsocket(conn_), POLLIN, 0}, {wake_fd, POLLIN, 0}};
  if (fds[0].fd < 0) Fail("waiting for notifications");
  const int ready = ::poll(fds, wake_fd >= 0 ? 2 : 1, static_cast<int>(timeout.count()));
  if (ready < 0 && errno != EINTR) Fail("waiting for notifications");
  if (ready > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
      PQconsumeInput(conn_) == 0)
    Fail("connection lost");
  return Drain();
}

std::string Text(const PGresult* result, int row, int column) {
  return PQgetvalue(result, row, column);
}

bool IsNull(const PGresult* result, int row, int column) {
  return PQgetisnull(result, row, column) != 0;
}

std::int64_t Int(const PGresult* result, int row, int column) {
  return IsNull(result, row, column) ? 0 : std::stoll(PQgetvalue(result, row, column));
}

std::string ByteaLiteral(const std::string& bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string ByteaValue(const PGresult* result, int row, int column) {
  if (IsNull(result, row, column)) return "";
  std::size_t length = 0;
  unsigned char* raw = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(result, row, column)), &length);
  if (raw == nullptr) return "";
  std::string out(reinterpret_cast<const char*>(raw), length);
  PQfreemem(raw);
  return out;
}

}  // namespace cutover::fleet
