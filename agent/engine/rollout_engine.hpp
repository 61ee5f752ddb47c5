// The rollout engine: a pure state machine for one rollout of one cutover.
//
// It is fed observations (a clock reading, the weight in force and the
// analysis windows of both slots) and gate results, and it answers with
// decisions: a weight to store and an event to journal. It does no I/O,
// reads no clock and never sleeps, so every path is unit tested with a fake
// clock and fake windows; the controller owns the state file, the journal
// and the gate worker.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent/core/clock.hpp"
#include "agent/core/gate.hpp"
#include "agent/core/window.hpp"
#include "agent/engine/comparison.hpp"
#include "agent/engine/judge.hpp"
#include "cutover/state_layout.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {

// A manual action the rollout's state does not allow (FAILED_PRECONDITION).
class PreconditionFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A journaled rollout the engine will not rebuild: the event (its index in
// what Restore was given) and what is wrong with it.
class RestoreError : public std::runtime_error {
 public:
  RestoreError(std::size_t event, const std::string& problem)
      : std::runtime_error(problem), event_(event) {}
  std::size_t event() const { return event_; }

 private:
  std::size_t event_;
};

struct Observation {
  WallTime now;
  state::Control control{0, 0};  // the weight and epoch in force
  // Over the plan's analysis window, no further back than the evidence
  // allows (after the weight in force reached nginx), with the new slot's
  // requests waiting longer than max_p99 counted as stalled.
  WindowStats new_slot;
  WindowStats old_slot;
  WallTime evidence_since{};  // where the windows may start (for the journal)
  // The slots' monotonic counters now: the step's served requests, the
  // writes a revert would strand, and each tick's increments for the
  // sequential comparison.
  state::SlotSnapshot new_totals;
  state::SlotSnapshot old_totals;
};

// A query of analysis.metrics[index] the engine wants run (off the tick).
struct MetricRequest {
  std::uint64_t id = 0;
  int index = 0;
};

// What a query returned.
struct MetricResult {
  bool measured = false;  // it answered with exactly one value
  double value = 0;
  std::string detail;  // what it returned, or why it failed
  WallTime at{};       // when it was sent
};

// Store the weight first (when there is one), then journal the event: a
// weight that is in force is never missing from what a revert would undo,
// and a restart that finds file and journal apart pauses (see Restore).
struct Decision {
  std::optional<std::uint32_t> store_green_bp;
  v1::Event event;
};

struct GateRequest {
  std::uint64_t id = 0;
  bool before_revert = false;
  bool before_promotion = false;  // the automatic promotion after the last step's hold
  int step = 0;                   // the step the gates guard (step gates only)
  std::uint64_t writes_on_new_slot = 0;
};

// Which kinds of gates the plan has: the engine only needs to know whether
// to ask; the controller owns and runs the gates themselves.
struct GateProfile {
  bool checks_steps = false;
  bool checks_reverts = false;
  bool checks_promotion = false;
};

class RolloutEngine {
 public:
  struct Options {
    GateProfile gates;
    // How long a failed step gate holds the rollout before it is asked
    // again; zero means one analysis window, so a gate is retried each window.
    Nanos gate_retry{0};
    // In a fleet: a step's hold and analysis start only when StepApplied says
    // every live node applied its weight (breach detection runs meanwhile).
    bool await_apply = false;
  };

  RolloutEngine(std::string id, std::string cutover, v1::Plan plan, state::Slot from_slot,
                Options options);

  // Begins the rollout: journals rollout_started (with the release rolled
  // out, if named) and, when no gate guards the first step, moves to it at once.
  std::vector<Decision> Start(WallTime now, std::uint32_t current_green_bp,
                              const std::string& reason, const std::string& actor,
                              const std::string& release = "");

  // Rebuilds a rollout from its journaled events (the first must be its
  // rollout_started); nullopt when there are none. Every field it uses is
  // checked first (the plan as StartRollout checks it, steps within the
  // plan, weights, slots, times): a journal is outside input once it is on
  // disk. Throws RestoreError naming the event and the field.
  static std::optional<RolloutEngine> Restore(const std::vector<v1::Event>& events,
                                              Options options);
  // After Restore: a running rollout whose step weight is not the one in
  // the state file (the agent died between the two) is paused for a human.
  std::vector<Decision> CheckWeightAfterRestore(WallTime now, state::Control control);

  std::vector<Decision> Tick(const Observation& observation);
  // The gate evaluation the engine waits for, once; the controller runs it
  // off the tick and hands the outcomes to OnGateResults.
  std::optional<GateRequest> TakeGateRequest();
  std::vector<Decision> OnGateResults(std::uint64_t request_id,
                                      const std::vector<gates::GateOutcome>& outcomes,
                                      WallTime now);
  // With await_apply: every live node applied the step's weight, so its hold
  // starts now (journaled as step_applied, which a restore starts it from).
  std::vector<Decision> StepApplied(WallTime now);
  bool awaiting_apply() const { return phase_ == Phase::kAwaitingApply; }
  // The metric queries that are due (each at its interval, one at a time,
  // while the rollout runs a step); the controller runs them off the tick
  // and hands each result to OnMetricResult.
  std::vector<MetricRequest> TakeMetricRequests(WallTime now);
  std::vector<Decision> OnMetricResult(std::uint64_t request_id, const MetricResult& result,
                                       WallTime now);

  // Manual actions. Throw PreconditionFailed when the state forbids them.
  std::vector<Decision> Pause(WallTime now, const std::string& reason, const std::string& actor);
  std::vector<Decision> Resume(WallTime now, const std::string& reason, const std::string& actor);
  std::vector<Decision> Promote(WallTime now, const std::string& reason, const std::string& actor);
  // One step now, whatever its hold and its gates (an operator's override,
  // journaled as a step_advanced by that actor); from the last step, Promote.
  std::vector<Decision> PromoteStep(WallTime now, const std::string& reason,
                                    const std::string& actor);
  std::vector<Decision> Abort(WallTime now, const std::string& reason, const std::string& actor);

  v1::Rollout ToProto(WallTime now) const;
  v1::RolloutState state() const { return state_; }
  bool active() const {
    return state_ == v1::ROLLOUT_STATE_RUNNING || state_ == v1::ROLLOUT_STATE_PAUSED;
  }
  const std::string& id() const { return id_; }
  // Writes the new slot has answered since the rollout began (what a revert
  // would strand).
  std::uint64_t writes_on_new_slot() const {
    return writes_total_ >= writes_at_start_ ? writes_total_ - writes_at_start_ : 0;
  }
  const std::string& cutover() const { return cutover_; }
  const std::string& release() const { return release_; }
  const v1::Plan& plan() const { return plan_; }
  int step() const { return step_; }
  state::Slot from_slot() const { return from_; }
  state::Slot to_slot() const { return state::Other(from_); }
  // Green's weight the current step stands for (the start weight before the first).
  std::uint32_t StepGreenBp(int step) const;
  Nanos HoldElapsed(WallTime now) const;
  std::uint64_t step_healthy_requests() const { return step_healthy_requests_; }
  std::uint32_t consecutive_failing_windows() const { return consecutive_failing_; }

 private:
  enum class Phase { kWatching, kAwaitingStepGates, kAwaitingRevertGates, kAwaitingApply };
  struct MetricState {
    WallTime next_due{};
    std::uint64_t in_flight = 0;  // the request id waited for; 0: none
    MetricResult last;
    bool within = false;         // the last result measured and inside its thresholds
    std::uint32_t failures = 0;  // consecutive queries failed or empty
    std::uint32_t breaches = 0;  // consecutive results outside the thresholds
  };
  struct WarningLatch {
    bool active = false;
    WallTime since{};
  };

  v1::Event NewEvent(const std::string& kind, WallTime now, const std::string& reason,
                     const std::string& actor) const;
  std::uint64_t MinRequests() const;
  Nanos Window() const;
  Nanos GateRetry() const;
  std::uint32_t FailureThreshold() const;
  void RequestGates(int step, bool before_revert, bool before_promotion = false);
  Decision Advance(int step, WallTime now, const v1::Measurement* measurement,
                   const std::vector<gates::GateOutcome>* outcomes,
                   const std::string& actor = "agent", const std::string& why = "");
  std::vector<Decision> Complete(WallTime now, const v1::Measurement& measurement,
                                 const std::vector<gates::GateOutcome>* outcomes = nullptr);
  std::vector<Decision> Breach(WallTime now, const Verdict& verdict);
  Decision Revert(WallTime now, const std::string& reason, const v1::Measurement* measurement,
                  const std::vector<gates::GateOutcome>* outcomes);
  Decision PauseWith(WallTime now, const std::string& reason, const std::string& actor);
  void Record(const Decision& d);
  // Journals a warning for each level newly crossed; re-arms a level once it
  // has been below for a whole window.
  std::vector<Decision> Warn(WallTime now, const std::vector<WarningLevel>& levels,
                             const v1::Measurement& measurement);
  // Every metric check measured healthy since the step began; else why not.
  bool MetricsFresh(std::string* why) const;
  void FillMetric(int index, const MetricState& state, v1::Measurement* m) const;

  std::string id_;
  std::string cutover_;
  v1::Plan plan_;
  state::Slot from_;
  Options options_;

  v1::RolloutState state_ = v1::ROLLOUT_STATE_RUNNING;
  Phase phase_ = Phase::kWatching;
  int step_ = -1;
  std::uint32_t start_green_bp_ = 0;
  std::uint32_t green_bp_ = 0;  // the weight last seen or stored
  WallTime started_at_{};
  WallTime step_started_at_{};
  WallTime paused_at_{};
  WallTime next_gate_attempt_{};
  WallTime last_failure_counted_{};
  std::uint32_t consecutive_failing_ = 0;
  std::uint64_t step_healthy_requests_ = 0;
  bool counters_seen_ = false;
  std::uint64_t last_requests_total_ = 0;
  std::uint64_t writes_at_start_ = 0;
  std::uint64_t writes_total_ = 0;
  bool inconclusive_reported_ = false;
  std::optional<GateRequest> pending_gates_;
  bool gate_request_taken_ = false;
  std::uint64_t next_gate_request_id_ = 1;
  std::vector<gates::GateOutcome> last_gates_;
  v1::Measurement last_measurement_;    // the window that earned the step being gated
  v1::Measurement breach_measurement_;  // the window that breached, while revert gates run
  std::string breach_reason_;
  std::string last_decision_;
  std::string pause_reason_;
  v1::Measurement judged_;  // the last window judged (with the comparison's statistics)
  std::string release_;
  std::optional<Comparison> comparison_;          // analysis.compare
  std::map<std::string, WarningLatch> warnings_;  // by signal
  std::vector<MetricState> metrics_;              // like plan.analysis.metrics
  std::uint64_t next_metric_request_id_ = 1;
};

// How people see a step: "step 2/4" for plan.steps[1].
std::string StepLabel(int step, int steps);

void ToProto(const gates::GateOutcome& outcome, v1::GateResult* out);

}  // namespace cutover::agent
