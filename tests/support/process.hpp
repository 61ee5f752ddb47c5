// Processes, ports and temporary directories for tests that run real
// servers. Everything a test starts it stops by pid; every wait is on a
// readiness condition with a deadline, never a fixed sleep.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cutover::test {

using namespace std::chrono_literals;

// A directory removed with everything in it when the object dies (kept when
// CUTOVER_KEEP_TMP is set, for post-mortems).
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "cutover");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A loopback TCP port that was free when asked.
int FreePort();

// A loopback TCP listener nobody accepts on: a client's connection completes
// (the kernel's backlog) and is never answered, for what must wait on a
// silent server (gates, their timeouts and cancellation).
class SilentListener {
 public:
  SilentListener();
  ~SilentListener();
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

// Polls `ready` until it holds or `timeout` passes; returns whether it held.
bool WaitFor(const std::function<bool()>& ready, std::chrono::milliseconds timeout = 20s);

bool TcpPortAnswers(int port);
bool UnixSocketAnswers(const std::string& path);

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& content);
bool FileExists(const std::string& path);

struct RunResult {
  int exit_code = -1;  // or 128 + signal
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs a command to completion (no shell), with extra environment entries.
RunResult Run(const std::vector<std::string>& argv,
              const std::map<std::string, std::string>& env = {},
              const std::string& stdin_data = "");

// A child process that is killed (SIGTERM, then SIGKILL) when the object
// dies. stdout and stderr go to files so a failing test can show them.
class Process {
 public:
  Process() = default;
  Process(const std::vector<std::string>& argv, const std::string& log_prefix,
          const std::map<std::string, std::string>& env = {});
  ~Process();
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool Running();
  void Signal(int sig);
  // Waits for the process to exit; returns its exit code (128 + signal).
  std::optional<int> Wait(std::chrono::milliseconds timeout = 20s);
  // SIGTERM, wait, then SIGKILL.
  int Stop(std::chrono::milliseconds grace = 10s);
  std::string Stdout() const;
  std::string Stderr() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string out_path_, err_path_;
};

// Pids of the live children of `parent` (read from /proc).
std::vector<pid_t> ChildrenOf(pid_t parent);

// Whether `pid` no longer runs: gone, or a zombie nobody has reaped yet (an
// orphan whose new parent does not reap).
bool ProcessGone(pid_t pid);

}  // namespace cutover::test
