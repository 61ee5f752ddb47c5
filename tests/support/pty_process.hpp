// A child process on a pseudo-terminal of a given width, as if an operator
// ran it in a shell: for what a command does only on a TTY (watch's redraw).
// Stopped by its pid when the object dies.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace cutover::test {

class PtyProcess {
 public:
  PtyProcess(const std::vector<std::string>& argv, unsigned short columns);
  ~PtyProcess();
  PtyProcess(const PtyProcess&) = delete;
  PtyProcess& operator=(const PtyProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Everything the child wrote to its terminal so far.
  const std::string& Output();
  // Waits for the child to exit, draining its terminal meanwhile; its exit code.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

 private:
  void Drain(int poll_ms);

  pid_t pid_ = -1;
  int master_ = -1;
  std::string output_;
  std::optional<int> exit_code_;
};

}  // namespace cutover::test
