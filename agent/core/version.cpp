#include "agent/core/version.hpp"

#include "cutover/state_layout.hpp"

namespace cutover::agent {

const char* Version() { return CUTOVER_VERSION; }

std::string VersionText(const std::string& program) {
  return program + " " + Version() + " (state-file layout " +
         std::to_string(state::kLayoutVersion) + ", revision " +
         std::to_string(state::kLayoutRevision) + ")\n";
}

}  // namespace cutover::agent
