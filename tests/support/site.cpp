#include "support/site.hpp"

#include "support/http.hpp"
#include "support/process.hpp"

namespace cutover::test {

Site::Site(const SiteOptions& options) : blue_(std::make_unique<Backend>("blue")) {
  std::string green_address;
  if (options.green_process) {
    green_process_ = std::make_unique<BackendProcess>("green", dir_);
    green_address = green_process_->address();
  } else {
    green_ = std::make_unique<Backend>("green");
    green_address = green_->address();
  }
  if (options.green_down) green_address = "127.0.0.1:" + std::to_string(FreePort());
  port_ = FreePort();
  // No upstream keepalive: the test backend (cpp-httplib) writes headers
  // and body in two writes without TCP_NODELAY, so on a reused connection
  // Nagle and delayed ACKs cost 40 ms a request; fresh connections do not.
  const std::string body = "  upstream app_blue { server " + blue_->address() + "; }\n" +
                           "  upstream app_green { server " + green_address + "; }\n" +
                           "  upstream app { cutover blue=app_blue green=app_green weight=0; }\n" +
                           "  server {\n    listen 127.0.0.1:" + std::to_string(port_) + ";\n" +
                           "    location / { proxy_pass http://app; }\n" +
                           "    location = /cutover/status { cutover_status; }\n  }\n";
  nginx_ = std::make_unique<Nginx>(body, options.workers);
  nginx_->Start(port_);
}

std::string Site::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

Load::Load(std::string url, int requests_per_second, std::chrono::milliseconds max_time,
           std::uint64_t max_requests, int threads)
    : url_(std::move(url)) {
  const auto until = std::chrono::steady_clock::now() + max_time;
  for (int i = 0; i < threads; ++i)
    threads_.emplace_back(
        [=, this] { Run(requests_per_second / threads, until, max_requests / threads); });
}

Load::~Load() { Stop(); }

void Load::Stop() {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

std::chrono::steady_clock::time_point Load::last_green() const {
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(last_green_ns_.load()));
}

void Load::Run(int rps, std::chrono::steady_clock::time_point until, std::uint64_t max_requests) {
  HttpClient client;
  const auto interval = std::chrono::nanoseconds(1'000'000'000LL / std::max(rps, 1));
  auto next = std::chrono::steady_clock::now();
  for (std::uint64_t sent = 0; !stop_ && sent < max_requests; ++sent) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) break;
    // Pacing, not waiting for a condition: the rate is the experiment.
    if (next > now) std::this_thread::sleep_until(next);
    next += interval;
    auto r = client.Get(url_);
    ++total_;
    if (r.status != 200) ++non_200_;
    const std::string tag = r.Header("X-Backend-Server");
    if (tag == "green") {
      ++green_;
      last_green_ns_ = std::chrono::steady_clock::now().time_since_epoch().count();
    } else if (tag == "blue") {
      ++blue_;
    }
  }
}

}  // namespace cutover::test
