// Preflight's gate evaluations. Each runs on a thread of its own, so a caller
// that leaves, or an agent that stops, never waits for a gate: its gates are
// told to give up (GateContext::cancel) and the call returns at once. A
// thread may outlive the controller that started it: it holds this object,
// never the controller, and reaches the database syncs only through it, until
// Shutdown.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "agent/core/gate.hpp"
#include "agent/core/sync_status.hpp"
#include "agent/server/gate_runner.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {

class PreflightRuns : public std::enable_shared_from_this<PreflightRuns> {
 public:
  // Beyond this many evaluations at once, a Preflight is RESOURCE_EXHAUSTED:
  // a gate may wait up to its timeout (validation's kMaxGateTimeout).
  static constexpr int kMax = 4;

  // `sync` (null: the agent runs no syncs) must outlive Shutdown.
  static std::shared_ptr<PreflightRuns> Create(const SyncStatusSource* sync);

  // Evaluates every gate of `gates` against `context`, whatever the gate
  // guards (preflight is the go/no-go table). Throws ApiError: CANCELLED as
  // soon as `cancelled` says the caller has gone, RESOURCE_EXHAUSTED beyond
  // kMax, UNAVAILABLE after Shutdown.
  v1::PreflightResponse Run(std::shared_ptr<GateSet> gates, gates::GateContext context,
                            const std::function<bool()>& cancelled);

  // Tells every running evaluation to give up, refuses new ones, and puts
  // the syncs out of the threads' reach: once it returns, no evaluation
  // reads them again. Never waits on a gate.
  void Shutdown();

  int running() const;

 private:
  struct Job;
  // The syncs as the evaluations see them: forwarded under a mutex until
  // Shutdown, "no sync" after.
  class SyncView final : public SyncStatusSource {
   public:
    explicit SyncView(const SyncStatusSource* sync) : sync_(sync) {}
    std::optional<v1::Sync> SyncOf(const std::string& cutover) const override;
    void Detach();

   private:
    mutable std::mutex mutex_;
    const SyncStatusSource* sync_;
  };

  explicit PreflightRuns(const SyncStatusSource* sync) : sync_(sync), has_sync_(sync != nullptr) {}
  void Finished(const Job* job);

  SyncView sync_;
  const bool has_sync_;
  mutable std::mutex mutex_;
  bool stopped_ = false;
  std::vector<std::shared_ptr<Job>> jobs_;  // running
};

}  // namespace cutover::agent
