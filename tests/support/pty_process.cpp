#include "support/pty_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

namespace cutover::test {

PtyProcess::PtyProcess(const std::vector<std::string>& argv, unsigned short columns) {
  winsize size{};
  size.ws_row = 50;
  size.ws_col = columns;
  pid_ = ::forkpty(&master_, nullptr, nullptr, &size);
  if (pid_ < 0) throw std::runtime_error("forkpty failed");
  if (pid_ == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::fcntl(master_, F_SETFL, ::fcntl(master_, F_GETFL) | O_NONBLOCK);
}

PtyProcess::~PtyProcess() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (master_ >= 0) ::close(master_);
}

void PtyProcess::Drain(int poll_ms) {
  pollfd p{master_, POLLIN, 0};
  if (::poll(&p, 1, poll_ms) <= 0) return;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(master_, buf, sizeof buf);
    if (n <= 0) return;  // EAGAIN: nothing more now; EIO: the child's side is closed
    output_.append(buf, static_cast<std::size_t>(n));
  }
}

const std::string& PtyProcess::Output() {
  Drain(0);
  return output_;
}

std::optional<int> PtyProcess::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exit_code_) {
    Drain(20);  // the child blocks on a full terminal unless we read
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      Drain(0);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
  }
  return exit_code_;
}

}  // namespace cutover::test
