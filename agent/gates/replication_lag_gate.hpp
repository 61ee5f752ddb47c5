// replication_lag {dsn, max, query}: how far behind its source a database is,
// measured according to what the server turns out to be:
//   standby (in recovery)  0 when every WAL byte received has been replayed,
//                          else now() - pg_last_xact_replay_timestamp(): the
//                          age of the newest data it shows (an over-estimate
//                          after an idle spell, the safe side). Fails when no
//                          WAL receiver is streaming: the lag is then unknown.
//   logical subscriber     every subscription of the database enabled, its
//                          apply worker running and its initial copy done;
//                          the subscriber cannot see how far the publisher is
//                          ahead, so time lag is measured at the publisher.
//   primary / publisher    per replica in pg_stat_replication: 0 when it has
//                          replayed all WAL, else its replay_lag; the largest
//                          counts. Unknown (fails) while a replica is behind
//                          but has not reported a replay time, is not
//                          streaming, or when no replica is connected.
// With `query`, that query's single value is the lag in seconds instead.
#pragma once

#include <chrono>
#include <string>

#include "agent/core/gate.hpp"

namespace cutover::gates {

class PgSession;

class ReplicationLagGate : public Gate {
 public:
  ReplicationLagGate(std::string dsn, std::chrono::milliseconds max, std::string query,
                     std::chrono::milliseconds timeout);

  std::string name() const override { return "replication_lag"; }
  GateOutcome Evaluate(const GateContext& context) override;

 private:
  // What was measured: the lag (seconds) and the facts behind it. A lag that
  // cannot be known is a GateError.
  struct Lag {
    double seconds = 0;
    std::string seen;
  };
  Lag ExplicitQuery(PgSession& session) const;
  Lag Standby(PgSession& session) const;
  Lag Subscriber(PgSession& session) const;
  Lag Primary(PgSession& session) const;

  std::string dsn_;
  std::chrono::milliseconds max_;
  std::string query_;
  std::chrono::milliseconds timeout_;
};

}  // namespace cutover::gates
