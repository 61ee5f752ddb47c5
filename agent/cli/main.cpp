#include <curl/curl.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "agent/cli/cli.hpp"

int main(int argc, char** argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  cutover::cli::Environment env;
  if (const char* agent = std::getenv("CUTOVER_AGENT")) env.agent = agent;
  env.stdout_is_tty = ::isatty(STDOUT_FILENO) != 0;
  const std::vector<std::string> args(argv + 1, argv + argc);
  const int code = cutover::cli::RunCli(args, env, std::cout, std::cerr);
  std::cout.flush();
  curl_global_cleanup();
  return code;
}
