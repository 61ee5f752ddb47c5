// From a plan's gate specs (cutover.v1.Gate) to runnable gates.
#pragma once

#include <google/protobuf/repeated_ptr_field.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/dsn.hpp"
#include "agent/core/gate.hpp"
#include "agent/core/validation.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::gates {

// A gate's timeout when its spec leaves it unset (agent/core/validation.hpp
// holds every limit a spec is checked against).
using agent::kDefaultGateTimeout;

// Builds the gates of a plan. Throws std::invalid_argument (agent::InvalidArgument) whose
// message names the field, e.g. "gates[1].sql.query: must not be empty",
// "gates[0].replication_lag.max: must be positive".
std::vector<std::unique_ptr<Gate>> MakeGates(
    const google::protobuf::RepeatedPtrField<cutover::v1::Gate>& specs);

// The same checks as MakeGates, the gates built and dropped (nothing connects).
void ValidateGates(const google::protobuf::RepeatedPtrField<cutover::v1::Gate>& specs);

// Replaces the password of every DSN and http URL (and the URL's query values) in these specs
// by "***": for copies of a plan that are
// journaled, returned in status or logged. (Gates built from redacted specs cannot log in
// with a password; keep passwords out of plans with ~/.pgpass or PGPASSFILE.)
void RedactGateSpecs(google::protobuf::RepeatedPtrField<cutover::v1::Gate>* specs);

// DSN redaction is the agent's one (agent/core/dsn.hpp), part of this API too.
using agent::RedactDsn;

}  // namespace cutover::gates
