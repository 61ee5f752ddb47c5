// Runs the built cutoverctl binary the way an operator or CI would.
#pragma once

#include <string>
#include <vector>

#include "support/process.hpp"

namespace cutover::test {

inline RunResult Cutoverctl(std::vector<std::string> args,
                            const std::map<std::string, std::string>& env = {}) {
  args.insert(args.begin(), CUTOVERCTL_BINARY);
  return Run(args, env);
}

// For failure messages: everything the command said.
inline std::string Said(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

}  // namespace cutover::test
