#include "agent/server/service.hpp"

#include <functional>
#include <optional>

#include "agent/core/log.hpp"

namespace cutover::agent {

namespace {

// Runs a call, turning the API's errors into statuses.
grpc::Status Guard(const std::function<void()>& body) {
  try {
    body();
    return grpc::Status::OK;
  } catch (const ApiError& e) {
    return grpc::Status(e.code(), e.what());
  } catch (const std::exception& e) {
    LogError(std::string("internal error: ") + e.what());
    return grpc::Status(grpc::StatusCode::INTERNAL, e.what());
  }
}

// One unary RPC: the caller from the context, the Api call, the answer.
template <typename Request, typename Response>
grpc::Status Unary(grpc::ServerContext* context, const Request* request, Response* response,
                   Response (Api::*call)(const Caller&, const Request&), Api& api) {
  return Guard([&] { *response = (api.*call)(CallerOf(context), *request); });
}

}  // namespace

Caller CallerOf(grpc::ServerContext* context) {
  Caller caller;
  caller.peer = context->peer();
  caller.local = caller.peer.rfind("unix:", 0) == 0;
  caller.cancelled = [context] { return context->IsCancelled(); };
  const auto& metadata = context->client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end())
    caller.credentials.assign(it->second.data(), it->second.size());
  return caller;
}

grpc::Status CutoverServiceImpl::ListCutovers(grpc::ServerContext* c,
                                              const v1::ListCutoversRequest* q,
                                              v1::ListCutoversResponse* a) {
  return Unary(c, q, a, &Api::ListCutovers, api_);
}
grpc::Status CutoverServiceImpl::GetStatus(grpc::ServerContext* c, const v1::GetStatusRequest* q,
                                           v1::GetStatusResponse* a) {
  return Unary(c, q, a, &Api::GetStatus, api_);
}
grpc::Status CutoverServiceImpl::SetWeight(grpc::ServerContext* c, const v1::SetWeightRequest* q,
                                           v1::SetWeightResponse* a) {
  return Unary(c, q, a, &Api::SetWeight, api_);
}
grpc::Status CutoverServiceImpl::StartRollout(grpc::ServerContext* c,
                                              const v1::StartRolloutRequest* q,
                                              v1::RolloutResponse* a) {
  return Unary(c, q, a, &Api::StartRollout, api_);
}
grpc::Status CutoverServiceImpl::PauseRollout(grpc::ServerContext* c,
                                              const v1::RolloutActionRequest* q,
                                              v1::RolloutResponse* a) {
  return Unary(c, q, a, &Api::PauseRollout, api_);
}
grpc::Status CutoverServiceImpl::ResumeRollout(grpc::ServerContext* c,
                                               const v1::RolloutActionRequest* q,
                                               v1::RolloutResponse* a) {
  return Unary(c, q, a, &Api::ResumeRollout, api_);
}
grpc::Status CutoverServiceImpl::PromoteRollout(grpc::ServerContext* c,
                                                const v1::RolloutActionRequest* q,
                                                v1::RolloutResponse* a) {
  return Unary(c, q, a, &Api::PromoteRollout, api_);
}
grpc::Status CutoverServiceImpl::AbortRollout(grpc::ServerContext* c,
                                              const v1::RolloutActionRequest* q,
                                              v1::RolloutResponse* a) {
  return Unary(c, q, a, &Api::AbortRollout, api_);
}
grpc::Status CutoverServiceImpl::GetHistory(grpc::ServerContext* c, const v1::GetHistoryRequest* q,
                                            v1::GetHistoryResponse* a) {
  return Unary(c, q, a, &Api::GetHistory, api_);
}
grpc::Status CutoverServiceImpl::Preflight(grpc::ServerContext* c, const v1::PreflightRequest* q,
                                           v1::PreflightResponse* a) {
  return Unary(c, q, a, &Api::Preflight, api_);
}

grpc::Status CutoverServiceImpl::RetryRollout(grpc::ServerContext* c,
                                              const v1::RolloutActionRequest* q,
                                              v1::RolloutResponse* a) {
  return Unary(c, q, a, &Api::RetryRollout, api_);
}
grpc::Status CutoverServiceImpl::SetPeerState(grpc::ServerContext* c,
                                              const v1::SetPeerStateRequest* q,
                                              v1::SetPeerStateResponse* a) {
  return Unary(c, q, a, &Api::SetPeerState, api_);
}
grpc::Status CutoverServiceImpl::StartSync(grpc::ServerContext* c, const v1::StartSyncRequest* q,
                                           v1::SyncResponse* a) {
  return Unary(c, q, a, &Api::StartSync, api_);
}
grpc::Status CutoverServiceImpl::GetSync(grpc::ServerContext* c, const v1::GetSyncRequest* q,
                                         v1::SyncResponse* a) {
  return Unary(c, q, a, &Api::GetSync, api_);
}
grpc::Status CutoverServiceImpl::StopSync(grpc::ServerContext* c, const v1::StopSyncRequest* q,
                                          v1::SyncResponse* a) {
  return Unary(c, q, a, &Api::StopSync, api_);
}

grpc::Status CutoverServiceImpl::WatchEvents(grpc::ServerContext* context,
                                             const v1::WatchEventsRequest* request,
                                             grpc::ServerWriter<v1::Event>* writer) {
  std::optional<EventWatch> watch;
  bool gone = false;
  grpc::Status replay = Guard([&] {
    watch.emplace(api_.WatchEvents(CallerOf(context), *request));
    for (auto page = watch->Replay(); !page.empty() && !gone; page = watch->Replay())
      for (const auto& e : page)
        if (gone || context->IsCancelled() || !writer->Write(e)) gone = true;
  });
  if (!replay.ok() || gone) return replay;
  while (!context->IsCancelled() && !watch->closed()) {
    for (const auto& e : watch->Next(std::chrono::milliseconds(250)))
      if (!writer->Write(e)) return grpc::Status::OK;
  }
  return grpc::Status::OK;
}

}  // namespace cutover::agent
