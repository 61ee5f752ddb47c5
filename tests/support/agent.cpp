#include "support/agent.hpp"

#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <stdexcept>

#include "cutover/state_file.hpp"

namespace cutover::test {

AgentOptions LocalAgent(const TempDir& dir, const std::string& state_file) {
  AgentOptions o;
  o.state_file = state_file;
  o.journal = dir / "journal";
  o.socket = dir / "agent.sock";
  return o;
}

bool MakeCertificate(const TempDir& dir, const std::string& san, std::string* error) {
  const auto r =
      Run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
           "-nodes", "-days", "1", "-subj", "/CN=cutover-agent", "-addext", "subjectAltName=" + san,
           "-keyout", dir / "key.pem", "-out", dir / "cert.pem"});
  if (error != nullptr) *error = r.err;
  return r.exit_code == 0;
}

std::string MakeAppStateFile(const TempDir& dir) {
  const std::string path = dir / "cutover.state";
  state::StateFile::Create(path).AddRecord("app", "app_blue", "app_green", 0);
  return path;
}

std::string AgentBinary() { return CUTOVER_AGENT_BINARY; }

AgentProcess::AgentProcess(AgentOptions options, std::string log_prefix)
    : options_(std::move(options)), log_prefix_(std::move(log_prefix)) {}

AgentProcess::~AgentProcess() {
  if (process_.pid() > 0 && process_.Running()) process_.Stop();
}

void AgentProcess::Start() {
  std::vector<std::string> argv = options_.command_prefix;
  argv.insert(argv.end(), {options_.binary.empty() ? AgentBinary() : options_.binary,
                           "--state-file", options_.state_file, "--tick", options_.tick});
  if (!options_.journal.empty()) argv.insert(argv.end(), {"--journal", options_.journal});
  if (!options_.fleet.empty())
    argv.insert(argv.end(), {"--fleet", options_.fleet, "--node", options_.node});
  if (!options_.socket.empty()) argv.insert(argv.end(), {"--listen", "unix:" + options_.socket});
  if (options_.tcp_port != 0)
    argv.insert(argv.end(), {"--listen", "127.0.0.1:" + std::to_string(options_.tcp_port)});
  if (!options_.token_file.empty()) argv.insert(argv.end(), {"--token-file", options_.token_file});
  if (!options_.tls_cert.empty())
    argv.insert(argv.end(), {"--tls-cert", options_.tls_cert, "--tls-key", options_.tls_key});
  if (!options_.metrics.empty()) argv.insert(argv.end(), {"--metrics", options_.metrics});
  if (!options_.socket_group.empty())
    argv.insert(argv.end(), {"--socket-group", options_.socket_group});
  if (!options_.http_socket.empty())
    argv.insert(argv.end(), {"--http", "unix:" + options_.http_socket});
  if (options_.http_port != 0)
    argv.insert(argv.end(), {"--http", "127.0.0.1:" + std::to_string(options_.http_port)});
  for (const auto& url : options_.notify) argv.insert(argv.end(), {"--notify", url});
  process_ = Process(argv, log_prefix_);
  const bool up = WaitFor([&] {
    if (!process_.Running()) return true;
    if (!options_.socket.empty() && !UnixSocketAnswers(options_.socket)) return false;
    if (options_.tcp_port != 0 && !TcpPortAnswers(options_.tcp_port)) return false;
    if (!options_.http_socket.empty() && !UnixSocketAnswers(options_.http_socket)) return false;
    if (options_.http_port != 0 && !TcpPortAnswers(options_.http_port)) return false;
    return true;
  });
  if (!up || !process_.Running())
    throw std::runtime_error("cutover-agent did not start:\n" + process_.Stderr());
}

void AgentProcess::Stop() {
  if (Running()) process_.Stop();
}

void AgentProcess::Restart() {
  Stop();
  Start();
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

HealthCheck Health(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  auto context = Context();
  // HealthCheckRequest { string service = 1; }
  const std::string request =
      service.empty() ? "" : std::string(1, '\x0a') + static_cast<char>(service.size()) + service;
  grpc::Slice slice(request);
  grpc::ByteBuffer buffer(&slice, 1);
  auto call = stub.PrepareUnaryCall(context.get(), "/grpc.health.v1.Health/Check", buffer, &queue);
  call->StartCall();
  grpc::ByteBuffer answer;
  grpc::Status status;
  call->Finish(&answer, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  queue.Next(&tag, &ok);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  HealthCheck check;
  check.code = status.error_code();
  // HealthCheckResponse { ServingStatus status = 1; }: 0x08 and a one-byte varint.
  std::vector<grpc::Slice> slices;
  if (status.ok() && answer.Dump(&slices).ok()) {
    std::string bytes;
    for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    check.serving = bytes.size() == 2 && bytes[0] == '\x08' ? bytes[1] : 0;
  }
  return check;
}

std::string AgentProcess::HttpUrl(const std::string& path) const {
  return std::string(options_.tls_cert.empty() ? "http" : "https") +
         "://127.0.0.1:" + std::to_string(options_.http_port) + path;
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

v1::Cutover StatusOf(v1::CutoverService::Stub& stub, const std::string& cutover) {
  v1::GetStatusRequest req;
  req.set_cutover(cutover);
  v1::GetStatusResponse resp;
  auto status = stub.GetStatus(Context().get(), req, &resp);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return resp.cutover();
}

}  // namespace cutover::test
