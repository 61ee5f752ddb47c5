#include "agent/server/service.hpp"

#include <functional>

#include "agent/core/log.hpp"

namespace cutover::agent {

namespace {

// Runs a handler body, turning the controller's errors into statuses.
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

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

grpc::Status Authorizer::Check(grpc::ServerContext* context) const {
  if (context->peer().rfind("unix:", 0) == 0) return grpc::Status::OK;
  if (token_.empty())
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "mutating calls over TCP need a token, and this agent has no --token-file");
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end())
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "missing authorization metadata (\"Bearer <token>\")");
  const std::string value(it->second.data(), it->second.size());
  const std::string prefix = "Bearer ";
  if (value.rfind(prefix, 0) != 0 || !ConstantTimeEquals(value.substr(prefix.size()), token_))
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bad bearer token");
  return grpc::Status::OK;
}

grpc::Status CutoverServiceImpl::ListCutovers(grpc::ServerContext*, const v1::ListCutoversRequest*,
                                              v1::ListCutoversResponse* response) {
  return Guard([&] {
    for (auto& c : controller_.ListCutovers()) *response->add_cutovers() = std::move(c);
  });
}

grpc::Status CutoverServiceImpl::GetStatus(grpc::ServerContext*,
                                           const v1::GetStatusRequest* request,
                                           v1::GetStatusResponse* response) {
  return Guard([&] { *response->mutable_cutover() = controller_.GetStatus(request->cutover()); });
}

grpc::Status CutoverServiceImpl::SetWeight(grpc::ServerContext* context,
                                           const v1::SetWeightRequest* request,
                                           v1::SetWeightResponse* response) {
  if (auto s = authorizer_.Check(context); !s.ok()) return s;
  return Guard(
      [&] { *response = controller_.SetWeight(*request, ActorFromPeer(context->peer())); });
}

grpc::Status CutoverServiceImpl::StartRollout(grpc::ServerContext* context,
                                              const v1::StartRolloutRequest* request,
                                              v1::RolloutResponse* response) {
  if (auto s = authorizer_.Check(context); !s.ok()) return s;
  return Guard([&] {
    *response->mutable_rollout() =
        controller_.StartRollout(*request, ActorFromPeer(context->peer()));
  });
}

grpc::Status CutoverServiceImpl::PauseRollout(grpc::ServerContext* context,
                                              const v1::RolloutActionRequest* request,
                                              v1::RolloutResponse* response) {
  if (auto s = authorizer_.Check(context); !s.ok()) return s;
  return Guard([&] {
    *response->mutable_rollout() =
        controller_.PauseRollout(*request, ActorFromPeer(context->peer()));
  });
}

grpc::Status CutoverServiceImpl::ResumeRollout(grpc::ServerContext* context,
                                               const v1::RolloutActionRequest* request,
                                               v1::RolloutResponse* response) {
  if (auto s = authorizer_.Check(context); !s.ok()) return s;
  return Guard([&] {
    *response->mutable_rollout() =
        controller_.ResumeRollout(*request, ActorFromPeer(context->peer()));
  });
}

grpc::Status CutoverServiceImpl::PromoteRollout(grpc::ServerContext* context,
                                                const v1::RolloutActionRequest* request,
                                                v1::RolloutResponse* response) {
  if (auto s = authorizer_.Check(context); !s.ok()) return s;
  return Guard([&] {
    *response->mutable_rollout() =
        controller_.PromoteRollout(*request, ActorFromPeer(context->peer()));
  });
}

grpc::Status CutoverServiceImpl::AbortRollout(grpc::ServerContext* context,
                                              const v1::RolloutActionRequest* request,
                                              v1::RolloutResponse* response) {
  if (auto s = authorizer_.Check(context); !s.ok()) return s;
  return Guard([&] {
    *response->mutable_rollout() =
        controller_.AbortRollout(*request, ActorFromPeer(context->peer()));
  });
}

grpc::Status CutoverServiceImpl::WatchEvents(grpc::ServerContext* context,
                                             const v1::WatchEventsRequest* request,
                                             grpc::ServerWriter<v1::Event>* writer) {
  std::uint64_t cursor = 0;
  auto wanted = [&](const v1::Event& e) {
    return request->cutover().empty() || e.cutover() == request->cutover();
  };
  grpc::Status replay = Guard([&] {
    // Take the live cursor first so nothing falls between replay and live.
    const std::uint64_t live = controller_.bus().last_sequence();
    // Live events start after the replay, or at since_sequence when that is ahead.
    cursor = request->since_sequence() > live ? request->since_sequence() - 1 : live;
    if (request->since_sequence() > 0) {
      for (const auto& e : controller_.EventsSince(request->cutover(), request->since_sequence())) {
        if (e.sequence() > live) break;
        writer->Write(e);
      }
    }
  });
  if (!replay.ok()) return replay;
  while (!context->IsCancelled() && !controller_.bus().closed()) {
    for (const auto& e : controller_.bus().WaitAfter(cursor, std::chrono::milliseconds(250))) {
      cursor = std::max(cursor, e.sequence());
      if (wanted(e) && !writer->Write(e)) return grpc::Status::OK;
    }
  }
  return grpc::Status::OK;
}

grpc::Status CutoverServiceImpl::GetHistory(grpc::ServerContext*,
                                            const v1::GetHistoryRequest* request,
                                            v1::GetHistoryResponse* response) {
  return Guard([&] {
    for (auto& e : controller_.GetHistory(*request)) *response->add_events() = std::move(e);
  });
}

grpc::Status CutoverServiceImpl::Preflight(grpc::ServerContext*,
                                           const v1::PreflightRequest* request,
                                           v1::PreflightResponse* response) {
  return Guard([&] { *response = controller_.Preflight(*request); });
}

}  // namespace cutover::agent
