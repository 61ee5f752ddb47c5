// The failure a gate reports: raised inside an evaluation, caught at its
// edge and turned into a failed GateOutcome. Its message is already free of
// secrets (built from scrubbed libpq/SQLite messages).
#pragma once

#include <stdexcept>
#include <string>

namespace cutover::gates {

class GateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace cutover::gates
