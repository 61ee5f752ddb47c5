#include "agent/fleet/schema.hpp"

#include <string>
#include <vector>

#include "agent/journal/pg_journal.hpp"

namespace cutover::fleet {

namespace {

// pg_advisory_lock keys: one for migrations, one that orders journal
// sequence numbers among the fleet's writers.
constexpr const char* kMigrationLock = "7310387712345001";
constexpr const char* kJournalLock = "7310387712345002";

// Version 1: the lease, the nodes and what they applied, the decision log,
// each cutover's decided weight and rollout, calls handed to the decider,
// and the functions every journal entry, decision and heartbeat goes through.
std::string Version1() {
  const std::string journal = agent::PgJournal::kTable;
  return R"sql(
CREATE TABLE cutover_fleet_lease (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  holder text NOT NULL DEFAULT '',
  epoch bigint NOT NULL DEFAULT 0,
  expires_at timestamptz NOT NULL DEFAULT '-infinity',
  acquired_at timestamptz);
INSERT INTO cutover_fleet_lease DEFAULT VALUES;

CREATE TABLE cutover_fleet_nodes (
  node text PRIMARY KEY,
  joined_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  heartbeat_at timestamptz NOT NULL,
  pid integer NOT NULL,
  instance text NOT NULL,
  counters bytea);

CREATE TABLE cutover_fleet_applied (
  node text NOT NULL,
  cutover text NOT NULL,
  epoch bigint NOT NULL,
  green_bp integer NOT NULL,
  applied_at timestamptz NOT NULL,
  PRIMARY KEY (node, cutover));

CREATE TABLE cutover_fleet_decisions (
  cutover text NOT NULL,
  epoch bigint NOT NULL,
  green_bp integer NOT NULL,
  kind text NOT NULL,
  rollout_id text NOT NULL,
  node text NOT NULL,
  lease_epoch bigint NOT NULL,
  journal_sequence bigint NOT NULL,
  decided_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (cutover, epoch));

CREATE TABLE cutover_fleet_rollouts (
  cutover text PRIMARY KEY,
  epoch bigint NOT NULL DEFAULT 0,
  green_bp integer,
  rollout_id text NOT NULL DEFAULT '',
  state text NOT NULL DEFAULT '',
  decided_by text NOT NULL DEFAULT '',
  decided_at timestamptz);

CREATE TABLE cutover_fleet_commands (
  id bigserial PRIMARY KEY,
  node text NOT NULL,
  verb text NOT NULL,
  request text NOT NULL,
  actor text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  taken_by text,
  done_at timestamptz,
  code integer,
  message text,
  response text);

-- One journal row under the next sequence, numbered under one lock by every
-- writer of the fleet: what a node records of its own (its start, its
-- database syncs), deciding nothing, and every decision's entry.
CREATE FUNCTION cutover_fleet_record(
    p_time double precision, p_cutover text, p_kind text, p_rollout_id text, p_event jsonb)
  RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
  s bigint;
BEGIN
  PERFORM pg_advisory_xact_lock()sql" +
         std::string(kJournalLock) + R"sql();
  SELECT coalesce(max(j.sequence), 0) + 1 INTO s FROM )sql" +
         journal + R"sql( j;
  INSERT INTO )sql" +
         journal +
         R"sql( (sequence, time, cutover, kind, rollout_id, event)
    VALUES (s, to_timestamp(p_time), p_cutover, p_kind, p_rollout_id,
            p_event || jsonb_build_object('sequence', s::text));
  RETURN s;
END $fn$;

-- Every decision goes through here, in one transaction: the fencing check,
-- the journal entry, the decided weight and the notification. A fenced
-- decision needs the live lease of that epoch; an unfenced one (a revert,
-- an abort, a breach: back to safety) needs its rollout to be the one the
-- fleet is running, so a late revert never undoes a newer rollout.
CREATE FUNCTION cutover_fleet_decide(
    p_node text, p_lease_epoch bigint, p_fenced boolean, p_origin text,
    p_cutover text, p_kind text, p_rollout_id text, p_green_bp integer,
    p_time double precision, p_event jsonb)
  RETURNS TABLE (outcome text, decided_epoch bigint, journal_sequence bigint)
  LANGUAGE plpgsql AS $fn$
DECLARE
  r cutover_fleet_rollouts%ROWTYPE;
  e bigint;
  s bigint;
  next_state text;
BEGIN
  IF p_fenced THEN
    PERFORM 1 FROM cutover_fleet_lease l
      WHERE l.holder = p_node AND l.epoch = p_lease_epoch AND l.expires_at > clock_timestamp()
      FOR SHARE;
    IF NOT FOUND THEN
      RETURN QUERY SELECT 'stale'::text, 0::bigint, 0::bigint;
      RETURN;
    END IF;
  END IF;
  INSERT INTO cutover_fleet_rollouts (cutover) VALUES (p_cutover) ON CONFLICT (cutover) DO NOTHING;
  SELECT * INTO r FROM cutover_fleet_rollouts WHERE cutover = p_cutover FOR UPDATE;
  IF NOT p_fenced AND p_rollout_id <> ''
     AND (r.rollout_id <> p_rollout_id OR r.state NOT IN ('running', 'paused')) THEN
    RETURN QUERY SELECT 'superseded'::text, r.epoch, 0::bigint;
    RETURN;
  END IF;
  e := r.epoch + CASE WHEN p_green_bp IS NULL THEN 0 ELSE 1 END;
  s := cutover_fleet_record(p_time, p_cutover, p_kind, p_rollout_id,
                            p_event || jsonb_build_object('epoch', e::text));
  next_state := CASE p_kind
    WHEN 'rollout_started' THEN 'running' WHEN 'resumed' THEN 'running'
    WHEN 'paused' THEN 'paused' WHEN 'completed' THEN 'completed' WHEN 'promoted' THEN 'completed'
    WHEN 'reverted' THEN 'reverted' WHEN 'aborted' THEN 'aborted' END;
  UPDATE cutover_fleet_rollouts SET
      epoch = e,
      green_bp = coalesce(p_green_bp, green_bp),
      rollout_id = CASE WHEN p_kind = 'rollout_started' THEN p_rollout_id ELSE rollout_id END,
      state = CASE WHEN next_state IS NOT NULL
                    AND (p_kind = 'rollout_started' OR rollout_id = p_rollout_id)
                   THEN next_state ELSE state END,
      decided_by = CASE WHEN p_green_bp IS NULL THEN decided_by ELSE p_node END,
      decided_at = CASE WHEN p_green_bp IS NULL THEN decided_at ELSE clock_timestamp() END
    WHERE cutover = p_cutover;
  IF p_green_bp IS NOT NULL THEN
    INSERT INTO cutover_fleet_decisions
        (cutover, epoch, green_bp, kind, rollout_id, node, lease_epoch, journal_sequence)
      VALUES (p_cutover, e, p_green_bp, p_kind, p_rollout_id, p_node, p_lease_epoch, s);
  END IF;
  PERFORM pg_notify(')sql" +
         kDecisionChannel + R"sql(', json_build_object(
      'cutover', p_cutover, 'kind', p_kind, 'epoch', e, 'green_bp', p_green_bp,
      'sequence', s, 'node', p_node, 'origin', p_origin)::text);
  RETURN QUERY SELECT 'ok'::text, e, s;
END $fn$;

-- A node's heartbeat, with its counters; the holder renews its term while
-- it is valid, and anyone takes an expired lease as a new term (epoch + 1).
-- Expiry is the database's clock, so no two nodes' clocks are compared.
CREATE FUNCTION cutover_fleet_heartbeat(
    p_node text, p_pid integer, p_instance text, p_counters bytea, p_lease_epoch bigint,
    p_ttl_ms integer, p_want_lease boolean)
  RETURNS TABLE (holder text, lease_epoch bigint, expires_in_ms bigint)
  LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO cutover_fleet_nodes AS n (node, heartbeat_at, pid, instance, counters)
    VALUES (p_node, clock_timestamp(), p_pid, p_instance, p_counters)
    ON CONFLICT (node) DO UPDATE
      SET heartbeat_at = excluded.heartbeat_at, pid = excluded.pid,
          instance = excluded.instance, counters = excluded.counters;
  UPDATE cutover_fleet_lease l
    SET expires_at = clock_timestamp() + p_ttl_ms * interval '1 millisecond'
    WHERE l.holder = p_node AND l.epoch = p_lease_epoch AND l.expires_at > clock_timestamp();
  IF NOT FOUND AND p_want_lease THEN
    UPDATE cutover_fleet_lease l
      SET holder = p_node, epoch = l.epoch + 1, acquired_at = clock_timestamp(),
          expires_at = clock_timestamp() + p_ttl_ms * interval '1 millisecond'
      WHERE l.expires_at <= clock_timestamp();
  END IF;
  RETURN QUERY SELECT l.holder, l.epoch,
      CASE WHEN l.expires_at <= clock_timestamp() THEN 0::bigint
           ELSE (extract(epoch FROM l.expires_at - clock_timestamp()) * 1000)::bigint END
    FROM cutover_fleet_lease l;
END $fn$;
)sql";
}

}  // namespace

void MigrateSchema(PgLink& link) {
  const std::vector<std::string> migrations = {Version1()};
  static_assert(kSchemaVersion == 1, "one migration per version");
  link.Exec(std::string("SELECT pg_advisory_lock(") + kMigrationLock + ")");
  try {
    link.Exec("CREATE TABLE IF NOT EXISTS cutover_fleet_schema (version integer NOT NULL)");
    const PgResult current =
        link.Exec("SELECT coalesce(max(version), 0) FROM cutover_fleet_schema");
    const int version = static_cast<int>(Int(current.get(), 0, 0));
    if (version > kSchemaVersion)
      throw FleetDbError("the fleet's database (" + link.redacted_dsn() + ") has schema version " +
                         std::to_string(version) + ", this agent knows up to " +
                         std::to_string(kSchemaVersion) + ": upgrade the agent");
    for (int v = version + 1; v <= kSchemaVersion; ++v)
      link.Exec("BEGIN;" + migrations[static_cast<std::size_t>(v - 1)] +
                "INSERT INTO cutover_fleet_schema VALUES (" + std::to_string(v) + "); COMMIT;");
  } catch (...) {
    if (link.connected()) {
      try {
        link.Exec("ROLLBACK");
        link.Exec(std::string("SELECT pg_advisory_unlock(") + kMigrationLock + ")");
      } catch (const FleetDbError&) {
        link.Close();  // the session's end releases the lock
      }
    }
    throw;
  }
  link.Exec(std::string("SELECT pg_advisory_unlock(") + kMigrationLock + ")");
}

}  // namespace cutover::fleet
