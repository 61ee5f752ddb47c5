#include "support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

namespace cutover::test {

namespace fs = std::filesystem;

TempDir::TempDir(const std::string& tag) {
  std::string templ = (fs::temp_directory_path() / (tag + ".XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
  ::chmod(path_.c_str(), 0755);  // workers and postgres (other users) must reach it
}

TempDir::~TempDir() {
  if (std::getenv("CUTOVER_KEEP_TMP") != nullptr) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("bind to a free port failed");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

SilentListener::SilentListener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd_, 64) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("cannot listen on a loopback port");
  }
  port_ = ntohs(addr.sin_port);
}

SilentListener::~SilentListener() { ::close(fd_); }

bool WaitFor(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    if (ready()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);  // polling interval, not a wait for an event
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

bool TcpPortAnswers(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

bool UnixSocketAnswers(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << content;
}

bool FileExists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

namespace {

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void ApplyEnv(const std::map<std::string, std::string>& env) {
  for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

RunResult Run(const std::vector<std::string>& argv_in,
              const std::map<std::string, std::string>& env, const std::string& stdin_data) {
  TempDir tmp("cutover-run");
  const std::string out = tmp / "out", err = tmp / "err", in = tmp / "in";
  WriteFile(in, stdin_data);
  std::vector<std::string> argv = argv_in;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    int ifd = ::open(in.c_str(), O_RDONLY);
    int ofd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int efd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(ifd, 0);
    ::dup2(ofd, 1);
    ::dup2(efd, 2);
    ApplyEnv(env);
    auto args = CStrings(argv);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  RunResult r;
  r.exit_code = DecodeStatus(status);
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  return r;
}

Process::Process(const std::vector<std::string>& argv_in, const std::string& log_prefix,
                 const std::map<std::string, std::string>& env)
    : out_path_(log_prefix + ".stdout"), err_path_(log_prefix + ".stderr") {
  std::vector<std::string> argv = argv_in;
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int ifd = ::open("/dev/null", O_RDONLY);
    int ofd = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int efd = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(ifd, 0);
    ::dup2(ofd, 1);
    ::dup2(efd, 2);
    // Unblock what a test runner may have blocked, so SIGTERM stops us.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ApplyEnv(env);
    auto args = CStrings(argv);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
}

Process::~Process() {
  if (pid_ > 0) Stop(5s);
}

Process::Process(Process&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      exit_code_(o.exit_code_),
      out_path_(std::move(o.out_path_)),
      err_path_(std::move(o.err_path_)) {}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0) Stop(5s);
    pid_ = std::exchange(o.pid_, -1);
    exit_code_ = o.exit_code_;
    out_path_ = std::move(o.out_path_);
    err_path_ = std::move(o.err_path_);
  }
  return *this;
}

bool Process::Running() {
  if (pid_ <= 0 || exit_code_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = DecodeStatus(status);
    return false;
  }
  return r == 0;
}

void Process::Signal(int sig) {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, sig);
}

std::optional<int> Process::Wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return exit_code_;
  WaitFor([&] { return !Running(); }, timeout);
  return exit_code_;
}

int Process::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return exit_code_.value_or(-1);
  if (Running()) {
    Signal(SIGTERM);
    if (!Wait(grace)) {
      Signal(SIGKILL);
      Wait(5s);
    }
  }
  int code = exit_code_.value_or(-1);
  pid_ = -1;
  return code;
}

std::string Process::Stdout() const { return ReadFile(out_path_); }
std::string Process::Stderr() const { return ReadFile(err_path_); }

std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> kids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = ReadFile(entry.path().string() + "/stat");
    auto close_paren = stat.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(close_paren + 2));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && state != 'Z') kids.push_back(static_cast<pid_t>(std::stoi(name)));
  }
  return kids;
}

bool ProcessGone(pid_t pid) {
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return true;
  // "PID (COMM) STATE ...": COMM may hold spaces and parentheses.
  const auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

}  // namespace cutover::test
