#include "agent/gates/command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/core/text.hpp"

namespace cutover::gates {

namespace {

using Clock = std::chrono::steady_clock;
using agent::TailBuffer;

// argv[0] as execve needs it: a path, looked up in the command's own PATH.
std::string Resolve(const std::string& program, const std::vector<std::string>& env) {
  if (program.find('/') != std::string::npos) return program;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  std::size_t pos = 0;
  while (pos <= path.size()) {
    const auto colon = std::min(path.find(':', pos), path.size());
    const std::string candidate =
        (colon == pos ? std::string(".") : path.substr(pos, colon - pos)) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    pos = colon + 1;
  }
  return "";
}

// Reads what is there without blocking; false at end of file.
bool Drain(int fd, TailBuffer& out) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.Append(std::string_view(buf, static_cast<std::size_t>(n)));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

// Whether the child has exited, leaving it a zombie (so its pid, which is
// also its group's id, cannot be reused while the group is killed).
bool Exited(pid_t pid) {
  siginfo_t info{};
  info.si_pid = 0;
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
    return errno == ECHILD;
  return info.si_pid == pid;
}

}  // namespace

CommandResult RunCommand(const CommandSpec& spec) {
  CommandResult result;
  const auto start = Clock::now();
  const auto deadline = start + spec.timeout;
  if (spec.argv.empty() || spec.argv.front().empty()) {
    result.start_error = "no command";
    return result;
  }
  const std::string program = Resolve(spec.argv.front(), spec.env);
  if (program.empty()) {
    result.start_error = "\"" + spec.argv.front() + "\" is not in PATH";
    return result;
  }

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    result.start_error = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  if (!spec.dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, spec.dir.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own group, killable as one; none of the agent's blocked or ignored
  // signals (SIGTERM and SIGINT are blocked for sigwait, SIGPIPE ignored).
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&defaults, sig);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    result.start_error = "cannot run \"" + spec.argv.front() + "\"" +
                         (spec.dir.empty() ? "" : " in " + spec.dir) + ": " + std::strerror(rc);
    return result;
  }
  result.started = true;
  result.pid = pid;
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);

  TailBuffer output(spec.output_limit);
  bool open = true;
  for (;;) {
    if (Exited(pid)) break;
    if (spec.cancel != nullptr && spec.cancel->load()) {
      result.cancelled = true;
      break;
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      result.timed_out = true;
      break;
    }
    // Short polls: the child's exit is noticed within one even when a
    // process it left behind keeps the pipe open.
    const auto wait =
        std::min(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                 std::chrono::milliseconds(20));
    pollfd p{fds[0], POLLIN, 0};
    const int ready = ::poll(open ? &p : nullptr, open ? 1 : 0, static_cast<int>(wait.count()) + 1);
    if (ready > 0 && open) open = Drain(fds[0], output);
  }
  // The whole group goes: at the deadline the command with its children;
  // after an exit whatever it left running (the leader is a zombie still,
  // so the group's id is not anyone else's).
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (open) Drain(fds[0], output);
  ::close(fds[0]);
  if (!result.timed_out && !result.cancelled) {
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  }
  result.output = output.Text();
  result.took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return result;
}

}  // namespace cutover::gates
