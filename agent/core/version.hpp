// What `--version` says, for both binaries: the release and the state-file
// layout they read and write, so an operator can tell at once whether an
// agent and a module speak the same file.
#pragma once

#include <string>

namespace cutover::agent {

// The project's version (CMake's PROJECT_VERSION), e.g. "0.1.0".
const char* Version();

// "cutoverctl 0.1.0 (state-file layout 1, revision 1)\n".
std::string VersionText(const std::string& program);

}  // namespace cutover::agent
