#include "agent/gates/factory.hpp"

#include "agent/gates/parity_gate.hpp"
#include "agent/gates/replication_lag_gate.hpp"
#include "agent/gates/reversibility_gate.hpp"
#include "agent/gates/sql_gate.hpp"

namespace cutover::gates {

namespace {

using agent::ToMilliseconds;
using std::chrono::milliseconds;

// A gate from a spec MakeGates has validated.
std::unique_ptr<Gate> MakeGate(const cutover::v1::Gate& spec) {
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
    case cutover::v1::Gate::kReversibility:
    default: {
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
  for (int i = 0; i < specs.size(); ++i) gates.push_back(MakeGate(specs.Get(i)));
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
    }
  }
}

void ValidateGates(const google::protobuf::RepeatedPtrField<cutover::v1::Gate>& specs) {
  agent::ValidateGates(specs);
}

}  // namespace cutover::gates
