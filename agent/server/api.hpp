// The agent's API whatever carries it. The gRPC service (service.cpp) maps
// each RPC onto one of these calls, and any other transport (HTTP/JSON) does
// the same, so every transport has the same validation, authorization and
// errors: an ApiError carrying a gRPC status code and a message naming the
// field.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/server/controller.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {

// Who is calling, as the transport saw it.
struct Caller {
  std::string peer;         // gRPC's form: "unix:/run/x.sock", "ipv4:127.0.0.1:5000"
  bool local = false;       // over a unix socket: the file system already decided (0660)
  std::string credentials;  // the Authorization value ("Bearer <token>"), "" when none

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
class EventWatch {
 public:
  EventWatch(Controller& controller, const v1::WatchEventsRequest& request);
  // The journaled events the request asked to replay (once, first).
  std::vector<v1::Event> Replay();
  // Live events after the last one returned, waiting up to `timeout`.
  std::vector<v1::Event> Next(std::chrono::milliseconds timeout);
  // The agent is stopping: no more events will come.
  bool closed() const;

 private:
  Controller& controller_;
  v1::WatchEventsRequest request_;
  std::uint64_t live_after_ = 0;  // the bus's sequence when the watch began
  std::uint64_t cursor_ = 0;
};

class Api {
 public:
  Api(Controller& controller, Authorizer authorizer)
      : controller_(controller), authorizer_(std::move(authorizer)) {}

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

  Controller& controller_;
  Authorizer authorizer_;
  FleetFront* fleet_ = nullptr;
};

}  // namespace cutover::agent
