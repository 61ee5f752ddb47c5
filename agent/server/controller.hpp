// The controller: the one place that owns the state file, the sampler, the
// rollout engines and the journal. The tick loop and the gRPC handlers call
// it; every call runs under one mutex, so the engines see a single ordered
// stream of observations, gate results and manual actions.
#pragma once

#include <grpcpp/support/status.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent/core/clock.hpp"
#include "agent/core/counter_history.hpp"
#include "agent/core/sync_status.hpp"
#include "agent/engine/rollout_engine.hpp"
#include "agent/journal/journal.hpp"
#include "agent/journal/journal_writer.hpp"
#include "agent/server/api_error.hpp"
#include "agent/server/event_bus.hpp"
#include "agent/server/gate_runner.hpp"
#include "agent/server/preflight_runs.hpp"
#include "agent/server/worker.hpp"
#include "cutover/state_file.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {

// Told about every tick and decision: the metrics exporter, the notifier.
class ControllerListener {
 public:
  virtual ~ControllerListener() = default;
  virtual void OnTick(const std::vector<state::RecordSnapshot>& records,
                      const std::map<std::string, v1::Rollout>& rollouts) = 0;
  virtual void OnEvent(const v1::Event& event) = 0;
  // Every journal write (on the journal's writing thread): what it wrote or
  // why it could not.
  virtual void OnJournalWrite(const JournalWriter::Outcome& /*outcome*/) {}
  // The releases the cutover's slots run changed (a rollout named one, or the
  // journal said so at start): blue's and green's, "" when unknown.
  virtual void OnReleases(const std::string& cutover, const std::string& blue,
                          const std::string& green) {
    (void)cutover, (void)blue, (void)green;
  }
  // A rollout starts with this plan, before its first event: the plan as the
  // caller gave it, secrets included (its notify webhooks), never to be shown.
  virtual void OnRolloutPlan(const std::string& /*rollout_id*/, const v1::Plan& /*plan*/) {}
};

class Controller {
 public:
  struct Options {
    // The window of GetStatus's rates when no rollout gives one.
    Nanos default_window = std::chrono::seconds(10);
    Nanos gate_retry{0};  // zero: each analysis window
  };
  struct Dependencies {
    std::string state_path;
    Journal* journal = nullptr;
    // Writes the journal off the decision path; null: the controller
    // writes it inline, before a decision returns (tests).
    JournalWriter* journal_writer = nullptr;
    const Clock* clock = nullptr;
    GateFactory gate_factory;
    GateRunner* gate_runner = nullptr;  // null: gates run inline (tests)
    // Runs one analysis.metrics query (default: the Prometheus client).
    std::function<MetricResult(const v1::MetricCheck&)> metric_query;
    Worker* metric_runner = nullptr;  // null: metric queries run inline (tests)
    std::function<std::string()> new_rollout_id;
    std::vector<ControllerListener*> listeners;  // told of every tick and event, in order
    const SyncStatusSource* sync = nullptr;      // the database syncs, for the gates
  };

  Controller(Dependencies deps, Options options);
  // Tells running Preflight evaluations to give up; they never reach the
  // syncs again (they may outlive the controller, never its dependencies).
  ~Controller();

  // Rebuilds every cutover's last rollout from the journal (call once).
  // Throws JournalError naming the line of an event it cannot trust.
  void RestoreFromJournal();
  // One sampling and decision round.
  void Tick(SteadyTime at);

  std::vector<v1::Cutover> ListCutovers();
  v1::Cutover GetStatus(const std::string& cutover);
  v1::SetWeightResponse SetWeight(const v1::SetWeightRequest& request, const std::string& actor);
  v1::Rollout StartRollout(const v1::StartRolloutRequest& request, const std::string& actor);
  v1::Rollout PauseRollout(const v1::RolloutActionRequest& request, const std::string& actor);
  v1::Rollout ResumeRollout(const v1::RolloutActionRequest& request, const std::string& actor);
  v1::Rollout PromoteRollout(const v1::RolloutActionRequest& request, const std::string& actor);
  v1::Rollout AbortRollout(const v1::RolloutActionRequest& request, const std::string& actor);
  // The last rollout's plan again (it must have been reverted or aborted).
  v1::Rollout RetryRollout(const v1::RolloutActionRequest& request, const std::string& actor);
  v1::SetPeerStateResponse SetPeerState(const v1::SetPeerStateRequest& request,
                                        const std::string& actor);
  std::vector<v1::Event> GetHistory(const v1::GetHistoryRequest& request);
  // At most `max` events from sequence `since` on (inclusive), from the
  // journal: a page of WatchEvents' replay.
  std::vector<v1::Event> EventsSince(const std::string& cutover, std::uint64_t since,
                                     std::size_t max);
  // INVALID_ARGUMENT unless `cutover` is in the state file, has a rollout or
  // has journaled events.
  void RequireKnownCutover(const std::string& field, const std::string& cutover);
  // Journals an event of the agent's own (agent_started), tells watchers,
  // and returns once it is written (or its write failed).
  void PublishAgentEvent(v1::Event event);
  // Evaluates on a thread of its own (PreflightRuns), at most kMaxPreflights
  // at once (RESOURCE_EXHAUSTED beyond), and returns CANCELLED as soon as
  // `cancelled` says the caller has gone, telling its gates to give up.
  static constexpr int kMaxPreflights = PreflightRuns::kMax;
  v1::PreflightResponse Preflight(const v1::PreflightRequest& request,
                                  const std::function<bool()>& cancelled = {});

  // Journals and publishes an event decided outside the controller (the
  // sync's), in one order with the controller's own.
  void Record(v1::Event event);

  EventBus& bus() { return bus_; }
  Journal& journal() { return *deps_.journal; }

 private:
  std::shared_ptr<GateSet> ValidatedPlanGates(const std::string& cutover, bool has_plan,
                                              const v1::Plan& plan, bool cutover_required,
                                              const std::string& reason = "") const;
  struct RolloutEntry {
    std::unique_ptr<RolloutEngine> engine;
    std::shared_ptr<GateSet> gates;
    bool weight_checked = false;  // after a restore, against the state file
  };
  // What a worker thread (gates, metric queries) hands back: applied to the
  // engine of `rollout_id` at the next tick, if that rollout is still there.
  struct EngineReply {
    std::string cutover;
    std::string rollout_id;
    std::function<std::vector<Decision>(RolloutEngine&, WallTime)> apply;
  };
  // Fresh evidence: the epoch in force and the time of the newest sample
  // taken before it was stored; only later samples may start a window.
  struct Evidence {
    std::uint64_t epoch = 0;
    SteadyTime after = SteadyTime::min();
    WallTime since{};  // when it was stored (or first seen), for the journal
  };

  state::StateFile& File();  // throws ApiError(UNAVAILABLE)
  bool EnsureFile();
  state::RecordSnapshot Snapshot(const std::string& field, const std::string& cutover);
  v1::Cutover Describe(const state::RecordSnapshot& record, WallTime now);
  v1::SlotStats Stats(const state::RecordSnapshot& record, state::Slot slot,
                      const WindowQuery& query);
  RolloutEntry& ActiveRollout(const std::string& cutover, const std::string& reason);
  // Each returns the sequence of the last event it published (0: none).
  std::uint64_t Execute(RolloutEngine& engine, std::vector<Decision> decisions);
  std::uint64_t Publish(v1::Event& event);
  // An API call's promise: it returns once its events are journaled (or
  // their write failed); waited for without the controller's lock.
  void AwaitJournal(std::uint64_t sequence);
  void OnJournalWrite(const JournalWriter::Outcome& outcome);
  void DispatchGates(RolloutEntry& slot);
  void DispatchMetrics(RolloutEntry& slot, WallTime now);
  void Reply(EngineReply reply);  // from any thread
  void DrainReplies(WallTime now);
  // After the agent stored a weight: evidence starts after the newest sample.
  void WeightStored(const std::string& cutover, std::uint64_t epoch);
  // What gates may know of a cutover: its slots' peers and the slot moved to
  // (`new_slot`, or the one not live now). Under mutex_.
  gates::GateContext GateContextFor(const std::string& cutover,
                                    std::optional<state::Slot> new_slot);
  void UpdateRetention();
  v1::Rollout Launch(const std::string& cutover, const v1::Plan& plan,
                     std::shared_ptr<GateSet> gates, const state::RecordSnapshot& record,
                     const std::string& reason, const std::string& actor,
                     const std::string& release, std::uint64_t* sequence);
  void NoteRelease(const v1::Event& event);
  GateProfile ProfileOf(const GateSet& gates) const;
  v1::Rollout ManualAction(const v1::RolloutActionRequest& request, const std::string& actor,
                           std::vector<Decision> (RolloutEngine::*action)(WallTime,
                                                                          const std::string&,
                                                                          const std::string&));

  Dependencies deps_;
  Options options_;
  std::unique_ptr<JournalWriter> own_writer_;
  JournalWriter* writer_ = nullptr;
  std::mutex mutex_;
  std::optional<state::StateFile> file_;
  off_t file_size_ = 0;  // the file's size when it was mapped
  std::string file_error_;
  CounterHistory history_;
  std::map<std::string, RolloutEntry> rollouts_;  // by cutover: the current or last rollout
  // By cutover: the release each slot runs (blue, green), as rollouts named them.
  std::map<std::string, std::array<std::string, state::kSlotCount>> releases_;
  EventBus bus_;

  std::shared_ptr<PreflightRuns> preflights_;
  std::mutex replies_mutex_;  // gate and metric replies arrive from worker threads
  std::vector<EngineReply> replies_;
  std::map<std::string, Evidence> evidence_;  // by cutover
  std::optional<SteadyTime> last_tick_at_;    // when the newest sample was taken
  bool warned_revision_ = false;              // logged that the module predates waits
};

// The windows a rollout is judged on: its analysis window, no further back
// than `evidence_after`, stalls counted past max_p99.
WindowQuery JudgeQuery(const v1::Analysis& analysis, SteadyTime evidence_after);

// "grpc peer" to "actor" for the journal.
std::string ActorFromPeer(const std::string& peer);

}  // namespace cutover::agent
