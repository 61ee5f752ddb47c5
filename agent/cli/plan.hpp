// Rollout plans: a YAML or JSON file (the format in docs/design.md) mapped onto
// cutover.v1.Plan. Every problem is reported with the file, the line and the
// field path ("plan.yaml:7: steps[2].percent: ..."), because an operator has
// to find it in an editor; unknown keys are errors so typos are caught.
#pragma once

#include <stdexcept>
#include <string>

#include "cutover/v1/cutover.pb.h"

namespace cutover::cli {

class PlanError : public std::runtime_error {
 public:
  PlanError(std::string source, int line, std::string field, std::string problem);
  const std::string& source() const { return source_; }
  int line() const { return line_; }  // 1-based; 0 when unknown
  const std::string& field() const { return field_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string source_, field_, problem_;
  int line_;
};

// Parses plan text (YAML; JSON is read as the YAML subset it is). `source`
// names the text in errors. Throws PlanError.
cutover::v1::Plan ParsePlan(const std::string& text, const std::string& source = "plan");

// Reads and parses a plan file. Throws PlanError (also when unreadable).
cutover::v1::Plan LoadPlanFile(const std::string& path);

// Whether `key` names a gate kind a plan's gates: list may hold ("sql", "http", ...).
bool IsGateKind(const std::string& key);

}  // namespace cutover::cli
