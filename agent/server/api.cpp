#include "agent/server/api.hpp"

#include <algorithm>

#include "agent/core/validation.hpp"
#include "agent/sync/sync_error.hpp"

namespace cutover::agent {

namespace {

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

void Authorizer::Require(const Caller& caller) const {
  if (caller.local) return;
  if (token_.empty())
    throw ApiError(grpc::StatusCode::UNAUTHENTICATED,
                   "mutating calls over TCP need a token, and this agent has no --token-file");
  if (caller.credentials.empty())
    throw ApiError(grpc::StatusCode::UNAUTHENTICATED,
                   "missing authorization metadata (\"Bearer <token>\")");
  const std::string prefix = "Bearer ";
  if (caller.credentials.rfind(prefix, 0) != 0 ||
      !ConstantTimeEquals(caller.credentials.substr(prefix.size()), token_))
    throw ApiError(grpc::StatusCode::UNAUTHENTICATED, "bad bearer token");
}

EventWatch::EventWatch(Controller& controller, const v1::WatchEventsRequest& request)
    : controller_(controller), request_(request) {
  if (!request_.cutover().empty()) controller_.RequireKnownCutover("cutover", request_.cutover());
  // The live cursor first, so nothing falls between the replay and live.
  live_after_ = controller_.bus().last_sequence();
  // Live events start after the replay, or at since_sequence when that is ahead.
  const std::uint64_t since = request_.since_sequence();
  cursor_ = since == 0 ? live_after_ : since - 1;
  replay_from_ = since != 0 && since <= live_after_ ? since : 0;
}

std::vector<v1::Event> EventWatch::Replay() {
  std::vector<v1::Event> out;
  if (replay_from_ == 0) return out;
  std::vector<v1::Event> page =
      controller_.EventsSince(request_.cutover(), replay_from_, kReplayPage);
  const std::uint64_t page_end = page.empty() ? 0 : page.back().sequence();
  for (auto& e : page) {
    if (e.sequence() > live_after_) break;
    cursor_ = e.sequence();
    out.push_back(std::move(e));
  }
  // Done at the live cursor or the journal's end (events numbered but not
  // yet written come from the bus, which holds the newest: Next).
  const bool more = page.size() == kReplayPage && page_end < live_after_;
  replay_from_ = more ? page_end + 1 : 0;
  return out;
}

std::vector<v1::Event> EventWatch::Next(std::chrono::milliseconds timeout) {
  std::vector<v1::Event> out;
  for (auto& e : controller_.bus().WaitAfter(cursor_, timeout)) {
    cursor_ = std::max(cursor_, e.sequence());
    if (request_.cutover().empty() || e.cutover() == request_.cutover())
      out.push_back(std::move(e));
  }
  return out;
}

bool EventWatch::closed() const { return controller_.bus().closed(); }

bool Api::Forwarded(const char* verb, const Caller& caller,
                    const google::protobuf::Message& request, google::protobuf::Message* response) {
  if (fleet_ == nullptr || !fleet_->Forwards()) return false;
  fleet_->Forward(verb, request, caller.actor(), response);
  return true;
}

void Api::Annotate(v1::Cutover* cutover) const {
  if (fleet_ != nullptr) fleet_->Annotate(cutover);
}

v1::ListCutoversResponse Api::ListCutovers(const Caller&, const v1::ListCutoversRequest&) {
  v1::ListCutoversResponse response;
  for (auto& c : controller_.ListCutovers()) {
    AttachSync(&c);
    Annotate(&c);
    *response.add_cutovers() = std::move(c);
  }
  return response;
}

v1::GetStatusResponse Api::GetStatus(const Caller&, const v1::GetStatusRequest& request) {
  v1::GetStatusResponse response;
  *response.mutable_cutover() = controller_.GetStatus(request.cutover());
  AttachSync(response.mutable_cutover());
  Annotate(response.mutable_cutover());
  return response;
}

v1::SetWeightResponse Api::SetWeight(const Caller& caller, const v1::SetWeightRequest& request) {
  authorizer_.Require(caller);
  v1::SetWeightResponse response;
  if (!Forwarded("SetWeight", caller, request, &response))
    response = controller_.SetWeight(request, caller.actor());
  Annotate(response.mutable_cutover());
  return response;
}

v1::RolloutResponse Api::StartRollout(const Caller& caller,
                                      const v1::StartRolloutRequest& request) {
  authorizer_.Require(caller);
  v1::RolloutResponse response;
  if (!Forwarded("StartRollout", caller, request, &response))
    *response.mutable_rollout() = controller_.StartRollout(request, caller.actor());
  return response;
}

v1::RolloutResponse Api::PauseRollout(const Caller& caller,
                                      const v1::RolloutActionRequest& request) {
  authorizer_.Require(caller);
  v1::RolloutResponse response;
  if (!Forwarded("PauseRollout", caller, request, &response))
    *response.mutable_rollout() = controller_.PauseRollout(request, caller.actor());
  return response;
}

v1::RolloutResponse Api::ResumeRollout(const Caller& caller,
                                       const v1::RolloutActionRequest& request) {
  authorizer_.Require(caller);
  v1::RolloutResponse response;
  if (!Forwarded("ResumeRollout", caller, request, &response))
    *response.mutable_rollout() = controller_.ResumeRollout(request, caller.actor());
  return response;
}

v1::RolloutResponse Api::PromoteRollout(const Caller& caller,
                                        const v1::RolloutActionRequest& request) {
  authorizer_.Require(caller);
  v1::RolloutResponse response;
  if (!Forwarded("PromoteRollout", caller, request, &response))
    *response.mutable_rollout() = controller_.PromoteRollout(request, caller.actor());
  return response;
}

v1::RolloutResponse Api::AbortRollout(const Caller& caller,
                                      const v1::RolloutActionRequest& request) {
  authorizer_.Require(caller);
  v1::RolloutResponse response;
  if (!Forwarded("AbortRollout", caller, request, &response))
    *response.mutable_rollout() = controller_.AbortRollout(request, caller.actor());
  return response;
}

v1::RolloutResponse Api::RetryRollout(const Caller& caller,
                                      const v1::RolloutActionRequest& request) {
  authorizer_.Require(caller);
  v1::RolloutResponse response;
  if (!Forwarded("RetryRollout", caller, request, &response))
    *response.mutable_rollout() = controller_.RetryRollout(request, caller.actor());
  return response;
}

// A peer's admin state is this node's nginx's: never handed on.
v1::SetPeerStateResponse Api::SetPeerState(const Caller& caller,
                                           const v1::SetPeerStateRequest& request) {
  authorizer_.Require(caller);
  v1::SetPeerStateResponse response = controller_.SetPeerState(request, caller.actor());
  Annotate(response.mutable_cutover());
  return response;
}

v1::GetHistoryResponse Api::GetHistory(const Caller&, const v1::GetHistoryRequest& request) {
  v1::GetHistoryResponse response;
  for (auto& e : controller_.GetHistory(request)) *response.add_events() = std::move(e);
  return response;
}

v1::PreflightResponse Api::Preflight(const Caller& caller, const v1::PreflightRequest& request) {
  // Gates connect where the plan says and run its SQL, commands and requests
  // with the agent's identity: as much a caller's power as a mutation.
  if (request.plan().gates_size() > 0) authorizer_.Require(caller);
  return controller_.Preflight(request, caller.cancelled);
}

EventWatch Api::WatchEvents(const Caller&, const v1::WatchEventsRequest& request) {
  return EventWatch(controller_, request);
}

// ------------------------------------------------------------------ sync

namespace {

// The sync's failures in the API's words.
template <typename Call>
auto SyncCall(Call&& call) {
  try {
    return call();
  } catch (const sync::SyncError& e) {
    switch (e.kind()) {
      case sync::SyncError::Kind::kInvalidArgument:
        throw ApiError(grpc::StatusCode::INVALID_ARGUMENT, e.what());
      default:
        // A database that cannot be reached is not the agent being unreachable:
        // the call is refused as things stand, with the database named.
        throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, e.what());
    }
  } catch (const InvalidArgument& e) {
    throw ApiError(grpc::StatusCode::INVALID_ARGUMENT, e.what());
  }
}

}  // namespace

sync::SyncManager& Api::Syncs() const {
  if (syncs_ == nullptr)
    throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, "this agent runs no database syncs");
  return *syncs_;
}

void Api::AttachSync(v1::Cutover* cutover) const {
  if (syncs_ == nullptr) return;
  if (auto s = syncs_->SyncOf(cutover->name())) *cutover->mutable_sync() = std::move(*s);
}

v1::SyncResponse Api::StartSync(const Caller& caller, const v1::StartSyncRequest& request) {
  authorizer_.Require(caller);
  // The cutover must be one nginx has (the state file knows it).
  controller_.GetStatus(request.cutover());
  v1::SyncResponse response;
  *response.mutable_sync() = SyncCall([&] {
    return Syncs().Start(request.cutover(), request.spec(), request.reason(), caller.actor());
  });
  return response;
}

v1::SyncResponse Api::GetSync(const Caller&, const v1::GetSyncRequest& request) {
  v1::SyncResponse response;
  *response.mutable_sync() = SyncCall([&] {
    ValidateCutoverName("cutover", request.cutover());
    return Syncs().Get(request.cutover());
  });
  return response;
}

v1::SyncResponse Api::StopSync(const Caller& caller, const v1::StopSyncRequest& request) {
  authorizer_.Require(caller);
  v1::SyncResponse response;
  *response.mutable_sync() = SyncCall([&] {
    ValidateCutoverName("cutover", request.cutover());
    return Syncs().Stop(request.cutover(), request.keep(), request.reason(), caller.actor());
  });
  return response;
}

}  // namespace cutover::agent
