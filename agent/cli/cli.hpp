// cutoverctl's entry point as a function: finds the verb, parses its flags,
// runs it and turns every failure into the exit code docs/design.md promises.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace cutover::cli {

struct Environment {
  std::string agent;  // $CUTOVER_AGENT, "" when unset
  bool stdout_is_tty = false;
  std::size_t terminal_width = 0;  // columns of the terminal on stdout, 0 when not one
};

// `args` excludes the program name. Returns the process exit code.
int RunCli(const std::vector<std::string>& args, const Environment& env, std::ostream& out,
           std::ostream& err);

}  // namespace cutover::cli
