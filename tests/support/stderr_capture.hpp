// What a piece of code writes to stderr (fd 2), captured in a file: for
// tests of what the agent's libraries log.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>

#include "support/process.hpp"

namespace cutover::test {

inline std::string CapturedStderr(const std::function<void()>& code) {
  TempDir dir("cutover-stderr");
  std::FILE* file = std::fopen((dir / "stderr").c_str(), "w+");
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(::fileno(file), STDERR_FILENO);
  try {
    code();
  } catch (...) {
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    std::fclose(file);
    throw;
  }
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::fclose(file);
  return ReadFile(dir / "stderr");
}

}  // namespace cutover::test
