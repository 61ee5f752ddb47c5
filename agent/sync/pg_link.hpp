// One libpq connection of the sync, read-write and long-lived, whose every
// wait (connect, query, replication data) is a poll() on its socket and on a
// Waker, so that stopping the sync interrupts it at once. Errors are
// SyncErrors with libpq's words scrubbed of the DSN's password.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/core/dsn.hpp"

namespace cutover::sync {

// An eventfd: Wake() from any thread makes every wait on it return.
class Waker {
 public:
  Waker();
  ~Waker();
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;
  void Wake() const;
  void Drain() const;  // forgets the wakes so far
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// Thrown out of a wait when the waker fired: the sync is stopping.
struct Woken {};

struct PgResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

using Param = std::optional<std::string>;  // nullopt: SQL NULL

class PgLink {
 public:
  enum class Kind { kPlain, kReplication };
  // Connects within `timeout` (libpq's keepalives then watch the session).
  // A replication link speaks the walsender protocol (replication=database).
  PgLink(const std::string& dsn, Kind kind, const Waker& waker,
         std::chrono::milliseconds timeout = std::chrono::seconds(10));
  PgLink(const PgLink&) = delete;
  PgLink& operator=(const PgLink&) = delete;

  // One statement (or several, without params); the last result. Throws
  // SyncError (unavailable) naming what failed; Woken when stopped.
  PgResult Query(const std::string& sql, const std::vector<Param>& params = {});
  void Prepare(const std::string& name, const std::string& sql, int params);

  // Runs prepared statements as one transaction, in one round trip (a libpq
  // pipeline whose statements form one implicit transaction): all or none.
  struct Prepared {
    const std::string* name;
    std::vector<Param> params;
  };
  void RunAtomically(const std::vector<Prepared>& statements);

  // Replication: the next CopyData frame already received, without waiting;
  // nullopt when none is (call Receive first). Throws when the stream ended.
  std::optional<std::string> NextCopyData();
  // Reads what the socket holds, waiting up to `timeout` for something.
  void Receive(std::chrono::milliseconds timeout);
  void SendCopyData(const std::string& frame);

  PGconn* get() { return conn_.get(); }
  const std::string& redacted_dsn() const { return redacted_dsn_; }

 private:
  void WaitFor(bool write, std::chrono::milliseconds timeout, const char* doing);
  void Send(const std::string& sql, const std::vector<Param>& params);
  void Flush(const char* doing);
  PgResult NextResult(const char* doing);
  [[noreturn]] void Fail(const std::string& doing);
  std::string Clean(std::string message) const;

  const Waker& waker_;
  agent::SecretScrubber scrubber_;
  std::string redacted_dsn_;
  std::chrono::milliseconds timeout_;
  struct ConnDeleter {
    void operator()(PGconn* conn) const { PQfinish(conn); }
  };
  std::unique_ptr<PGconn, ConnDeleter> conn_;
};

}  // namespace cutover::sync
