// The journal as a PostgreSQL table (created if missing), through libpq.
// Each Write is one transaction committed before it returns; a lost
// connection is re-opened once per call before giving up. Reads have a
// connection of their own, so they never wait for a write.
#pragma once

#include <mutex>

#include "agent/core/dsn.hpp"
#include "agent/journal/journal.hpp"

struct pg_conn;

namespace cutover::agent {

class PgJournal final : public Journal {
 public:
  static constexpr const char* kTable = "cutover_journal";

  explicit PgJournal(std::string uri);
  ~PgJournal() override;
  PgJournal(const PgJournal&) = delete;
  PgJournal& operator=(const PgJournal&) = delete;

  void Write(const std::vector<v1::Event>& events) override;
  std::vector<v1::Event> History(const std::string& cutover, std::size_t limit) override;
  std::vector<v1::Event> Since(const std::string& cutover, std::uint64_t since,
                               std::size_t max) override;
  bool Knows(const std::string& cutover) override;
  std::vector<JournaledRollout> LastRollouts() override;
  std::vector<v1::Event> LastRolloutStarts() override;
  std::vector<v1::Event> ReadAll() override;
  std::string Describe() const override { return redacted_; }

  // The reads' SQL, each returning one column of event JSON (parameters as
  // the read of the same name takes them), for a reader of the table on a
  // connection of its own: a fleet's, every statement of which has a deadline.
  struct Sql {
    static std::string History();            // $1 cutover, $2 limit
    static std::string Since();              // $1 since, $2 cutover, $3 max
    static std::string Knows();              // $1 cutover
    static std::string LastRollouts();       // each cutover's last rollout's events, in order
    static std::string LastRolloutStarts();  // oldest first
    static std::string ReadAll();
  };
  // LastRollouts()'s rows as rollouts, each event's `where` naming its
  // sequence in `describe`.
  static std::vector<JournaledRollout> GroupLastRollouts(const std::vector<v1::Event>& events,
                                                         const std::string& describe);

 private:
  // One connection and what guards it: the writer's and the readers'.
  struct Connection {
    std::mutex mutex;
    pg_conn* conn = nullptr;
  };
  void Connect(Connection& c);
  void EnsureConnected(Connection& c);
  std::vector<v1::Event> Query(const std::string& sql, const std::vector<std::string>& params);

  // libpq's messages can echo parts of the URI: every one goes through this.
  std::string Error(const Connection& c) const;

  std::string uri_;
  std::string redacted_;
  SecretScrubber scrubber_;
  Connection writer_;
  Connection reader_;
};

}  // namespace cutover::agent
