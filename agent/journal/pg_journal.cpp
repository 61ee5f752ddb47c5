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

std::string Table() { return PgJournal::kTable; }

}  // namespace

PgJournal::PgJournal(std::string uri)
    : uri_(std::move(uri)), redacted_(RedactDsn(uri_)), scrubber_(uri_) {
  std::lock_guard lock(writer_.mutex);
  Connect(writer_);
  const std::string create = "CREATE TABLE IF NOT EXISTS " + Table() +
                             " (sequence bigint PRIMARY KEY,"
                             " time timestamptz NOT NULL,"
                             " cutover text NOT NULL,"
                             " kind text NOT NULL,"
                             " rollout_id text NOT NULL,"
                             " event jsonb NOT NULL)";
  Result r = Exec(writer_.conn, create, {});
  if (!Ok(r))
    throw JournalError("journal " + Describe() + ": cannot create table " + kTable + ": " +
                       Error(writer_));
  Result last = Exec(writer_.conn, "SELECT coalesce(max(sequence), 0) FROM " + Table(), {});
  if (!Ok(last)) throw JournalError("journal " + Describe() + ": " + Error(writer_));
  NumberAfter(std::stoull(PQgetvalue(last.get(), 0, 0)));
}

std::string PgJournal::Error(const Connection& c) const {
  return scrubber_.Scrub(c.conn != nullptr ? PQerrorMessage(c.conn) : "no connection");
}

PgJournal::~PgJournal() {
  if (writer_.conn != nullptr) PQfinish(writer_.conn);
  if (reader_.conn != nullptr) PQfinish(reader_.conn);
}

void PgJournal::Connect(Connection& c) {
  if (c.conn != nullptr) PQfinish(c.conn);
  // A bounded connect: a database that does not answer must not stall the
  // journal writer (or a reader) for long. The URI's own connect_timeout,
  // if any, wins (it comes later).
  const char* keys[] = {"connect_timeout", "dbname", nullptr};
  const char* values[] = {"2", uri_.c_str(), nullptr};
  c.conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (PQstatus(c.conn) != CONNECTION_OK) {
    std::string why = Error(c);
    PQfinish(c.conn);
    c.conn = nullptr;
    throw JournalError("journal " + Describe() + ": cannot connect: " + why);
  }
}

void PgJournal::EnsureConnected(Connection& c) {
  if (c.conn == nullptr || PQstatus(c.conn) != CONNECTION_OK) Connect(c);
}

void PgJournal::Write(const std::vector<v1::Event>& events) {
  if (events.empty()) return;
  std::lock_guard lock(writer_.mutex);
  // One statement for the batch: committed whole or not at all.
  std::string sql =
      "INSERT INTO " + Table() + " (sequence, time, cutover, kind, rollout_id, event) VALUES ";
  std::vector<std::string> params;
  for (const v1::Event& e : events) {
    const std::size_t n = params.size();
    sql += (n == 0 ? "" : ", ") + std::string("($") + std::to_string(n + 1) + ", to_timestamp($" +
           std::to_string(n + 2) + "::double precision), $" + std::to_string(n + 3) + ", $" +
           std::to_string(n + 4) + ", $" + std::to_string(n + 5) + ", $" + std::to_string(n + 6) +
           ")";
    const double seconds = static_cast<double>(e.time().seconds()) + e.time().nanos() / 1e9;
    params.insert(params.end(), {std::to_string(e.sequence()), std::to_string(seconds), e.cutover(),
                                 e.kind(), e.rollout_id(), EventToJson(e)});
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    EnsureConnected(writer_);
    Result r = Exec(writer_.conn, sql, params);
    if (Ok(r)) return;
    if (PQstatus(writer_.conn) == CONNECTION_OK)
      throw JournalError("journal " + Describe() + ": insert failed: " + Error(writer_));
  }
  throw JournalError("journal " + Describe() + ": connection lost");
}

std::vector<v1::Event> PgJournal::Query(const std::string& sql,
                                        const std::vector<std::string>& params) {
  std::lock_guard lock(reader_.mutex);
  EnsureConnected(reader_);
  Result r = Exec(reader_.conn, sql, params);
  if (!Ok(r)) {
    // Once more on a fresh connection, as the writer does.
    Connect(reader_);
    r = Exec(reader_.conn, sql, params);
    if (!Ok(r)) throw JournalError("journal " + Describe() + ": " + Error(reader_));
  }
  std::vector<v1::Event> events;
  const int rows = PQntuples(r.get());
  events.reserve(static_cast<std::size_t>(rows));
  for (int i = 0; i < rows; ++i) {
    v1::Event e;
    if (EventFromJson(PQgetvalue(r.get(), i, 0), &e)) events.push_back(std::move(e));
  }
  return events;
}

std::string PgJournal::Sql::History() {
  return "SELECT event::text FROM " + Table() +
         " WHERE ($1 = '' OR cutover = $1) ORDER BY sequence DESC LIMIT $2";
}

std::string PgJournal::Sql::Since() {
  return "SELECT event::text FROM " + Table() +
         " WHERE sequence >= $1 AND ($2 = '' OR cutover = $2) ORDER BY sequence LIMIT $3";
}

std::string PgJournal::Sql::Knows() {
  return "SELECT event::text FROM " + Table() + " WHERE cutover = $1 LIMIT 1";
}

std::string PgJournal::Sql::LastRolloutStarts() {
  return "SELECT event FROM (SELECT DISTINCT ON (cutover, event->>'to_slot') sequence,"
         " event::text AS event FROM " +
         Table() +
         " WHERE kind = 'rollout_started' AND event->>'release' <> '' ORDER BY cutover, "
         "event->>'to_slot',"
         " sequence DESC) s ORDER BY sequence";
}

std::string PgJournal::Sql::LastRollouts() {
  // The events of each cutover's last rollout_started's rollout, from it on.
  return "SELECT j.event::text FROM " + Table() +
         " j JOIN (SELECT DISTINCT ON (cutover) cutover,"
         " rollout_id, sequence FROM " +
         Table() +
         " WHERE kind = 'rollout_started' ORDER BY cutover, sequence DESC) s"
         " ON j.cutover = s.cutover AND j.rollout_id = s.rollout_id AND j.sequence >= s.sequence"
         " ORDER BY j.sequence";
}

std::string PgJournal::Sql::ReadAll() {
  return "SELECT event::text FROM " + Table() + " ORDER BY sequence";
}

std::vector<v1::Event> PgJournal::ReadAll() { return Query(Sql::ReadAll(), {}); }

std::vector<v1::Event> PgJournal::History(const std::string& cutover, std::size_t limit) {
  return Query(Sql::History(), {cutover, std::to_string(limit)});
}

std::vector<v1::Event> PgJournal::Since(const std::string& cutover, std::uint64_t since,
                                        std::size_t max) {
  return Query(Sql::Since(), {std::to_string(since), cutover, std::to_string(max)});
}

bool PgJournal::Knows(const std::string& cutover) {
  return !Query(Sql::Knows(), {cutover}).empty();
}

std::vector<v1::Event> PgJournal::LastRolloutStarts() {
  return Query(Sql::LastRolloutStarts(), {});
}

std::vector<JournaledRollout> PgJournal::LastRollouts() {
  return GroupLastRollouts(Query(Sql::LastRollouts(), {}), Describe());
}

std::vector<JournaledRollout> PgJournal::GroupLastRollouts(const std::vector<v1::Event>& events,
                                                           const std::string& describe) {
  LastRolloutGrouping<const v1::Event*> grouping;
  for (const v1::Event& e : events) grouping.Add(e.cutover(), e.kind(), e.rollout_id(), &e);
  std::vector<JournaledRollout> out;
  for (const auto& group : grouping.groups()) {
    JournaledRollout rollout;
    for (const v1::Event* e : group.items) {
      rollout.events.push_back(*e);
      rollout.where.push_back(describe + " sequence " + std::to_string(e->sequence()));
    }
    out.push_back(std::move(rollout));
  }
  return out;
}

}  // namespace cutover::agent
