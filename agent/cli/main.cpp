#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "agent/cli/cli.hpp"

int main(int argc, char** argv) {
  cutover::cli::Environment env;
  if (const char* agent = std::getenv("CUTOVER_AGENT")) env.agent = agent;
  env.stdout_is_tty = ::isatty(STDOUT_FILENO) != 0;
  winsize size{};
  if (env.stdout_is_tty && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0)
    env.terminal_width = size.ws_col;
  const std::vector<std::string> args(argv + 1, argv + argc);
  const int code = cutover::cli::RunCli(args, env, std::cout, std::cerr);
  std::cout.flush();
  return code;
}
