#include "agent/gates/factory.hpp"

#include "agent/core/url.hpp"
#include "agent/gates/exec_gate.hpp"
#include "agent/gates/http_gate.hpp"
#include "agent/gates/parity_gate.hpp"
#include "agent/gates/replication_lag_gate.hpp"
#include "agent/gates/reversibility_gate.hpp"
#include "agent/gates/sql_gate.hpp"
#include "agent/gates/sync_gate.hpp"

namespace cutover::gates {

namespace {

using agent::ToMilliseconds;
using std::chrono::milliseconds;

// A gate from a spec MakeGates has validated (the http and exec gates check
// their own fields as they are built: a URL template, a regex, a command).
std::unique_ptr<Gate> MakeGate(const cutover::v1::Gate& spec, int index) {
  const std::string field = "gates[" + std::to_string(index) + "]";
  const milliseconds timeout = agent::GateTimeout(spec);
  switch (spec.kind_case()) {
    case cutover::v1::Gate::kReplicationLag: {
      const auto& lag = spec.replication_lag();
      return std::make_unique<ReplicationLagGate>(lag.dsn(), ToMilliseconds(lag.max()), lag.query(),
                                                  timeout);
    }
    case cutover::v1::Gate::kSql:
      return std::make_unique<SqlGate>(spec.sql().dsn(), spec.sql().query(), timeout);
    case cutover::v1::Gate::kParity: {
      const auto& p = spec.parity();
      ParityGate::Spec parity{p.source(),
                              p.target(),
                              {p.tables().begin(), p.tables().end()},
                              p.all_tables(),
                              p.checksum()};
      return std::make_unique<ParityGate>(std::move(parity), timeout);
    }
    case cutover::v1::Gate::kHttp: {
      const auto& h = spec.http();
      HttpGate::Spec http{h.url(), h.expect_status(), h.expect_body(), h.before_promotion()};
      return std::make_unique<HttpGate>(std::move(http), timeout, field + ".http");
    }
    case cutover::v1::Gate::kExec: {
      const auto& e = spec.exec();
      ExecGate::Spec exec{{e.command().begin(), e.command().end()}, e.dir(), e.before_promotion()};
      return std::make_unique<ExecGate>(std::move(exec), timeout, field + ".exec");
    }
    case cutover::v1::Gate::kSync: {
      const auto& s = spec.sync();
      return std::make_unique<SyncGate>(
          s.has_max_lag() ? ToMilliseconds(s.max_lag()) : kDefaultSyncMaxLag, s.max_conflicts());
    }
    case cutover::v1::Gate::kReversibility:
    default: {  // ValidateGates lets no other kind through
      const auto& r = spec.reversibility();
      const ReversibilityPolicy policy =
          r.policy() == cutover::v1::REVERSIBILITY_POLICY_ALLOW   ? ReversibilityPolicy::kAllow
          : r.policy() == cutover::v1::REVERSIBILITY_POLICY_BLOCK ? ReversibilityPolicy::kBlock
                                                                  : ReversibilityPolicy::kWarn;
      return std::make_unique<ReversibilityGate>(policy, r.max_writes());
    }
  }
}

}  // namespace

std::vector<std::unique_ptr<Gate>> MakeGates(
    const google::protobuf::RepeatedPtrField<cutover::v1::Gate>& specs) {
  // Every spec is checked first, by the one validation cutoverctl shares.
  agent::ValidateGates(specs);
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
  // Building a gate only checks and copies its spec (the http and exec gates
  // check theirs as they are built): nothing connects.
  MakeGates(specs);
}

}  // namespace cutover::gates
