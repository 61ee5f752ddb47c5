// parity {source, target, tables | all, checksum}: the target holds the same
// rows as the source, table by table. Row counts always; with checksum, an
// order-independent checksum of every row (row_checksum.hpp) over the
// source's columns, matched by name without regard to case. The source may be
// SQLite or PostgreSQL, the target is PostgreSQL. With `all`, the source's
// tables are compared (tables only the target has are its own business).
// Reports every table that differs and by how much.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "agent/core/gate.hpp"

namespace cutover::gates {

class TableSource;

class ParityGate : public Gate {
 public:
  struct Spec {
    std::string source;
    std::string target;
    std::vector<std::string> tables;  // empty with all_tables
    bool all_tables = false;
    bool checksum = false;
  };
  ParityGate(Spec spec, std::chrono::milliseconds timeout);

  std::string name() const override { return "parity"; }
  GateOutcome Evaluate(const GateContext& context) override;

 private:
  // "" when the table matches, else how it differs; `summary` gets the match.
  std::string CompareTable(TableSource& source, TableSource& target, const std::string& table,
                           std::string& summary) const;

  Spec spec_;
  std::chrono::milliseconds timeout_;
};

}  // namespace cutover::gates
