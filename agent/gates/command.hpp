// Runs a command the way a gate may: no shell, exactly the environment it is
// given, stdin from /dev/null, stdout and stderr into one bounded buffer, in
// a process group of its own that is killed whole at the deadline, and,
// after the command exits, whatever it left running in that group too.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

namespace cutover::gates {

struct CommandSpec {
  std::vector<std::string> argv;  // argv[0] without '/' is looked up in PATH of `env`
  std::string dir;                // working directory; "": the caller's
  std::vector<std::string> env;   // "NAME=value", the whole environment
  std::chrono::milliseconds timeout{5000};
  std::size_t output_limit = 4096;            // the tail kept
  const std::atomic<bool>* cancel = nullptr;  // set: killed at once, like at the timeout
};

struct CommandResult {
  bool started = false;
  std::string start_error;  // why it did not start
  bool timed_out = false;
  bool cancelled = false;
  int exit_code = -1;  // when it exited
  int signal = 0;      // when a signal ended it
  std::string output;  // the tail of stdout and stderr, valid UTF-8
  pid_t pid = 0;       // also its process group
  std::chrono::milliseconds took{0};
};

CommandResult RunCommand(const CommandSpec& spec);

}  // namespace cutover::gates
