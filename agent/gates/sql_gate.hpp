// sql {dsn, query}: passes when the query's first row's first column is true.
#pragma once

#include <chrono>
#include <string>

#include "agent/core/gate.hpp"

namespace cutover::gates {

class SqlGate : public Gate {
 public:
  SqlGate(std::string dsn, std::string query, std::chrono::milliseconds timeout);

  std::string name() const override { return "sql"; }
  GateOutcome Evaluate(const GateContext& context) override;

 private:
  std::string dsn_;
  std::string query_;
  std::chrono::milliseconds timeout_;
};

}  // namespace cutover::gates
