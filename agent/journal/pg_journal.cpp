#include "agent/journal/pg_journal.hpp"

#include <libpq-fe.h>

#include <memory>

namespace cutover::agent {

namespace {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

Result Exec(PGconn* conn, const std::string& sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  return Result(PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0));
}

bool Ok(const Result& r) {
  const auto status = PQresultStatus(r.get());
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

}  // namespace

PgJournal::PgJournal(std::string uri)
    : uri_(std::move(uri)), redacted_(RedactDsn(uri_)), scrubber_(uri_) {
  std::lock_guard lock(mutex_);
  Connect();
  const std::string create = std::string("CREATE TABLE IF NOT EXISTS ") + kTable +
                             " (sequence bigint PRIMARY KEY,"
                             " time timestamptz NOT NULL,"
                             " cutover text NOT NULL,"
                             " kind text NOT NULL,"
                             " rollout_id text NOT NULL,"
                             " event jsonb NOT NULL)";
  Result r = Exec(conn_, create, {});
  if (!Ok(r))
    throw JournalError("journal " + Describe() + ": cannot create table " + kTable + ": " +
                       Error());
  Result last = Exec(conn_, std::string("SELECT coalesce(max(sequence), 0) FROM ") + kTable, {});
  if (!Ok(last)) throw JournalError("journal " + Describe() + ": " + Error());
  last_sequence_ = std::stoull(PQgetvalue(last.get(), 0, 0));
}

std::string PgJournal::Error() const {
  return scrubber_.Scrub(conn_ != nullptr ? PQerrorMessage(conn_) : "no connection");
}

PgJournal::~PgJournal() {
  if (conn_ != nullptr) PQfinish(conn_);
}

void PgJournal::Connect() {
  if (conn_ != nullptr) PQfinish(conn_);
  // A bounded connect: the journal is written from the tick, and a
  // database that does not answer must not stall every other cutover. The
  // URI's own connect_timeout, if any, wins (it comes later).
  const char* keys[] = {"connect_timeout", "dbname", nullptr};
  const char* values[] = {"2", uri_.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string why = Error();
    PQfinish(conn_);
    conn_ = nullptr;
    throw JournalError("journal " + Describe() + ": cannot connect: " + why);
  }
}

void PgJournal::EnsureConnected() {
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) Connect();
}

void PgJournal::Append(v1::Event& event) {
  std::lock_guard lock(mutex_);
  const std::string sql = std::string("INSERT INTO ") + kTable +
                          " (sequence, time, cutover, kind, rollout_id, event)"
                          " VALUES ($1, to_timestamp($2::double precision), $3, $4, $5, $6)";
  const double seconds = static_cast<double>(event.time().seconds()) + event.time().nanos() / 1e9;
  int reconnects = 0;
  for (int attempt = 0; attempt < 6; ++attempt) {
    event.set_sequence(last_sequence_ + 1);
    const std::vector<std::string> params = {std::to_string(event.sequence()),
                                             std::to_string(seconds),
                                             event.cutover(),
                                             event.kind(),
                                             event.rollout_id(),
                                             EventToJson(event)};
    EnsureConnected();
    Result r = Exec(conn_, sql, params);
    if (Ok(r)) {
      ++last_sequence_;
      return;
    }
    if (PQstatus(conn_) != CONNECTION_OK) {
      if (++reconnects >= 2) break;
      continue;
    }
    // Another writer of the same table (the agents of a fleet) took that
    // sequence: number after the newest and try again.
    const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
    if (state == nullptr || std::string(state) != "23505")
      throw JournalError("journal " + Describe() + ": insert failed: " + Error());
    Result last = Exec(conn_, std::string("SELECT coalesce(max(sequence), 0) FROM ") + kTable, {});
    if (!Ok(last)) throw JournalError("journal " + Describe() + ": " + Error());
    last_sequence_ = std::stoull(PQgetvalue(last.get(), 0, 0));
  }
  throw JournalError("journal " + Describe() +
                     (reconnects >= 2 ? ": connection lost" : ": no free sequence in 6 attempts"));
}

std::vector<v1::Event> PgJournal::Query(const std::string& sql,
                                        const std::vector<std::string>& params) {
  EnsureConnected();
  Result r = Exec(conn_, sql, params);
  if (!Ok(r)) throw JournalError("journal " + Describe() + ": " + Error());
  std::vector<v1::Event> events;
  const int rows = PQntuples(r.get());
  events.reserve(static_cast<std::size_t>(rows));
  for (int i = 0; i < rows; ++i) {
    v1::Event e;
    if (EventFromJson(PQgetvalue(r.get(), i, 0), &e)) events.push_back(std::move(e));
  }
  return events;
}

std::vector<v1::Event> PgJournal::ReadAll() {
  std::lock_guard lock(mutex_);
  return Query(std::string("SELECT event::text FROM ") + kTable + " ORDER BY sequence", {});
}

std::vector<v1::Event> PgJournal::History(const std::string& cutover, std::size_t limit) {
  std::lock_guard lock(mutex_);
  return Query(std::string("SELECT event::text FROM ") + kTable +
                   " WHERE ($1 = '' OR cutover = $1) ORDER BY sequence DESC LIMIT $2",
               {cutover, std::to_string(limit)});
}

}  // namespace cutover::agent
