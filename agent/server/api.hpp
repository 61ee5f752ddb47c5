// The agent's API whatever carries it. The gRPC service (service.cpp) maps
// each RPC onto one of these calls, and any other transport (HTTP/JSON) does
// the same, so every transport has the same validation, authorization and
// errors: an ApiError carrying a gRPC status code and a message naming the
// field.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "agent/server/controller.hpp"
#include "agent/sync/manager.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {

// Who is calling, as the transport saw it.
struct Caller {
  std::string peer;                 // gRPC's form: "unix:/run/x.sock", "ipv4:127.0.0.1:5000"
  bool local = false;               // over a unix socket: the file system already decided (0660)
  std::string credentials;          // the Authorization value ("Bearer <token>"), "" when none
  std::function<bool()> cancelled;  // true once the caller has gone (unset: never)

  // Who the journal says acted: "unix", or the peer's address.
  std::string actor() const { return ActorFromPeer(peer); }
};

// Who may change things: any local caller; over TCP, a caller with the
// bearer token of --token-file (compared in constant time). Without a token
// file, nothing over TCP may.
class Authorizer {
 public:
  explicit Authorizer(std::string token) : token_(std::move(token)) {}
  // Throws ApiError(UNAUTHENTICATED) saying what is missing or wrong.
  void Require(const Caller& caller) const;

 private:
  std::string token_;
};

// WatchEvents, transport-neutral: the journal from since_sequence first (when
// asked), then live events, with nothing lost or repeated between the two.
// The replay comes in pages, so a watcher replaying a long journal holds one
// page in memory, not the journal.
class EventWatch {
 public:
  static constexpr std::size_t kReplayPage = 256;

  EventWatch(Controller& controller, const v1::WatchEventsRequest& request);
  // The next page of the journaled events the request asked to replay;
  // empty once they are all replayed (call until it is, first).
  std::vector<v1::Event> Replay();
  // Live events after the last one returned, waiting up to `timeout`.
  std::vector<v1::Event> Next(std::chrono::milliseconds timeout);
  // The agent is stopping: no more events will come.
  bool closed() const;

 private:
  Controller& controller_;
  v1::WatchEventsRequest request_;
  std::uint64_t live_after_ = 0;   // the bus's sequence when the watch began
  std::uint64_t cursor_ = 0;       // the last sequence delivered (or skipped)
  std::uint64_t replay_from_ = 0;  // the next sequence to replay; 0: replayed
};

class Api {
 public:
  // `syncs`: the database syncs (null: this agent runs none; the sync calls
  // answer FAILED_PRECONDITION).
  Api(Controller& controller, Authorizer authorizer, sync::SyncManager* syncs = nullptr)
      : controller_(controller), authorizer_(std::move(authorizer)), syncs_(syncs) {}

  v1::ListCutoversResponse ListCutovers(const Caller&, const v1::ListCutoversRequest&);
  v1::GetStatusResponse GetStatus(const Caller&, const v1::GetStatusRequest&);
  v1::SetWeightResponse SetWeight(const Caller&, const v1::SetWeightRequest&);
  v1::RolloutResponse StartRollout(const Caller&, const v1::StartRolloutRequest&);
  v1::RolloutResponse PauseRollout(const Caller&, const v1::RolloutActionRequest&);
  v1::RolloutResponse ResumeRollout(const Caller&, const v1::RolloutActionRequest&);
  v1::RolloutResponse PromoteRollout(const Caller&, const v1::RolloutActionRequest&);
  v1::RolloutResponse AbortRollout(const Caller&, const v1::RolloutActionRequest&);
  v1::GetHistoryResponse GetHistory(const Caller&, const v1::GetHistoryRequest&);
  v1::PreflightResponse Preflight(const Caller&, const v1::PreflightRequest&);
  EventWatch WatchEvents(const Caller&, const v1::WatchEventsRequest&);
  // operator UX (14)
  v1::RolloutResponse RetryRollout(const Caller&, const v1::RolloutActionRequest&);
  v1::SetPeerStateResponse SetPeerState(const Caller&, const v1::SetPeerStateRequest&);

  // ---- sync (issue 10)
  // POST /v1/cutovers/{cutover}/sync:start
  v1::SyncResponse StartSync(const Caller&, const v1::StartSyncRequest&);
  // GET /v1/cutovers/{cutover}/sync
  v1::SyncResponse GetSync(const Caller&, const v1::GetSyncRequest&);
  // POST /v1/cutovers/{cutover}/sync:stop
  v1::SyncResponse StopSync(const Caller&, const v1::StopSyncRequest&);

  // Ends every watch (the agent is stopping).
  void Shutdown() { controller_.bus().Close(); }

  // One node of a fleet: mutating calls go to the decider when this node
  // does not decide, and every status answer carries the fleet.
  void SetFleet(FleetFront* fleet) { fleet_ = fleet; }

 private:
  // Runs `verb` on the fleet's decider instead of here, when this node is a
  // follower: true when it did (and `response` holds the answer).
  bool Forwarded(const char* verb, const Caller& caller, const google::protobuf::Message& request,
                 google::protobuf::Message* response);
  void Annotate(v1::Cutover* cutover) const;
  sync::SyncManager& Syncs() const;
  // Status answers carry the cutover's sync, when it has one.
  void AttachSync(v1::Cutover* cutover) const;

  Controller& controller_;
  Authorizer authorizer_;
  FleetFront* fleet_ = nullptr;
  sync::SyncManager* syncs_;
};

}  // namespace cutover::agent
