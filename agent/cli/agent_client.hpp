// The agent's gRPC API as cutoverctl uses it: one channel, the bearer token
// on every call, a deadline on every unary call, and every failure turned
// into a CliError carrying the exit code it means (see MapStatus).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "agent/cli/errors.hpp"
#include "cutover/v1/cutover.grpc.pb.h"

namespace cutover::cli {

struct AgentOptions {
  std::string address;  // unix:PATH or HOST:PORT
  std::string token;    // empty: none sent
  // PEM roots to verify a TLS agent with; empty: plaintext (unix sockets always are).
  std::string tls_ca_pem;
  std::string tls_server_name;  // expected name in the agent's certificate, if not the host
  std::chrono::milliseconds timeout{10000};
};

// UNAVAILABLE, DEADLINE_EXCEEDED and CANCELLED (the agent stopped during the
// call): the agent did not answer (3).
// INVALID_ARGUMENT, NOT_FOUND, UNAUTHENTICATED, PERMISSION_DENIED: what the
// operator gave was wrong (2). Anything else, e.g. FAILED_PRECONDITION: the
// agent refused (1).
ExitCode MapStatus(int grpc_status_code);

// For a unix: address whose socket this user may not open (EACCES), the
// error that says so (exit 2), naming the socket's group to join.
std::optional<CliError> UnixSocketProblem(const std::string& address);

// Reads the token file (surrounding whitespace trimmed). Throws a usage error
// when it cannot be read or is empty.
std::string ReadTokenFile(const std::string& path);

// Reads a PEM file for `flag`; a usage error when unreadable or not PEM.
std::string ReadPemFile(const std::string& flag, const std::string& path);

class AgentClient {
 public:
  explicit AgentClient(AgentOptions options);

  const std::string& address() const { return options_.address; }

  cutover::v1::ListCutoversResponse ListCutovers();
  cutover::v1::GetStatusResponse GetStatus(const std::string& cutover);
  cutover::v1::SetWeightResponse SetWeight(const cutover::v1::SetWeightRequest& request);
  cutover::v1::RolloutResponse StartRollout(const cutover::v1::StartRolloutRequest& request);
  // `action`: "pause", "resume", "promote", "abort" or "retry".
  cutover::v1::RolloutResponse RolloutAction(const std::string& action,
                                             const cutover::v1::RolloutActionRequest& request);
  cutover::v1::SetPeerStateResponse SetPeerState(const cutover::v1::SetPeerStateRequest& request);
  cutover::v1::GetHistoryResponse GetHistory(const cutover::v1::GetHistoryRequest& request);
  cutover::v1::PreflightResponse Preflight(const cutover::v1::PreflightRequest& request,
                                           std::chrono::milliseconds timeout);
  // Starting and stopping a sync connect to both databases: they get longer.
  cutover::v1::SyncResponse StartSync(const cutover::v1::StartSyncRequest& request);
  cutover::v1::SyncResponse GetSync(const std::string& cutover);
  cutover::v1::SyncResponse StopSync(const cutover::v1::StopSyncRequest& request);

 private:
  using Stub = cutover::v1::CutoverService::Stub;
  template <typename Request, typename Response>
  using UnaryRpc = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&, Response*);

  template <typename Request, typename Response>
  Response Call(const char* rpc, UnaryRpc<Request, Response> method, const Request& request,
                std::chrono::milliseconds timeout);
  void Prepare(grpc::ClientContext* context, std::chrono::milliseconds timeout) const;
  [[noreturn]] void Throw(const std::string& rpc, const grpc::Status& status) const;

  AgentOptions options_;
  std::unique_ptr<Stub> stub_;
};

}  // namespace cutover::cli
