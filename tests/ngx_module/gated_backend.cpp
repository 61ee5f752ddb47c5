#include "gated_backend.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>

namespace cutover::test {

GatedBackend::GatedBackend(std::string name, bool upgrade, bool keep_alive)
    : name_(std::move(name)), upgrade_(upgrade), keep_alive_(keep_alive) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0)
    throw std::runtime_error("gated backend: cannot listen");
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0 || stopping_) {
        if (fd >= 0) ::close(fd);
        return;
      }
      ++connections_accepted_;
      std::lock_guard<std::mutex> lock(mu_);
      connections_.emplace_back([this, fd] { Serve(fd); });
    }
  });
}

GatedBackend::~GatedBackend() {
  stopping_ = true;
  OpenHeaderGate();
  OpenBodyGate();
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(connections_);
  }
  for (auto& t : threads) t.join();
}

void GatedBackend::OpenHeaderGate() {
  std::lock_guard<std::mutex> lock(mu_);
  header_open_ = true;
  cv_.notify_all();
}

void GatedBackend::OpenBodyGate() {
  std::lock_guard<std::mutex> lock(mu_);
  body_open_ = true;
  cv_.notify_all();
}

void GatedBackend::WaitFor(const bool& gate) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return gate; });
}

void GatedBackend::Serve(int fd) {
  std::string buffered;
  char buf[4096];
  do {
    std::size_t end;
    while ((end = buffered.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        ::close(fd);
        return;
      }
      buffered.append(buf, static_cast<std::size_t>(n));
    }
    buffered.erase(0, end + 4);  // requests without a body
    ++requests_;
    const std::string body = name_ + "\n";
    const std::string header =
        upgrade_ ? "HTTP/1.1 101 Switching Protocols\r\nUpgrade: cutover-test\r\nConnection: "
                   "Upgrade\r\n\r\n"
                 : "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                       std::to_string(body.size()) +
                       (keep_alive_ ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
    WaitFor(header_open_);
    ::send(fd, header.data(), header.size(), MSG_NOSIGNAL);
    WaitFor(body_open_);
    if (!upgrade_) ::send(fd, body.data(), body.size(), MSG_NOSIGNAL);
  } while (keep_alive_ && !upgrade_ && !stopping_);
  ::close(fd);
}

RawClient::RawClient(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("raw client: cannot connect");
}

RawClient::~RawClient() { Close(); }

void RawClient::Send(const std::string& bytes) {
  ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
}

std::string RawClient::ReadUntil(const std::string& marker) {
  std::string got;
  char buf[4096];
  while (got.find(marker) == std::string::npos) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

void RawClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace cutover::test
