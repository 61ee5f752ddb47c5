// Gate specs as a plan carries them, and the one gate a spec builds: tests
// go through MakeGates, the API the rollout engine uses.
#pragma once

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "agent/gates/factory.hpp"
#include "cutover/v1/cutover.pb.h"
#include "support/plan.hpp"

namespace cutover::test {

using namespace std::chrono_literals;

inline v1::Gate SqlSpec(const std::string& dsn, const std::string& query) {
  v1::Gate spec;
  spec.mutable_sql()->set_dsn(dsn);
  spec.mutable_sql()->set_query(query);
  return spec;
}

inline v1::Gate LagSpec(const std::string& dsn, std::chrono::milliseconds max,
                        const std::string& query = "") {
  v1::Gate spec;
  spec.mutable_replication_lag()->set_dsn(dsn);
  SetDuration(spec.mutable_replication_lag()->mutable_max(), max);
  spec.mutable_replication_lag()->set_query(query);
  return spec;
}

inline v1::Gate ParitySpec(const std::string& source, const std::string& target,
                           const std::vector<std::string>& tables, bool checksum) {
  v1::Gate spec;
  auto* parity = spec.mutable_parity();
  parity->set_source(source);
  parity->set_target(target);
  if (tables.empty()) parity->set_all_tables(true);
  for (const auto& table : tables) parity->add_tables(table);
  parity->set_checksum(checksum);
  return spec;
}

inline v1::Gate ReversibilitySpec(v1::ReversibilityPolicy policy, std::uint64_t max_writes) {
  v1::Gate spec;
  spec.mutable_reversibility()->set_policy(policy);
  spec.mutable_reversibility()->set_max_writes(max_writes);
  return spec;
}

inline v1::Gate SyncSpec(std::chrono::milliseconds max_lag, std::uint64_t max_conflicts) {
  v1::Gate spec;
  SetDuration(spec.mutable_sync()->mutable_max_lag(), max_lag);
  spec.mutable_sync()->set_max_conflicts(max_conflicts);
  return spec;
}

inline v1::Gate HttpSpec(const std::string& url, std::uint32_t expect_status = 0,
                         const std::string& expect_body = "", bool before_promotion = false) {
  v1::Gate spec;
  spec.mutable_http()->set_url(url);
  spec.mutable_http()->set_expect_status(expect_status);
  spec.mutable_http()->set_expect_body(expect_body);
  spec.mutable_http()->set_before_promotion(before_promotion);
  return spec;
}

inline v1::Gate ExecSpec(const std::vector<std::string>& command, const std::string& dir = "",
                         bool before_promotion = false) {
  v1::Gate spec;
  for (const auto& word : command) spec.mutable_exec()->add_command(word);
  spec.mutable_exec()->set_dir(dir);
  spec.mutable_exec()->set_before_promotion(before_promotion);
  return spec;
}

inline v1::Gate WithTimeout(v1::Gate spec, std::chrono::milliseconds timeout) {
  SetDuration(spec.mutable_timeout(), timeout);
  return spec;
}

inline std::unique_ptr<gates::Gate> MakeGate(const v1::Gate& spec) {
  google::protobuf::RepeatedPtrField<v1::Gate> specs;
  *specs.Add() = spec;
  auto built = gates::MakeGates(specs);
  return std::move(built.at(0));
}

// With CUTOVER_GATES_VERBOSE set, every outcome is printed: what an operator would read.
inline gates::GateOutcome Shown(gates::GateOutcome outcome) {
  if (std::getenv("CUTOVER_GATES_VERBOSE") != nullptr)
    std::cerr << "  [" << outcome.name << (outcome.passed ? " pass" : " FAIL")
              << (outcome.warning ? " warning" : "") << " " << outcome.took.count() << "ms] "
              << outcome.detail << "\n";
  return outcome;
}

inline gates::GateOutcome EvaluateOnce(const v1::Gate& spec, gates::GateContext context = {}) {
  return Shown(MakeGate(spec)->Evaluate(context));
}

}  // namespace cutover::test
