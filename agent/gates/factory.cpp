#include "agent/gates/factory.hpp"

#include <cctype>
#include <set>
#include <stdexcept>

#include "agent/core/url.hpp"
#include "agent/gates/exec_gate.hpp"
#include "agent/gates/http_gate.hpp"
#include "agent/gates/parity_gate.hpp"
#include "agent/gates/replication_lag_gate.hpp"
#include "agent/gates/reversibility_gate.hpp"
#include "agent/gates/sql_gate.hpp"

namespace cutover::gates {

namespace {

using agent::IsPostgresUri;
using agent::IsSqliteDsn;
using agent::PostgresDsnProblem;
using agent::SqlitePath;

using std::chrono::milliseconds;

[[noreturn]] void Invalid(const std::string& field, const std::string& why) {
  throw std::invalid_argument(field + ": " + why);
}

// A Duration as milliseconds, rejecting what protobuf itself would call invalid.
milliseconds ToMilliseconds(const google::protobuf::Duration& d, const std::string& field) {
  if (d.nanos() <= -1000000000 || d.nanos() >= 1000000000 || (d.seconds() > 0 && d.nanos() < 0) ||
      (d.seconds() < 0 && d.nanos() > 0))
    Invalid(field, "is not a valid duration");
  if (d.seconds() < 0 || (d.seconds() == 0 && d.nanos() <= 0)) Invalid(field, "must be positive");
  if (d.seconds() > 24 * 3600) Invalid(field, "must be at most 24h");
  const milliseconds ms{d.seconds() * 1000 + d.nanos() / 1000000};
  if (ms.count() == 0) Invalid(field, "must be at least 1ms");
  return ms;
}

void RequireNotEmpty(const std::string& value, const std::string& field) {
  if (value.empty()) Invalid(field, "must not be empty");
}

void RequirePostgresDsn(const std::string& dsn, const std::string& field) {
  RequireNotEmpty(dsn, field);
  if (IsSqliteDsn(dsn)) Invalid(field, "must be a PostgreSQL DSN (postgresql://...)");
  if (auto problem = PostgresDsnProblem(dsn)) Invalid(field, *problem);
}

// Table names are quoted in SQL, so any name is safe; these rules catch typos
// and YAML accidents early: an identifier, optionally schema-qualified.
void RequireTableName(const std::string& table, const std::string& field) {
  RequireNotEmpty(table, field);
  bool start = true;
  int dots = 0;
  for (char c : table) {
    if (c == '.') {
      if (start || ++dots > 1) Invalid(field, "\"" + table + "\" is not a table name");
      start = true;
      continue;
    }
    const bool letter = std::isalpha(static_cast<unsigned char>(c)) || c == '_';
    const bool digit = std::isdigit(static_cast<unsigned char>(c)) || c == '$';
    if (!letter && !(digit && !start)) Invalid(field, "\"" + table + "\" is not a table name");
    start = false;
  }
  if (start) Invalid(field, "\"" + table + "\" is not a table name");
}

milliseconds TimeoutOf(const cutover::v1::Gate& spec, const std::string& field) {
  return spec.has_timeout() ? ToMilliseconds(spec.timeout(), field + ".timeout")
                            : kDefaultGateTimeout;
}

std::unique_ptr<Gate> MakeReplicationLag(const cutover::v1::ReplicationLagGate& spec,
                                         milliseconds timeout, const std::string& field) {
  RequirePostgresDsn(spec.dsn(), field + ".dsn");
  if (!spec.has_max()) Invalid(field + ".max", "must be set");
  const milliseconds max = ToMilliseconds(spec.max(), field + ".max");
  return std::make_unique<ReplicationLagGate>(spec.dsn(), max, spec.query(), timeout);
}

std::unique_ptr<Gate> MakeSql(const cutover::v1::SqlGate& spec, milliseconds timeout,
                              const std::string& field) {
  RequirePostgresDsn(spec.dsn(), field + ".dsn");
  RequireNotEmpty(spec.query(), field + ".query");
  return std::make_unique<SqlGate>(spec.dsn(), spec.query(), timeout);
}

std::unique_ptr<Gate> MakeParity(const cutover::v1::ParityGate& spec, milliseconds timeout,
                                 const std::string& field) {
  RequireNotEmpty(spec.source(), field + ".source");
  if (IsSqliteDsn(spec.source())) {
    if (SqlitePath(spec.source()).empty()) Invalid(field + ".source", "names no SQLite file");
  } else if (IsPostgresUri(spec.source()) || spec.source().find('=') != std::string::npos) {
    RequirePostgresDsn(spec.source(), field + ".source");
  } else {
    Invalid(field + ".source", "must be sqlite:///PATH or a PostgreSQL DSN");
  }
  RequirePostgresDsn(spec.target(), field + ".target");
  if (spec.all_tables() && spec.tables_size() > 0)
    Invalid(field + ".tables", "list tables or say all, not both");
  if (!spec.all_tables() && spec.tables_size() == 0)
    Invalid(field + ".tables", "must list at least one table, or be all");
  std::set<std::string> seen;
  for (int i = 0; i < spec.tables_size(); ++i) {
    const std::string table_field = field + ".tables[" + std::to_string(i) + "]";
    RequireTableName(spec.tables(i), table_field);
    if (!seen.insert(spec.tables(i)).second)
      Invalid(table_field, "\"" + spec.tables(i) + "\" is listed twice");
  }
  ParityGate::Spec parity{spec.source(),
                          spec.target(),
                          {spec.tables().begin(), spec.tables().end()},
                          spec.all_tables(),
                          spec.checksum()};
  return std::make_unique<ParityGate>(std::move(parity), timeout);
}

std::unique_ptr<Gate> MakeReversibility(const cutover::v1::ReversibilityGate& spec,
                                        const std::string& field) {
  switch (spec.policy()) {
    case cutover::v1::REVERSIBILITY_POLICY_ALLOW:
      return std::make_unique<ReversibilityGate>(ReversibilityPolicy::kAllow, spec.max_writes());
    case cutover::v1::REVERSIBILITY_POLICY_UNSPECIFIED:  // warn, as the proto documents
    case cutover::v1::REVERSIBILITY_POLICY_WARN:
      return std::make_unique<ReversibilityGate>(ReversibilityPolicy::kWarn, spec.max_writes());
    case cutover::v1::REVERSIBILITY_POLICY_BLOCK:
      return std::make_unique<ReversibilityGate>(ReversibilityPolicy::kBlock, spec.max_writes());
    default:
      Invalid(field + ".policy", "must be allow, warn or block");
  }
}

std::unique_ptr<Gate> MakeHttp(const cutover::v1::HttpGate& spec, milliseconds timeout,
                               const std::string& field) {
  HttpGate::Spec http{spec.url(), spec.expect_status(), spec.expect_body(),
                      spec.before_promotion()};
  return std::make_unique<HttpGate>(std::move(http), timeout, field);
}

std::unique_ptr<Gate> MakeExec(const cutover::v1::ExecGate& spec, milliseconds timeout,
                               const std::string& field) {
  ExecGate::Spec exec{
      {spec.command().begin(), spec.command().end()}, spec.dir(), spec.before_promotion()};
  return std::make_unique<ExecGate>(std::move(exec), timeout, field);
}

std::unique_ptr<Gate> MakeGate(const cutover::v1::Gate& spec, int index) {
  const std::string field = "gates[" + std::to_string(index) + "]";
  const milliseconds timeout = TimeoutOf(spec, field);
  switch (spec.kind_case()) {
    case cutover::v1::Gate::kReplicationLag:
      return MakeReplicationLag(spec.replication_lag(), timeout, field + ".replication_lag");
    case cutover::v1::Gate::kSql:
      return MakeSql(spec.sql(), timeout, field + ".sql");
    case cutover::v1::Gate::kParity:
      return MakeParity(spec.parity(), timeout, field + ".parity");
    case cutover::v1::Gate::kReversibility:
      return MakeReversibility(spec.reversibility(), field + ".reversibility");
    case cutover::v1::Gate::kHttp:
      return MakeHttp(spec.http(), timeout, field + ".http");
    case cutover::v1::Gate::kExec:
      return MakeExec(spec.exec(), timeout, field + ".exec");
    default:
      Invalid(field, "must be one of replication_lag, sql, parity, reversibility, http, exec");
  }
}

}  // namespace

std::vector<std::unique_ptr<Gate>> MakeGates(
    const google::protobuf::RepeatedPtrField<cutover::v1::Gate>& specs) {
  std::vector<std::unique_ptr<Gate>> gates;
  gates.reserve(static_cast<std::size_t>(specs.size()));
  for (int i = 0; i < specs.size(); ++i) gates.push_back(MakeGate(specs.Get(i), i));
  return gates;
}

void RedactGateSpecs(google::protobuf::RepeatedPtrField<cutover::v1::Gate>* specs) {
  for (auto& spec : *specs) {
    if (spec.has_replication_lag()) {
      auto* lag = spec.mutable_replication_lag();
      lag->set_dsn(RedactDsn(lag->dsn()));
    } else if (spec.has_sql()) {
      spec.mutable_sql()->set_dsn(RedactDsn(spec.sql().dsn()));
    } else if (spec.has_parity()) {
      auto* parity = spec.mutable_parity();
      parity->set_source(RedactDsn(parity->source()));
      parity->set_target(RedactDsn(parity->target()));
    } else if (spec.has_http()) {
      spec.mutable_http()->set_url(agent::RedactUrl(spec.http().url()));
    }
  }
}

void ValidateGates(const google::protobuf::RepeatedPtrField<cutover::v1::Gate>& specs) {
  // Building a gate only checks and copies its spec: nothing connects.
  MakeGates(specs);
}

}  // namespace cutover::gates
