#include "agent/gates/replication_lag_gate.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "agent/gates/evaluation.hpp"
#include "agent/gates/gate_error.hpp"
#include "agent/gates/pg_session.hpp"

namespace cutover::gates {

namespace {

std::string Value(const PgResult& result, int row, int column) {
  return PQgetisnull(result.get(), row, column) != 0 ? "" : PQgetvalue(result.get(), row, column);
}

bool IsTrue(const PgResult& result, int row, int column) {
  return Value(result, row, column) == "t";
}

std::string Bytes(const std::string& count) {
  const double bytes = std::strtod(count.c_str(), nullptr);
  char text[32];
  if (bytes < 1024) {
    std::snprintf(text, sizeof text, "%.0f B", bytes);
  } else if (bytes < 1024 * 1024) {
    std::snprintf(text, sizeof text, "%.1f kB", bytes / 1024);
  } else {
    std::snprintf(text, sizeof text, "%.1f MB", bytes / (1024 * 1024));
  }
  return text;
}

}  // namespace

ReplicationLagGate::ReplicationLagGate(std::string dsn, std::chrono::milliseconds max,
                                       std::string query, std::chrono::milliseconds timeout)
    : dsn_(std::move(dsn)), max_(max), query_(std::move(query)), timeout_(timeout) {}

GateOutcome ReplicationLagGate::Evaluate(const GateContext& context) {
  return Evaluated(name(), [&] {
    const Deadline deadline(timeout_, context.cancel);
    PgSession session(dsn_, deadline);
    Lag lag;
    if (!query_.empty()) {
      lag = ExplicitQuery(session);
    } else if (IsTrue(session.Query("select pg_is_in_recovery()"), 0, 0)) {
      lag = Standby(session);
    } else if (Value(session.Query("select count(*) from pg_subscription"
                                   " where subdbid = (select oid from pg_database"
                                   " where datname = current_database())"),
                     0, 0) != "0") {
      lag = Subscriber(session);
    } else {
      lag = Primary(session);
    }
    const double max_seconds = static_cast<double>(max_.count()) / 1000.0;
    GateOutcome outcome;
    outcome.passed = lag.seconds <= max_seconds;
    outcome.detail = "lag " + FormatSeconds(lag.seconds) + (outcome.passed ? " <= " : " > ") +
                     "max " + FormatSeconds(max_seconds) + ": " + lag.seen + " (" +
                     session.redacted_dsn() + ")";
    return outcome;
  });
}

ReplicationLagGate::Lag ReplicationLagGate::ExplicitQuery(PgSession& session) const {
  PgResult result = session.QueryReadOnly(query_);
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK || PQntuples(result.get()) < 1 ||
      PQnfields(result.get()) < 1)
    throw GateError("the lag query returned no value (it must return the lag in seconds) (" +
                    session.redacted_dsn() + ")");
  if (PQgetisnull(result.get(), 0, 0) != 0)
    throw GateError("the lag query returned NULL: lag unknown (" + session.redacted_dsn() + ")");
  const std::string text = PQgetvalue(result.get(), 0, 0);
  char* end = nullptr;
  const double seconds = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0')
    throw GateError("the lag query returned a value of type " + PgSession::TypeName(*result, 0) +
                    " that is not a number of seconds (" + session.redacted_dsn() + ")");
  return {seconds, "from the lag query"};
}

ReplicationLagGate::Lag ReplicationLagGate::Standby(PgSession& session) const {
  PgResult r = session.Query(
      "select (select status from pg_stat_wal_receiver),"
      " pg_last_wal_receive_lsn()::text, pg_last_wal_replay_lsn()::text,"
      " coalesce(pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn(), false),"
      " extract(epoch from now() - pg_last_xact_replay_timestamp()),"
      " pg_get_wal_replay_pause_state(),"
      " greatest(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)");
  const std::string receiver = Value(r, 0, 0);
  const std::string received = Value(r, 0, 1);
  const std::string replayed = Value(r, 0, 2);
  const bool caught_up = IsTrue(r, 0, 3);
  const std::string pause = Value(r, 0, 5);
  const std::string paused = pause == "not paused" ? "" : ", replay " + pause;
  if (receiver != "streaming")
    throw GateError("standby is not streaming from a primary (WAL receiver " +
                    (receiver.empty() ? std::string("not running") : receiver) + "): lag unknown" +
                    paused + " (" + session.redacted_dsn() + ")");
  if (caught_up)
    return {0, "standby has replayed all WAL it received (up to " + replayed + ")" + paused};
  const std::string seen = "standby received " + Bytes(Value(r, 0, 6)) + " not yet replayed (" +
                           replayed + " -> " + received + ")" + paused;
  if (PQgetisnull(r.get(), 0, 4) != 0)
    throw GateError(seen + " and has replayed no transaction since it started: lag unknown (" +
                    session.redacted_dsn() + ")");
  return {std::max(0.0, std::strtod(Value(r, 0, 4).c_str(), nullptr)),
          seen + "; lag is the age of its last replayed transaction"};
}

ReplicationLagGate::Lag ReplicationLagGate::Subscriber(PgSession& session) const {
  PgResult r = session.Query(
      "select s.subname, s.subenabled, w.pid is not null,"
      " (select count(*) from pg_subscription_rel r where r.srsubid = s.oid and r.srsubstate <> "
      "'r'),"
      " coalesce(w.received_lsn::text, '')"
      " from pg_subscription s left join pg_stat_subscription w"
      " on w.subid = s.oid and w.relid is null"
      " where s.subdbid = (select oid from pg_database where datname = current_database())"
      " order by 1");
  std::string problems;
  std::string live;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    const std::string subscription = "subscription " + Value(r, i, 0);
    std::string problem;
    if (!IsTrue(r, i, 1)) {
      problem = subscription + " is disabled";
    } else if (!IsTrue(r, i, 2)) {
      problem = subscription + " has no running apply worker (see the subscriber's log)";
    } else if (Value(r, i, 3) != "0") {
      problem = subscription + " is still copying " + Value(r, i, 3) + " table(s)";
    }
    if (!problem.empty()) {
      problems += (problems.empty() ? "" : "; ") + problem;
    } else {
      live +=
          (live.empty() ? "" : ", ") + Value(r, i, 0) + " (received up to " + Value(r, i, 4) + ")";
    }
  }
  if (!problems.empty())
    throw GateError("logical subscriber: " + problems + ": lag unknown (" + session.redacted_dsn() +
                    ")");
  return {0, "logical subscriber, subscriptions streaming with initial copy done: " + live +
                 "; time lag is measured at the publisher"};
}

ReplicationLagGate::Lag ReplicationLagGate::Primary(PgSession& session) const {
  PgResult r = session.Query(
      "select coalesce(nullif(application_name, ''), client_addr::text, 'local'), state,"
      " replay_lsn is not null,"
      " extract(epoch from replay_lag),"
      " coalesce(greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0), 0)"
      " from pg_stat_replication where state <> 'backup' order by 1");
  if (PQntuples(r.get()) == 0)
    throw GateError(
        "primary with no replica connected and no subscription: no replication to measure (" +
        session.redacted_dsn() + ")");
  double worst = 0;
  std::string seen;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    const std::string replica = "replica " + Value(r, i, 0);
    const std::string behind = Value(r, i, 4);
    const auto unknown = [&](const std::string& why) {
      return GateError(replica + " " + why + ": lag unknown (" + session.redacted_dsn() + ")");
    };
    if (Value(r, i, 1) != "streaming") throw unknown("is in state " + Value(r, i, 1));
    if (!IsTrue(r, i, 2)) throw unknown("has not reported a replay position");
    // Everything replayed: no lag, whatever replay_lag still shows from the
    // last burst. Behind, replay_lag is the measure; while it is NULL (no
    // report since the burst began), the lag is not known yet.
    double lag = 0;
    if (behind != "0") {
      if (PQgetisnull(r.get(), i, 3) != 0)
        throw unknown("is " + Bytes(behind) + " behind and has not reported a replay time yet");
      lag = std::strtod(Value(r, i, 3).c_str(), nullptr);
    }
    worst = std::max(worst, lag);
    seen += (seen.empty() ? "" : ", ") + replica + " " + FormatSeconds(lag) + " (" + Bytes(behind) +
            " behind)";
  }
  return {worst, "primary's replicas: " + seen};
}

}  // namespace cutover::gates
