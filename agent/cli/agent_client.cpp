#include "agent/cli/agent_client.hpp"

#include <grp.h>
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <optional>

#include "agent/core/secret_file.hpp"

namespace cutover::cli {

namespace v1 = cutover::v1;

ExitCode MapStatus(int grpc_status_code) {
  switch (static_cast<grpc::StatusCode>(grpc_status_code)) {
    case grpc::StatusCode::OK:
      return kExitOk;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:  // the agent shut down mid-call; we never cancel
      return kExitUnreachable;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return kExitUsage;
    default:
      return kExitFailed;
  }
}

std::string ReadTokenFile(const std::string& path) {
  try {
    return agent::ReadSecretFile("--token-file", path);
  } catch (const agent::SecretFileError& e) {
    throw UsageError(e.what());
  }
}

std::string ReadPemFile(const std::string& flag, const std::string& path) {
  std::string pem;
  try {
    pem = agent::ReadSecretFile(flag, path);
  } catch (const agent::SecretFileError& e) {
    throw UsageError(e.what());
  }
  if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    throw UsageError(flag + ": " + path + " holds no PEM certificate");
  return pem;
}

AgentClient::AgentClient(AgentOptions options) : options_(std::move(options)) {
  if (options_.address.empty()) throw UsageError("--agent is empty");
  if (options_.address.starts_with("unix:") && options_.address.size() == 5)
    throw UsageError("--agent unix: needs a socket path");
  grpc::ChannelArguments args;
  // One attempt to connect, no long reconnect backoff: the CLI reports an
  // absent agent right away instead of waiting for it.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!options_.tls_ca_pem.empty()) {
    if (options_.address.starts_with("unix:"))
      throw UsageError("--tls-ca is for HOST:PORT agents; the unix socket is not encrypted");
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options_.tls_ca_pem;
    credentials = grpc::SslCredentials(ssl);
    if (!options_.tls_server_name.empty()) args.SetSslTargetNameOverride(options_.tls_server_name);
  } else if (!options_.tls_server_name.empty()) {
    throw UsageError("--tls-server-name needs --tls-ca");
  }
  auto channel = grpc::CreateCustomChannel(options_.address, credentials, args);
  stub_ = v1::CutoverService::NewStub(channel);
}

void AgentClient::Prepare(grpc::ClientContext* context, std::chrono::milliseconds timeout) const {
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  if (!options_.token.empty()) context->AddMetadata("authorization", "Bearer " + options_.token);
}

std::optional<CliError> UnixSocketProblem(const std::string& address) {
  if (!address.starts_with("unix:")) return std::nullopt;
  std::string path = address.substr(5);
  if (path.starts_with("//")) path = path.substr(2);
  if (::access(path.c_str(), R_OK | W_OK) == 0 || errno != EACCES) return std::nullopt;
  // Say who may, so the operator knows which group to join.
  struct stat st {};
  std::string who;
  if (::stat(path.c_str(), &st) == 0) {
    const group* g = ::getgrgid(st.st_gid);
    const std::string name = g != nullptr ? g->gr_name : std::to_string(st.st_gid);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    who = " (mode " + std::string(mode) + ", group " + name + "): join group " + name +
          " (usermod -aG " + name + " $USER, then log in again), or use sudo";
  } else {
    who = ": a directory on the way is closed to you";
  }
  return CliError(kExitUsage, "permission denied on the agent's socket " + path + who);
}

void AgentClient::Throw(const std::string& rpc, const grpc::Status& status) const {
  const ExitCode code = MapStatus(status.error_code());
  std::string message;
  if (code == kExitUnreachable) {
    // An agent that is there but whose socket refuses this user is not
    // "unreachable": say what is wrong and how to fix it.
    if (auto denied = UnixSocketProblem(options_.address)) throw *denied;
    message = "cannot reach the agent at " + options_.address + " (" + rpc + ": " +
              status.error_message() +
              "); is cutover-agent running? (set --agent or $CUTOVER_AGENT)";
  } else {
    message = "the agent refused " + rpc + ": " + status.error_message();
  }
  throw CliError(code, message);
}

template <typename Request, typename Response>
Response AgentClient::Call(const char* rpc, UnaryRpc<Request, Response> method,
                           const Request& request, std::chrono::milliseconds timeout) {
  grpc::ClientContext context;
  Prepare(&context, timeout);
  Response response;
  const grpc::Status status = (stub_.get()->*method)(&context, request, &response);
  if (!status.ok()) Throw(rpc, status);
  return response;
}

v1::ListCutoversResponse AgentClient::ListCutovers() {
  return Call("ListCutovers", &Stub::ListCutovers, v1::ListCutoversRequest(), options_.timeout);
}

v1::GetStatusResponse AgentClient::GetStatus(const std::string& cutover) {
  v1::GetStatusRequest request;
  request.set_cutover(cutover);
  return Call("GetStatus", &Stub::GetStatus, request, options_.timeout);
}

v1::SetWeightResponse AgentClient::SetWeight(const v1::SetWeightRequest& request) {
  return Call("SetWeight", &Stub::SetWeight, request, options_.timeout);
}

v1::RolloutResponse AgentClient::StartRollout(const v1::StartRolloutRequest& request) {
  return Call("StartRollout", &Stub::StartRollout, request, options_.timeout);
}

v1::RolloutResponse AgentClient::RolloutAction(const std::string& action,
                                               const v1::RolloutActionRequest& request) {
  if (action == "pause")
    return Call("PauseRollout", &Stub::PauseRollout, request, options_.timeout);
  if (action == "resume")
    return Call("ResumeRollout", &Stub::ResumeRollout, request, options_.timeout);
  if (action == "promote")
    return Call("PromoteRollout", &Stub::PromoteRollout, request, options_.timeout);
  if (action == "abort")
    return Call("AbortRollout", &Stub::AbortRollout, request, options_.timeout);
  if (action == "retry")
    return Call("RetryRollout", &Stub::RetryRollout, request, options_.timeout);
  throw UsageError("unknown rollout action \"" + action + "\"");
}

v1::SetPeerStateResponse AgentClient::SetPeerState(const v1::SetPeerStateRequest& request) {
  return Call("SetPeerState", &Stub::SetPeerState, request, options_.timeout);
}

v1::GetHistoryResponse AgentClient::GetHistory(const v1::GetHistoryRequest& request) {
  return Call("GetHistory", &Stub::GetHistory, request, options_.timeout);
}

v1::PreflightResponse AgentClient::Preflight(const v1::PreflightRequest& request,
                                             std::chrono::milliseconds timeout) {
  return Call("Preflight", &Stub::Preflight, request, timeout);
}

// Connecting (10s each), checking schemas and installing the capture.
constexpr std::chrono::seconds kSyncSetUp{30};

v1::SyncResponse AgentClient::StartSync(const v1::StartSyncRequest& request) {
  return Call("StartSync", &Stub::StartSync, request, options_.timeout + kSyncSetUp);
}

v1::SyncResponse AgentClient::GetSync(const std::string& cutover) {
  v1::GetSyncRequest request;
  request.set_cutover(cutover);
  return Call("GetSync", &Stub::GetSync, request, options_.timeout);
}

v1::SyncResponse AgentClient::StopSync(const v1::StopSyncRequest& request) {
  return Call("StopSync", &Stub::StopSync, request, options_.timeout + kSyncSetUp);
}

}  // namespace cutover::cli
