// The gRPC face of the controller: maps requests to controller calls,
// ApiError to status codes, and guards mutating calls with the bearer token.
#pragma once

#include <atomic>
#include <string>

#include "agent/server/controller.hpp"
#include "cutover/v1/cutover.grpc.pb.h"

namespace cutover::agent {

// Who may mutate. Calls over a unix socket are trusted (the socket is 0660:
// the file system already decided); TCP calls need the token.
class Authorizer {
 public:
  explicit Authorizer(std::string token) : token_(std::move(token)) {}
  grpc::Status Check(grpc::ServerContext* context) const;

 private:
  std::string token_;  // empty: no --token-file, TCP cannot mutate
};

class CutoverServiceImpl final : public v1::CutoverService::Service {
 public:
  CutoverServiceImpl(Controller& controller, Authorizer authorizer)
      : controller_(controller), authorizer_(std::move(authorizer)) {}

  // Ends WatchEvents streams (the agent is stopping).
  void Shutdown() { controller_.bus().Close(); }

  grpc::Status ListCutovers(grpc::ServerContext*, const v1::ListCutoversRequest*,
                            v1::ListCutoversResponse*) override;
  grpc::Status GetStatus(grpc::ServerContext*, const v1::GetStatusRequest*,
                         v1::GetStatusResponse*) override;
  grpc::Status SetWeight(grpc::ServerContext*, const v1::SetWeightRequest*,
                         v1::SetWeightResponse*) override;
  grpc::Status StartRollout(grpc::ServerContext*, const v1::StartRolloutRequest*,
                            v1::RolloutResponse*) override;
  grpc::Status PauseRollout(grpc::ServerContext*, const v1::RolloutActionRequest*,
                            v1::RolloutResponse*) override;
  grpc::Status ResumeRollout(grpc::ServerContext*, const v1::RolloutActionRequest*,
                             v1::RolloutResponse*) override;
  grpc::Status PromoteRollout(grpc::ServerContext*, const v1::RolloutActionRequest*,
                              v1::RolloutResponse*) override;
  grpc::Status AbortRollout(grpc::ServerContext*, const v1::RolloutActionRequest*,
                            v1::RolloutResponse*) override;
  grpc::Status WatchEvents(grpc::ServerContext*, const v1::WatchEventsRequest*,
                           grpc::ServerWriter<v1::Event>*) override;
  grpc::Status GetHistory(grpc::ServerContext*, const v1::GetHistoryRequest*,
                          v1::GetHistoryResponse*) override;
  grpc::Status Preflight(grpc::ServerContext*, const v1::PreflightRequest*,
                         v1::PreflightResponse*) override;

 private:
  Controller& controller_;
  Authorizer authorizer_;
};

}  // namespace cutover::agent
