// A sync's configuration: validated from the API's SyncSpec (every problem
// names its field), and the names the sync gives its objects in both
// databases.
#pragma once

#include <string>
#include <vector>

#include "cutover/v1/cutover.pb.h"

namespace cutover::sync {

struct SyncConfig {
  std::string cutover;
  std::string blue_dsn;   // sqlite:///PATH, as given
  std::string blue_path;  // the file
  std::string green_dsn;  // may hold a password: never shown but through RedactDsn
  std::vector<std::string> tables;
  bool all_tables = false;
  v1::SyncConflictPolicy on_conflict = v1::SYNC_CONFLICT_POLICY_PAUSE;
  // The replication slot and the publication on green: "cutover_sync_app".
  std::string green_object;

  // For the journal and status: the green DSN without its password.
  v1::SyncSpec RedactedSpec() const;
};

// Throws SyncError (invalid argument) naming the field: "spec.blue: must be
// sqlite:///ABSOLUTE/PATH", "spec.tables[1]: \"orders\" is listed twice".
SyncConfig ConfigFromSpec(const std::string& cutover, const v1::SyncSpec& spec);

// Slot and publication names allow [a-z0-9_] and 63 bytes: the cutover's name
// when it fits, else its fitting part and a hash of the whole.
std::string GreenObjectName(const std::string& cutover);

}  // namespace cutover::sync
