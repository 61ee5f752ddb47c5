// The journal as a PostgreSQL table (created if missing), through libpq.
// Each Append is one INSERT committed before it returns; a lost connection
// is re-opened once per call before giving up.
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

  void Append(v1::Event& event) override;
  std::vector<v1::Event> ReadAll() override;
  std::vector<v1::Event> History(const std::string& cutover, std::size_t limit) override;
  std::string Describe() const override { return redacted_; }

 private:
  void Connect();
  void EnsureConnected();
  std::vector<v1::Event> Query(const std::string& sql, const std::vector<std::string>& params);

  // libpq's messages can echo parts of the URI: every one goes through this.
  std::string Error() const;

  std::mutex mutex_;
  std::string uri_;
  std::string redacted_;
  SecretScrubber scrubber_;
  pg_conn* conn_ = nullptr;
  std::uint64_t last_sequence_ = 0;
};

}  // namespace cutover::agent
