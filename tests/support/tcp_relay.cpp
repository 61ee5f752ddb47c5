#include "support/tcp_relay.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace cutover::test {

namespace {

int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Copies what `from` has into `to`; false when either side is done.
bool Copy(int from, int to) {
  char buf[65536];
  const ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return false;
  for (ssize_t sent = 0; sent < n;) {
    const ssize_t w = ::write(to, buf + sent, static_cast<std::size_t>(n - sent));
    if (w <= 0) return false;
    sent += w;
  }
  return true;
}

}  // namespace

TcpRelay::TcpRelay(int target_port) : target_port_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::pipe2(wake_, O_CLOEXEC) != 0)
    throw std::runtime_error("tcp relay: cannot listen");
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Run(); });
}

TcpRelay::~TcpRelay() {
  stop_ = true;
  Wake();
  thread_.join();
  CloseAll();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void TcpRelay::Wake() {
  const char c = 1;
  (void)!::write(wake_[1], &c, 1);
}

void TcpRelay::Cut() {
  cut_ = true;
  Wake();
}

void TcpRelay::Restore() {
  drop_ = true;
  cut_ = false;
  Wake();
  // Returns once the thread has dropped the held connections.
  while (drop_) std::this_thread::yield();
}

void TcpRelay::CloseAll() {
  for (const Pair& p : pairs_) {
    ::close(p.client);
    if (p.server >= 0) ::close(p.server);
  }
  pairs_.clear();
}

void TcpRelay::Run() {
  while (!stop_) {
    if (drop_) {
      CloseAll();
      drop_ = false;
    }
    const bool cut = cut_;
    std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    // Cut: the pairs are not read, so bytes wait in the kernel, unanswered.
    if (!cut)
      for (const Pair& p : pairs_) {
        fds.push_back({p.client, POLLIN, 0});
        fds.push_back({p.server, POLLIN, 0});
      }
    if (::poll(fds.data(), fds.size(), 1000) <= 0) continue;
    if (fds[1].revents != 0) {
      char buf[64];
      (void)!::read(wake_[0], buf, sizeof buf);
    }
    if (fds[0].revents != 0) {
      const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        const int server = cut ? -1 : Connect(target_port_);
        if (!cut && server < 0)
          ::close(client);
        else
          pairs_.push_back({client, server});
      }
    }
    if (cut) continue;
    std::vector<std::size_t> done;
    for (std::size_t i = 0; i < pairs_.size() && 2 + 2 * i + 1 < fds.size(); ++i) {
      const pollfd& c = fds[2 + 2 * i];
      const pollfd& s = fds[2 + 2 * i + 1];
      bool ok = true;
      if (c.revents != 0) ok = Copy(pairs_[i].client, pairs_[i].server);
      if (ok && s.revents != 0) ok = Copy(pairs_[i].server, pairs_[i].client);
      if (!ok) done.push_back(i);
    }
    for (auto it = done.rbegin(); it != done.rend(); ++it) {
      ::close(pairs_[*it].client);
      ::close(pairs_[*it].server);
      pairs_.erase(pairs_.begin() + static_cast<long>(*it));
    }
  }
}

}  // namespace cutover::test
