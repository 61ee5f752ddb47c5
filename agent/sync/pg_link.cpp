#include "agent/sync/pg_link.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "agent/sync/sync_error.hpp"

namespace cutover::sync {

Waker::Waker() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd_ < 0) throw Unavailable("cannot create an eventfd");
}
Waker::~Waker() { ::close(fd_); }
void Waker::Wake() const {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(fd_, &one, sizeof one);
}
void Waker::Drain() const {
  std::uint64_t count = 0;
  [[maybe_unused]] const auto n = ::read(fd_, &count, sizeof count);
}

PgLink::PgLink(const std::string& dsn, Kind kind, const Waker& waker,
               std::chrono::milliseconds timeout)
    : waker_(waker), scrubber_(dsn), redacted_dsn_(agent::RedactDsn(dsn)), timeout_(timeout) {
  if (auto problem = agent::PostgresDsnProblem(dsn)) throw Unavailable("invalid DSN: " + *problem);
  // The session speaks the canonical forms the sync converts from: ISO dates
  // in UTC, round-trip floats, hex bytea. Keepalives notice a dead peer.
  const char* keys[] = {"dbname",
                        "fallback_application_name",
                        "options",
                        "keepalives_idle",
                        "keepalives_interval",
                        "keepalives_count",
                        "replication",
                        nullptr};
  const char* values[] = {dsn.c_str(),
                          "cutover-sync",
                          "-c DateStyle=ISO,YMD -c TimeZone=UTC -c extra_float_digits=3"
                          " -c bytea_output=hex -c IntervalStyle=postgres",
                          "10",
                          "5",
                          "3",
                          kind == Kind::kReplication ? "database" : nullptr,
                          nullptr};
  if (kind != Kind::kReplication) keys[6] = nullptr;
  conn_.reset(PQconnectStartParams(keys, values, /*expand_dbname=*/1));
  if (conn_ == nullptr) throw Unavailable("cannot connect: out of memory");
  if (PQstatus(conn_.get()) == CONNECTION_BAD) Fail("cannot connect");
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) Fail("cannot connect");
    WaitFor(state == PGRES_POLLING_WRITING, timeout_, "connecting");
    state = PQconnectPoll(conn_.get());
  }
  if (PQsetnonblocking(conn_.get(), 1) != 0) Fail("cannot switch to non-blocking mode");
  // NOTICEs ("schema already exists, skipping") are not for the agent's log.
  PQsetNoticeProcessor(
      conn_.get(), [](void*, const char*) {}, nullptr);
}

std::string PgLink::Clean(std::string message) const {
  message = scrubber_.Scrub(std::move(message));
  std::string line;
  for (char c : message) {
    if (c == '\n' || c == '\t') c = ' ';
    if (c == ' ' && (line.empty() || line.back() == ' ')) continue;
    line += c;
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

void PgLink::Fail(const std::string& doing) {
  throw Unavailable(doing + " (" + redacted_dsn_ + "): " + Clean(PQerrorMessage(conn_.get())));
}

void PgLink::WaitFor(bool write, std::chrono::milliseconds timeout, const char* doing) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      throw Unavailable(std::string("timed out ") + doing + " (" + redacted_dsn_ + ")");
    pollfd fds[2] = {{PQsocket(conn_.get()), static_cast<short>(write ? POLLOUT : POLLIN), 0},
                     {waker_.fd(), POLLIN, 0}};
    if (fds[0].fd < 0) Fail(doing);
    const int ready = ::poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) Fail(doing);
    if (ready > 0 && (fds[1].revents & POLLIN) != 0) throw Woken{};
    if (ready > 0 && fds[0].revents != 0) return;
  }
}

void PgLink::Flush(const char* doing) {
  for (int left = PQflush(conn_.get()); left != 0; left = PQflush(conn_.get())) {
    if (left < 0) Fail(doing);
    WaitFor(true, timeout_, doing);
  }
}

void PgLink::Send(const std::string& sql, const std::vector<Param>& params) {
  int sent = 0;
  if (params.empty()) {
    sent = PQsendQuery(conn_.get(), sql.c_str());
  } else {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    sent = PQsendQueryParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  }
  if (sent == 0) Fail("cannot send a query");
  Flush("sending a query");
}

PgResult PgLink::NextResult(const char* doing) {
  while (PQisBusy(conn_.get()) != 0) {
    WaitFor(false, timeout_, doing);
    if (PQconsumeInput(conn_.get()) == 0) Fail("connection lost");
  }
  return PgResult(PQgetResult(conn_.get()));
}

PgResult PgLink::Query(const std::string& sql, const std::vector<Param>& params) {
  Send(sql, params);
  PgResult last;
  std::string error;
  while (PgResult result = NextResult("waiting for the server")) {
    const ExecStatusType status = PQresultStatus(result.get());
    if ((status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE) && error.empty())
      error = Clean(PQresultErrorMessage(result.get()));
    const bool copy = status == PGRES_COPY_BOTH || status == PGRES_COPY_OUT;
    last = std::move(result);
    if (copy) break;  // START_REPLICATION: the stream begins, no more results
  }
  if (!error.empty()) throw Unavailable(error + " (" + redacted_dsn_ + ")");
  if (!last) throw Unavailable("the server returned no result (" + redacted_dsn_ + ")");
  return last;
}

void PgLink::Prepare(const std::string& name, const std::string& sql, int params) {
  if (PQsendPrepare(conn_.get(), name.c_str(), sql.c_str(), params, nullptr) == 0)
    Fail("cannot prepare a statement");
  Flush("preparing a statement");
  std::string error;
  while (PgResult result = NextResult("preparing a statement"))
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK && error.empty())
      error = Clean(PQresultErrorMessage(result.get()));
  if (!error.empty()) throw Unavailable("cannot prepare: " + error + " (" + redacted_dsn_ + ")");
}

void PgLink::RunAtomically(const std::vector<Prepared>& statements) {
  if (PQenterPipelineMode(conn_.get()) == 0) Fail("cannot enter pipeline mode");
  struct Leave {
    PGconn* conn;
    ~Leave() { PQexitPipelineMode(conn); }
  } leave{conn_.get()};
  for (const auto& s : statements) {
    std::vector<const char*> values;
    for (const auto& p : s.params) values.push_back(p ? p->c_str() : nullptr);
    if (PQsendQueryPrepared(conn_.get(), s.name->c_str(), static_cast<int>(values.size()),
                            values.data(), nullptr, nullptr, 0) == 0)
      Fail("cannot send a statement");
  }
  if (PQpipelineSync(conn_.get()) == 0) Fail("cannot end a pipeline");
  Flush("sending changes");
  // One result (and a NULL) per statement, then the sync.
  std::string error;
  for (;;) {
    PgResult result = NextResult("applying changes");
    if (!result) continue;  // the end of one statement's results
    const ExecStatusType status = PQresultStatus(result.get());
    if (status == PGRES_PIPELINE_SYNC) break;
    if ((status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE) && error.empty())
      error = Clean(PQresultErrorMessage(result.get()));
  }
  if (!error.empty()) throw Unavailable(error + " (" + redacted_dsn_ + ")");
}

void PgLink::Receive(std::chrono::milliseconds timeout) {
  if (PQconsumeInput(conn_.get()) == 0) Fail("replication connection lost");
  pollfd fds[2] = {{PQsocket(conn_.get()), POLLIN, 0}, {waker_.fd(), POLLIN, 0}};
  if (fds[0].fd < 0) Fail("replication connection lost");
  const int ready = ::poll(fds, 2, static_cast<int>(timeout.count()));
  if (ready < 0 && errno != EINTR) Fail("waiting for replication data");
  if (ready > 0 && (fds[1].revents & POLLIN) != 0) throw Woken{};
  if (ready > 0 && PQconsumeInput(conn_.get()) == 0) Fail("replication connection lost");
}

std::optional<std::string> PgLink::NextCopyData() {
  char* buffer = nullptr;
  const int n = PQgetCopyData(conn_.get(), &buffer, /*async=*/1);
  if (n > 0) {
    std::string frame(buffer, static_cast<std::size_t>(n));
    PQfreemem(buffer);
    return frame;
  }
  if (n == 0) return std::nullopt;
  if (n == -1) {  // the stream ended: the server says why in the final result
    PgResult result(PQgetResult(conn_.get()));
    throw Unavailable("replication stream ended (" + redacted_dsn_ +
                      "): " + Clean(result ? PQresultErrorMessage(result.get()) : ""));
  }
  Fail("replication stream broken");
}

void PgLink::SendCopyData(const std::string& frame) {
  if (PQputCopyData(conn_.get(), frame.data(), static_cast<int>(frame.size())) != 1)
    Fail("cannot send standby status");
  Flush("sending standby status");
}

}  // namespace cutover::sync
