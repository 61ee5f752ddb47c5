// The gRPC face of the API: each RPC is one Api call (api.hpp), with the
// caller taken from the ServerContext and ApiError turned into a status.
#pragma once

#include "agent/server/api.hpp"
#include "cutover/v1/cutover.grpc.pb.h"

namespace cutover::agent {

// The caller of a gRPC call: its peer and its authorization metadata.
Caller CallerOf(grpc::ServerContext* context);

class CutoverServiceImpl final : public v1::CutoverService::Service {
 public:
  explicit CutoverServiceImpl(Api& api) : api_(api) {}

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
  // operator UX (14)
  grpc::Status RetryRollout(grpc::ServerContext*, const v1::RolloutActionRequest*,
                            v1::RolloutResponse*) override;
  grpc::Status SetPeerState(grpc::ServerContext*, const v1::SetPeerStateRequest*,
                            v1::SetPeerStateResponse*) override;
  // sync (issue 10)
  grpc::Status StartSync(grpc::ServerContext*, const v1::StartSyncRequest*,
                         v1::SyncResponse*) override;
  grpc::Status GetSync(grpc::ServerContext*, const v1::GetSyncRequest*, v1::SyncResponse*) override;
  grpc::Status StopSync(grpc::ServerContext*, const v1::StopSyncRequest*,
                        v1::SyncResponse*) override;

 private:
  Api& api_;
};

}  // namespace cutover::agent
