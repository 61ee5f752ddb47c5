// nginx with the module in front of a blue and a green backend, and a paced
// load generator that tallies X-Backend-Server: the site every whole-stack
// test and benchmark drives.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/backend.hpp"
#include "support/backend_process.hpp"
#include "support/nginx.hpp"

namespace cutover::test {

struct SiteOptions {
  int workers = 2;
  // Green's only peer is a loopback port nobody listens on: every attempt
  // there fails and nginx fails over to blue.
  bool green_down = false;
  // Green runs in a process of its own that a test can freeze (SIGSTOP).
  bool green_process = false;
};

// nginx with a `cutover` upstream "app" over one blue and one green backend.
class Site {
 public:
  explicit Site(int workers = 2, bool green_down = false)
      : Site(SiteOptions{workers, green_down, false}) {}
  explicit Site(const SiteOptions& options);
  std::string Url(const std::string& path = "/") const;
  Nginx& nginx() { return *nginx_; }
  const Nginx& nginx() const { return *nginx_; }
  Backend& blue() { return *blue_; }
  Backend& green() { return *green_; }  // the in-process green (not with green_process)
  BackendProcess& green_process() { return *green_process_; }

 private:
  TempDir dir_{"cutover-site"};
  std::unique_ptr<Backend> blue_, green_;
  std::unique_ptr<BackendProcess> green_process_;
  int port_ = 0;
  std::unique_ptr<Nginx> nginx_;
};

// GETs at a steady rate from `threads` threads until stopped, `max_time`
// passes or `max_requests` were sent; tallies who answered.
class Load {
 public:
  Load(std::string url, int requests_per_second, std::chrono::milliseconds max_time,
       std::uint64_t max_requests, int threads = 1);
  ~Load();
  void Stop();

  std::uint64_t total() const { return total_; }
  std::uint64_t green() const { return green_; }
  std::uint64_t blue() const { return blue_; }
  std::uint64_t non_200() const { return non_200_; }
  // When the last response tagged green arrived (epoch if none yet).
  std::chrono::steady_clock::time_point last_green() const;

 private:
  void Run(int rps, std::chrono::steady_clock::time_point until, std::uint64_t max_requests);

  std::string url_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> total_{0}, green_{0}, blue_{0}, non_200_{0};
  std::atomic<std::int64_t> last_green_ns_{0};
  std::vector<std::thread> threads_;
};

}  // namespace cutover::test
