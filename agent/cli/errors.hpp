// The exit codes of docs/design.md, and the one exception type that carries them
// from wherever a command fails up to main().
#pragma once

#include <stdexcept>
#include <string>

namespace cutover::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,       // a check or verdict failed, or the agent refused
  kExitUsage = 2,        // unknown verb, bad flag, bad plan file, bad argument
  kExitUnreachable = 3,  // the agent did not answer
};

class CliError : public std::runtime_error {
 public:
  CliError(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

inline CliError UsageError(const std::string& message) { return {kExitUsage, message}; }

}  // namespace cutover::cli
