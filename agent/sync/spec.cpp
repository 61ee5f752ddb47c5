#include "agent/sync/spec.hpp"

#include <cctype>
#include <cstdio>
#include <set>

#include "agent/core/dsn.hpp"
#include "agent/core/sync_status.hpp"
#include "agent/sync/sync_error.hpp"

namespace cutover::sync {

namespace {

[[noreturn]] void Invalid(const std::string& field, const std::string& why) {
  throw SyncError(SyncError::Kind::kInvalidArgument, field + ": " + why);
}

void RequireTableName(const std::string& table, const std::string& field) {
  if (table.empty()) Invalid(field, "must not be empty");
  for (std::size_t i = 0; i < table.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(table[i]);
    const bool ok = std::isalpha(c) || c == '_' || (i > 0 && (std::isdigit(c) || c == '$'));
    if (!ok) Invalid(field, "\"" + table + "\" is not a table name");
  }
  if (table.rfind(agent::kSyncObjectPrefix, 0) == 0 || table.rfind("sqlite_", 0) == 0)
    Invalid(field, "\"" + table + "\" belongs to " +
                       (table.rfind("sqlite_", 0) == 0 ? "SQLite" : "the sync itself"));
}

}  // namespace

v1::SyncSpec SyncConfig::RedactedSpec() const {
  v1::SyncSpec spec;
  spec.set_blue(blue_dsn);
  spec.set_green(agent::RedactDsn(green_dsn));
  for (const auto& t : tables) spec.add_tables(t);
  spec.set_all_tables(all_tables);
  spec.set_on_conflict(on_conflict);
  return spec;
}

SyncConfig ConfigFromSpec(const std::string& cutover, const v1::SyncSpec& spec) {
  SyncConfig config;
  config.cutover = cutover;
  if (spec.blue().empty()) Invalid("spec.blue", "is required (sqlite:///PATH)");
  if (!agent::IsSqliteDsn(spec.blue())) Invalid("spec.blue", "must be sqlite:///ABSOLUTE/PATH");
  config.blue_dsn = spec.blue();
  config.blue_path = agent::SqlitePath(spec.blue());
  if (config.blue_path.empty() || config.blue_path.front() != '/')
    Invalid("spec.blue", "must name an absolute path (sqlite:///ABSOLUTE/PATH)");
  if (spec.green().empty()) Invalid("spec.green", "is required (postgresql://...)");
  if (agent::IsSqliteDsn(spec.green()))
    Invalid("spec.green", "must be a PostgreSQL DSN (postgresql://...)");
  if (auto problem = agent::PostgresDsnProblem(spec.green())) Invalid("spec.green", *problem);
  config.green_dsn = spec.green();
  if (spec.all_tables() && spec.tables_size() > 0)
    Invalid("spec.tables", "list tables or say all, not both");
  if (!spec.all_tables() && spec.tables_size() == 0)
    Invalid("spec.tables", "must list at least one table, or be all");
  std::set<std::string> seen;
  for (int i = 0; i < spec.tables_size(); ++i) {
    const std::string field = "spec.tables[" + std::to_string(i) + "]";
    RequireTableName(spec.tables(i), field);
    if (!seen.insert(spec.tables(i)).second)
      Invalid(field, "\"" + spec.tables(i) + "\" is listed twice");
    config.tables.push_back(spec.tables(i));
  }
  config.all_tables = spec.all_tables();
  switch (spec.on_conflict()) {
    case v1::SYNC_CONFLICT_POLICY_UNSPECIFIED:
    case v1::SYNC_CONFLICT_POLICY_PAUSE:
      config.on_conflict = v1::SYNC_CONFLICT_POLICY_PAUSE;
      break;
    case v1::SYNC_CONFLICT_POLICY_BLUE_WINS:
    case v1::SYNC_CONFLICT_POLICY_GREEN_WINS:
      config.on_conflict = spec.on_conflict();
      break;
    default:
      Invalid("spec.on_conflict", "must be pause, blue_wins or green_wins");
  }
  config.green_object = GreenObjectName(cutover);
  return config;
}

std::string GreenObjectName(const std::string& cutover) {
  constexpr std::size_t kRoom = 40;  // of 63, with "cutover_sync_" and a hash to spare
  std::string safe;
  for (char c : cutover) {
    const unsigned char u = static_cast<unsigned char>(c);
    safe += std::isalpha(u)                 ? static_cast<char>(std::tolower(u))
            : (std::isdigit(u) || c == '_') ? c
                                            : '_';
  }
  if (safe == cutover && safe.size() <= kRoom) return "cutover_sync_" + safe;
  std::uint64_t hash = 14695981039346656037ULL;  // FNV-1a of the whole name
  for (unsigned char c : cutover) hash = (hash ^ c) * 1099511628211ULL;
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, "_%08llx", static_cast<unsigned long long>(hash >> 32));
  return "cutover_sync_" + safe.substr(0, kRoom) + suffix;
}

}  // namespace cutover::sync
