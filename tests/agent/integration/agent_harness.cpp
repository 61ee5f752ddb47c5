#include "integration/agent_harness.hpp"

#include <signal.h>

#include <stdexcept>

#include "cutover/state_file.hpp"
#include "support/http.hpp"

namespace cutover::test {

AgentOptions LocalAgent(const TempDir& dir, const std::string& state_file) {
  AgentOptions o;
  o.state_file = state_file;
  o.journal = dir / "journal";
  o.socket = dir / "agent.sock";
  return o;
}

std::string MakeAppStateFile(const TempDir& dir) {
  const std::string path = dir / "cutover.state";
  state::StateFile::Create(path).AddRecord("app", "app_blue", "app_green", 0);
  return path;
}

std::string AgentBinary() { return std::string(CUTOVER_BINARY_DIR) + "/agent/cutover-agent"; }

AgentProcess::AgentProcess(AgentOptions options, std::string log_prefix)
    : options_(std::move(options)), log_prefix_(std::move(log_prefix)) {}

AgentProcess::~AgentProcess() {
  if (process_.pid() > 0 && process_.Running()) process_.Stop();
}

void AgentProcess::Start() {
  std::vector<std::string> argv = {AgentBinary(), "--state-file",   options_.state_file,
                                   "--journal",   options_.journal, "--tick",
                                   options_.tick};
  if (!options_.socket.empty()) argv.insert(argv.end(), {"--listen", "unix:" + options_.socket});
  if (options_.tcp_port != 0)
    argv.insert(argv.end(), {"--listen", "127.0.0.1:" + std::to_string(options_.tcp_port)});
  if (!options_.token_file.empty()) argv.insert(argv.end(), {"--token-file", options_.token_file});
  if (!options_.tls_cert.empty())
    argv.insert(argv.end(), {"--tls-cert", options_.tls_cert, "--tls-key", options_.tls_key});
  if (!options_.metrics.empty()) argv.insert(argv.end(), {"--metrics", options_.metrics});
  process_ = Process(argv, log_prefix_);
  const bool up = WaitFor([&] {
    if (!process_.Running()) return true;
    if (!options_.socket.empty() && !UnixSocketAnswers(options_.socket)) return false;
    if (options_.tcp_port != 0 && !TcpPortAnswers(options_.tcp_port)) return false;
    return true;
  });
  if (!up || !process_.Running())
    throw std::runtime_error("cutover-agent did not start:\n" + process_.Stderr());
}

int AgentProcess::StopWith(int sig) {
  process_.Signal(sig);
  auto code = process_.Wait();
  if (!code) throw std::runtime_error("cutover-agent did not stop:\n" + process_.Stderr());
  return *code;
}

std::shared_ptr<grpc::Channel> AgentProcess::UnixChannel() const {
  return grpc::CreateChannel("unix:" + options_.socket, grpc::InsecureChannelCredentials());
}

std::unique_ptr<v1::CutoverService::Stub> AgentProcess::UnixStub() const {
  return v1::CutoverService::NewStub(UnixChannel());
}

std::unique_ptr<v1::CutoverService::Stub> AgentProcess::TcpStub(
    std::shared_ptr<grpc::ChannelCredentials> credentials) const {
  if (!credentials) credentials = grpc::InsecureChannelCredentials();
  return v1::CutoverService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(options_.tcp_port), credentials));
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

Site::Site(int workers, bool green_down)
    : blue_(std::make_unique<Backend>("blue")), green_(std::make_unique<Backend>("green")) {
  port_ = FreePort();
  // No upstream keepalive: the test backend (cpp-httplib) writes headers
  // and body in two writes without TCP_NODELAY, so on a reused connection
  // Nagle and delayed ACKs cost 40 ms a request; fresh connections do not.
  const std::string body =
      "  upstream app_blue { server " + blue_->address() + "; }\n" +
      "  upstream app_green { server " +
      (green_down ? "127.0.0.1:" + std::to_string(FreePort()) : green_->address()) + "; }\n" +
      "  upstream app { cutover blue=app_blue green=app_green weight=0; }\n" +
      "  server {\n    listen 127.0.0.1:" + std::to_string(port_) + ";\n" +
      "    location / { proxy_pass http://app; }\n" +
      "    location = /cutover/status { cutover_status; }\n  }\n";
  nginx_ = std::make_unique<Nginx>(body, workers);
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
