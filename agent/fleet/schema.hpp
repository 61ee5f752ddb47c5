// The fleet's tables and functions in its PostgreSQL database, created and
// migrated by the agents themselves (one at a time, under an advisory lock).
// docs/architecture.md ("The fleet") describes every table.
#pragma once

#include "agent/fleet/pg_link.hpp"

namespace cutover::fleet {

// The newest schema version this agent knows.
inline constexpr int kSchemaVersion = 1;

// LISTEN/NOTIFY channels.
inline constexpr char kDecisionChannel[] = "cutover_fleet_decision";  // every journaled decision
inline constexpr char kCommandChannel[] = "cutover_fleet_command";    // a call for the decider
inline constexpr char kDoneChannel[] = "cutover_fleet_done";          // ... and its answer

// Brings the database to kSchemaVersion. The journal table (PgJournal) must
// exist. Throws FleetDbError, also for a database newer than this agent.
void MigrateSchema(PgLink& link);

}  // namespace cutover::fleet
