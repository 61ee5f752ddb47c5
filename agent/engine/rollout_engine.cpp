#include "agent/engine/rollout_engine.hpp"

#include <algorithm>
#include <cstdio>

#include "agent/core/analysis_defaults.hpp"
#include "agent/core/event_kinds.hpp"
#include "agent/core/units.hpp"
#include "agent/core/validation.hpp"

namespace cutover::agent {

namespace {

// What Restore relies on, checked before it converts or indexes anything.
void CheckRestorable(const std::vector<v1::Event>& events) {
  const v1::Event& first = events.front();
  const auto fail = [](std::size_t i, const std::string& problem) {
    throw RestoreError(i, problem);
  };
  if (first.kind() != event_kind::kRolloutStarted)
    fail(0, "kind: a rollout's first event is rollout_started, not \"" + first.kind() + "\"");
  if (!first.has_plan()) fail(0, "plan: rollout_started carries no plan");
  if (first.rollout_id().empty()) fail(0, "rollout_id: must not be empty");
  if (first.from_slot() != v1::SLOT_BLUE && first.from_slot() != v1::SLOT_GREEN)
    fail(0, "from_slot: must be SLOT_BLUE or SLOT_GREEN");
  if (first.to_slot() != v1::SLOT_UNSPECIFIED && first.to_slot() == first.from_slot())
    fail(0, "to_slot: must be the other slot than from_slot");
  try {
    ValidateCutoverName("cutover", first.cutover());
    ValidatePlan(first.plan(), "plan");
  } catch (const InvalidArgument& e) {
    fail(0, e.what());
  }
  const int steps = first.plan().steps_size();
  for (std::size_t i = 0; i < events.size(); ++i) {
    const v1::Event& e = events[i];
    try {
      ValidateTimestamp("time", e.time());
      ValidatePercent("weight_before", e.weight_before());
      ValidatePercent("weight_after", e.weight_after());
    } catch (const InvalidArgument& bad) {
      fail(i, e.kind() + "." + bad.what());
    }
    const int lowest = e.kind() == event_kind::kStepAdvanced ? 0 : -1;
    if (e.step() < lowest || e.step() >= steps)
      fail(i, e.kind() + ".step: " + std::to_string(e.step()) + " is not a step of rollout " +
                  first.rollout_id() + "'s plan (" + std::to_string(steps) + " steps)");
  }
}

std::string FirstFailure(const std::vector<gates::GateOutcome>& outcomes) {
  for (const auto& o : outcomes)
    if (!o.passed) return o.name + ": " + o.detail;
  return "";
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

std::string StepLabel(int step, int steps) {
  return "step " + std::to_string(step + 1) + "/" + std::to_string(steps);
}

void ToProto(const gates::GateOutcome& outcome, v1::GateResult* out) {
  out->set_name(outcome.name);
  out->set_passed(outcome.passed);
  out->set_warning(outcome.warning);
  out->set_detail(outcome.detail);
  *out->mutable_took() = ToProtoDuration(outcome.took);
  out->set_output(outcome.output);
}

RolloutEngine::RolloutEngine(std::string id, std::string cutover, v1::Plan plan,
                             state::Slot from_slot, Options options)
    : id_(std::move(id)),
      cutover_(std::move(cutover)),
      plan_(std::move(plan)),
      from_(from_slot),
      options_(options),
      metrics_(static_cast<std::size_t>(plan_.analysis().metrics_size())) {
  if (plan_.analysis().compare().method() == v1::COMPARE_METHOD_SEQUENTIAL)
    comparison_.emplace(plan_.analysis(), plan_.steps_size());
}

std::uint64_t RolloutEngine::MinRequests() const {
  return std::max<std::uint64_t>(plan_.analysis().min_requests(), 1);
}
Nanos RolloutEngine::Window() const { return FromProto(plan_.analysis().window()); }

Nanos RolloutEngine::GateRetry() const {
  return options_.gate_retry > Nanos{0} ? options_.gate_retry : Window();
}
std::uint32_t RolloutEngine::FailureThreshold() const {
  return std::max<std::uint32_t>(plan_.analysis().failure_threshold(), 1);
}

std::uint32_t RolloutEngine::StepGreenBp(int step) const {
  if (step < 0 || step >= plan_.steps_size()) return start_green_bp_;
  return GreenBpFor(to_slot(), PercentToBp(plan_.steps(step).percent()));
}

Nanos RolloutEngine::HoldElapsed(WallTime now) const {
  if (step_ < 0 || phase_ == Phase::kAwaitingApply) return Nanos(0);
  const WallTime until = state_ == v1::ROLLOUT_STATE_PAUSED ? paused_at_ : now;
  return std::max(Nanos(0), std::chrono::duration_cast<Nanos>(until - step_started_at_));
}

v1::Event RolloutEngine::NewEvent(const std::string& kind, WallTime now, const std::string& reason,
                                  const std::string& actor) const {
  v1::Event e;
  *e.mutable_time() = ToProtoTimestamp(now);
  e.set_cutover(cutover_);
  e.set_kind(kind);
  e.set_reason(reason);
  e.set_rollout_id(id_);
  e.set_step(step_);
  e.set_weight_before(BpToPercent(green_bp_));
  e.set_weight_after(BpToPercent(green_bp_));
  e.set_actor(actor);
  return e;
}

void RolloutEngine::Record(const Decision& d) {
  if (d.store_green_bp) green_bp_ = *d.store_green_bp;
  last_decision_ = d.event.kind() + (d.event.reason().empty() ? "" : ": " + d.event.reason());
}

std::vector<Decision> RolloutEngine::Start(WallTime now, std::uint32_t current_green_bp,
                                           const std::string& reason, const std::string& actor,
                                           const std::string& release) {
  release_ = release;
  started_at_ = now;
  step_started_at_ = now;
  next_gate_attempt_ = now;
  start_green_bp_ = current_green_bp;
  green_bp_ = current_green_bp;
  std::vector<Decision> out;
  Decision started{std::nullopt, NewEvent(event_kind::kRolloutStarted, now, reason, actor)};
  *started.event.mutable_plan() = plan_;
  started.event.set_from_slot(agent::ToProto(from_));
  started.event.set_to_slot(agent::ToProto(to_slot()));
  started.event.set_release(release_);
  Record(started);
  out.push_back(std::move(started));
  if (options_.gates.checks_steps) {
    RequestGates(0, false);
  } else {
    out.push_back(Advance(0, now, nullptr, nullptr));
  }
  return out;
}

std::optional<RolloutEngine> RolloutEngine::Restore(const std::vector<v1::Event>& events,
                                                    Options options) {
  if (events.empty()) return std::nullopt;
  CheckRestorable(events);
  const v1::Event& first = events.front();
  RolloutEngine engine(first.rollout_id(), first.cutover(), first.plan(),
                       FromProto(first.from_slot()), options);
  const WallTime started = FromProto(first.time());
  engine.started_at_ = started;
  engine.step_started_at_ = started;
  engine.next_gate_attempt_ = started;
  engine.start_green_bp_ = PercentToBp(first.weight_before());
  engine.green_bp_ = engine.start_green_bp_;
  engine.release_ = first.release();
  for (const v1::Event& e : events) {
    if (e.rollout_id() != engine.id_) continue;
    const WallTime t = FromProto(e.time());
    const std::string& kind = e.kind();
    if (kind == event_kind::kStepAdvanced) {
      engine.step_ = e.step();
      engine.step_started_at_ = t;
      engine.next_gate_attempt_ = t;
      if (options.await_apply) engine.phase_ = Phase::kAwaitingApply;
    } else if (kind == event_kind::kStepApplied) {
      engine.step_started_at_ = t;
      engine.next_gate_attempt_ = t;
      engine.phase_ = Phase::kWatching;
    } else if (kind == event_kind::kGateFailed) {
      engine.next_gate_attempt_ = t + engine.GateRetry();
    } else if (kind == event_kind::kPaused) {
      engine.state_ = v1::ROLLOUT_STATE_PAUSED;
      engine.paused_at_ = t;
      engine.pause_reason_ = e.reason();
    } else if (kind == event_kind::kResumed) {
      engine.step_started_at_ += t - engine.paused_at_;
      engine.state_ = v1::ROLLOUT_STATE_RUNNING;
      engine.pause_reason_.clear();
    } else if (kind == event_kind::kCompleted || kind == event_kind::kPromoted) {
      engine.state_ = v1::ROLLOUT_STATE_COMPLETED;
      engine.phase_ = Phase::kWatching;
    } else if (kind == event_kind::kReverted) {
      engine.state_ = v1::ROLLOUT_STATE_REVERTED;
      engine.phase_ = Phase::kWatching;
    } else if (kind == event_kind::kAborted) {
      engine.state_ = v1::ROLLOUT_STATE_ABORTED;
      engine.phase_ = Phase::kWatching;
    }
    engine.green_bp_ = PercentToBp(e.weight_after());
    engine.last_decision_ = kind + (e.reason().empty() ? "" : ": " + e.reason());
    if (e.has_measurement()) engine.judged_ = e.measurement();
  }
  // The agent only judges on what it saw itself: the comparison starts again
  // with the step in force (one component: still one test, at alpha).
  if (engine.comparison_ && engine.step_ >= 0) engine.comparison_->BeginStep();
  return engine;
}

std::vector<Decision> RolloutEngine::CheckWeightAfterRestore(WallTime now, state::Control control) {
  green_bp_ = control.weight_bp;
  if (state_ != v1::ROLLOUT_STATE_RUNNING || step_ < 0) return {};
  const std::uint32_t expected = StepGreenBp(step_);
  if (control.weight_bp == expected) return {};
  Decision d =
      PauseWith(now,
                "after a restart the state file holds " + FormatBpPercent(control.weight_bp) +
                    " green, not " + StepLabel(step_, plan_.steps_size()) + "'s " +
                    FormatBpPercent(expected) + ": paused for an operator",
                "agent");
  return {std::move(d)};
}

void RolloutEngine::RequestGates(int step, bool before_revert, bool before_promotion) {
  phase_ = before_revert ? Phase::kAwaitingRevertGates : Phase::kAwaitingStepGates;
  pending_gates_ = GateRequest{next_gate_request_id_++, before_revert, before_promotion, step,
                               writes_on_new_slot()};
  gate_request_taken_ = false;
}

std::optional<GateRequest> RolloutEngine::TakeGateRequest() {
  if (!pending_gates_ || gate_request_taken_) return std::nullopt;
  gate_request_taken_ = true;
  return pending_gates_;
}

Decision RolloutEngine::Advance(int step, WallTime now, const v1::Measurement* measurement,
                                const std::vector<gates::GateOutcome>* outcomes,
                                const std::string& actor, const std::string& why) {
  const std::uint32_t target = StepGreenBp(step);
  Decision d{target, NewEvent(event_kind::kStepAdvanced, now,
                              StepLabel(step, plan_.steps_size()) + ": " +
                                  FormatBpPercent(PercentToBp(plan_.steps(step).percent())) +
                                  " to " + state::SlotName(to_slot()) + ", hold " +
                                  FormatDuration(FromProto(plan_.steps(step).hold())) +
                                  (why.empty() ? "" : " (" + why + ")"),
                              actor)};
  d.event.set_step(step);
  d.event.set_weight_after(BpToPercent(target));
  if (measurement != nullptr) *d.event.mutable_measurement() = *measurement;
  if (outcomes != nullptr)
    for (const auto& o : *outcomes) agent::ToProto(o, d.event.add_gates());
  step_ = step;
  step_started_at_ = now;
  next_gate_attempt_ = now;
  step_healthy_requests_ = 0;
  consecutive_failing_ = 0;
  inconclusive_reported_ = false;
  phase_ = options_.await_apply ? Phase::kAwaitingApply : Phase::kWatching;
  // Each step warns afresh, and its metric checks measure it afresh.
  warnings_.clear();
  for (auto& m : metrics_) m.breaches = 0;
  if (comparison_) comparison_->BeginStep();
  Record(d);
  return d;
}

std::vector<Decision> RolloutEngine::StepApplied(WallTime now) {
  if (phase_ != Phase::kAwaitingApply || state_ != v1::ROLLOUT_STATE_RUNNING || step_ < 0)
    return {};
  phase_ = Phase::kWatching;
  step_started_at_ = now;
  next_gate_attempt_ = now;
  step_healthy_requests_ = 0;
  inconclusive_reported_ = false;
  // The step's evidence starts here: nothing from the partial split counts.
  warnings_.clear();
  for (auto& m : metrics_) m.breaches = 0;
  if (comparison_) comparison_->BeginStep();
  Decision d{std::nullopt, NewEvent(event_kind::kStepApplied, now,
                                    StepLabel(step_, plan_.steps_size()) +
                                        " applied by every live node of the fleet: its hold starts",
                                    "agent")};
  Record(d);
  return {std::move(d)};
}

std::vector<Decision> RolloutEngine::Complete(WallTime now, const v1::Measurement& measurement,
                                              const std::vector<gates::GateOutcome>* outcomes) {
  const std::uint32_t full = GreenBpFor(to_slot(), state::kWeightScale);
  Decision d{std::nullopt,
             NewEvent(event_kind::kCompleted, now,
                      std::string(state::SlotName(to_slot())) + " is live: every step held healthy",
                      "agent")};
  if (green_bp_ != full) d.store_green_bp = full;
  d.event.set_weight_after(BpToPercent(full));
  *d.event.mutable_measurement() = measurement;
  if (outcomes != nullptr)
    for (const auto& o : *outcomes) agent::ToProto(o, d.event.add_gates());
  state_ = v1::ROLLOUT_STATE_COMPLETED;
  phase_ = Phase::kWatching;
  Record(d);
  return {std::move(d)};
}

Decision RolloutEngine::Revert(WallTime now, const std::string& reason,
                               const v1::Measurement* measurement,
                               const std::vector<gates::GateOutcome>* outcomes) {
  const std::uint32_t back = GreenBpFor(from_, state::kWeightScale);
  Decision d{back, NewEvent(event_kind::kReverted, now, reason, "agent")};
  d.event.set_weight_after(BpToPercent(back));
  if (measurement != nullptr) *d.event.mutable_measurement() = *measurement;
  if (outcomes != nullptr)
    for (const auto& o : *outcomes) agent::ToProto(o, d.event.add_gates());
  state_ = v1::ROLLOUT_STATE_REVERTED;
  phase_ = Phase::kWatching;
  pending_gates_.reset();
  Record(d);
  return d;
}

Decision RolloutEngine::PauseWith(WallTime now, const std::string& reason,
                                  const std::string& actor) {
  Decision d{std::nullopt, NewEvent(event_kind::kPaused, now, reason, actor)};
  state_ = v1::ROLLOUT_STATE_PAUSED;
  paused_at_ = now;
  pause_reason_ = reason;
  // A step not yet applied everywhere still waits for that after a resume.
  if (phase_ != Phase::kAwaitingApply) phase_ = Phase::kWatching;
  pending_gates_.reset();
  Record(d);
  return d;
}

std::vector<Decision> RolloutEngine::Breach(WallTime now, const Verdict& verdict) {
  std::vector<Decision> out;
  Decision breach{std::nullopt, NewEvent(event_kind::kBreach, now, verdict.reason, "agent")};
  *breach.event.mutable_measurement() = verdict.measurement;
  Record(breach);
  out.push_back(std::move(breach));
  if (plan_.on_breach() == v1::BREACH_ACTION_PAUSE) {
    Decision d = PauseWith(now, "breach: " + verdict.reason, "agent");
    *d.event.mutable_measurement() = verdict.measurement;
    out.push_back(std::move(d));
  } else if (options_.gates.checks_reverts) {
    breach_measurement_ = verdict.measurement;
    breach_reason_ = verdict.reason;
    RequestGates(step_, true);
  } else {
    out.push_back(Revert(now, "breach: " + verdict.reason, &verdict.measurement, nullptr));
  }
  return out;
}

std::vector<Decision> RolloutEngine::Tick(const Observation& obs) {
  std::uint64_t served = 0;
  if (!counters_seen_) {
    counters_seen_ = true;
    writes_at_start_ = obs.new_totals.writes;
  } else if (obs.new_totals.requests >= last_requests_total_) {
    served = obs.new_totals.requests - last_requests_total_;
  }
  last_requests_total_ = obs.new_totals.requests;
  writes_total_ = obs.new_totals.writes;
  green_bp_ = obs.control.weight_bp;

  if (state_ != v1::ROLLOUT_STATE_RUNNING) {
    if (comparison_) comparison_->Rebase();  // a paused rollout's ticks are no evidence
    return {};
  }
  if (phase_ == Phase::kAwaitingRevertGates) return {};
  const WallTime now = obs.now;

  if (step_ < 0) {
    if (phase_ == Phase::kAwaitingStepGates || now < next_gate_attempt_) return {};
    if (options_.gates.checks_steps) {
      RequestGates(0, false);
      return {};
    }
    return {Advance(0, now, nullptr, nullptr)};
  }

  if (comparison_) comparison_->Observe(obs.control.epoch, obs.new_totals, obs.old_totals);
  Verdict verdict = JudgeWindow(plan_.analysis(), obs.new_slot, obs.old_slot);
  if (comparison_) comparison_->Fill(&verdict.measurement);
  if (obs.evidence_since != WallTime{})
    *verdict.measurement.mutable_evidence_since() = ToProtoTimestamp(obs.evidence_since);
  judged_ = verdict.measurement;
  std::vector<Decision> out = Warn(now, verdict.warnings, verdict.measurement);

  // The sequential comparison is valid at every tick: crossing its bound is a
  // breach at once (failure_threshold counts windows, not evidence).
  const Comparison::Finding finding =
      comparison_ ? comparison_->finding() : Comparison::Finding::kNone;
  if (finding != Comparison::Finding::kNone) {
    Verdict found = verdict;
    found.kind = Verdict::Kind::kFailing;
    found.reason = comparison_->Reason(finding);
    found.measurement.set_signal(finding == Comparison::Finding::kErrorsWorse ? "compare_errors"
                                                                              : "compare_latency");
    for (Decision& d : Breach(now, found)) out.push_back(std::move(d));
    return out;
  }
  if (verdict.failing()) {
    // Windows slide every tick; a failure counts again only once a whole
    // window has passed, so the threshold counts distinct windows.
    if (consecutive_failing_ == 0 || now - last_failure_counted_ >= Window()) {
      ++consecutive_failing_;
      last_failure_counted_ = now;
    }
    if (consecutive_failing_ >= FailureThreshold())
      for (Decision& d : Breach(now, verdict)) out.push_back(std::move(d));
    return out;
  }
  // Not every node has the step's weight yet: nothing counts towards it.
  if (phase_ == Phase::kAwaitingApply) return out;
  if (verdict.healthy()) {
    consecutive_failing_ = 0;
    step_healthy_requests_ += served;
  }
  if (phase_ == Phase::kAwaitingStepGates) return out;

  const Nanos hold = FromProto(plan_.steps(step_).hold());
  const bool hold_over = HoldElapsed(now) >= hold;
  const bool early = !hold_over && comparison_ && comparison_->promote_ready();
  if (!hold_over && !early) return out;
  std::string metrics_why;
  const bool metrics_fresh = MetricsFresh(&metrics_why);
  if (verdict.healthy() && step_healthy_requests_ >= MinRequests() && metrics_fresh) {
    v1::Measurement m = verdict.measurement;
    if (early) m.set_signal("promote_early");
    const bool last = step_ + 1 >= plan_.steps_size();
    if (last && !options_.gates.checks_promotion) {
      for (Decision& d : Complete(now, m)) out.push_back(std::move(d));
      return out;
    }
    if (!last && !options_.gates.checks_steps) {
      out.push_back(Advance(step_ + 1, now, &m, nullptr));
      if (early)
        out.back().event.set_reason(out.back().event.reason() + " (early: " +
                                    comparison_->Reason(Comparison::Finding::kNone) + ")");
      return out;
    }
    if (now >= next_gate_attempt_) {
      last_measurement_ = m;
      RequestGates(step_ + 1, false, last);
    }
    return out;
  }
  if (hold_over && !inconclusive_reported_ && (!verdict.healthy() || !metrics_fresh)) {
    // Reported once per step: the hold is over but the numbers do not allow a move.
    inconclusive_reported_ = true;
    const std::string why = !verdict.healthy() ? verdict.reason : metrics_why;
    Decision d{std::nullopt, NewEvent(event_kind::kInconclusive, now,
                                      "hold over, not advancing: " + why, "agent")};
    *d.event.mutable_measurement() = verdict.measurement;
    Record(d);
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<Decision> RolloutEngine::Warn(WallTime now, const std::vector<WarningLevel>& levels,
                                          const v1::Measurement& measurement) {
  std::vector<Decision> out;
  for (const WarningLevel& level : levels) {
    WarningLatch& latch = warnings_[level.signal];
    if (level.crossed && !latch.active) {
      latch = WarningLatch{true, now};
      Decision d{std::nullopt, NewEvent(event_kind::kWarning, now,
                                        "warning: " + level.reason + " (not acting)", "agent")};
      *d.event.mutable_measurement() = measurement;
      d.event.mutable_measurement()->set_signal(
          level.signal.rfind("metric:", 0) == 0 ? "metric" : level.signal);
      Record(d);
      out.push_back(std::move(d));
    } else if (!level.crossed && latch.active && now - latch.since >= Window()) {
      latch.active = false;  // below for a whole window: the next crossing warns again
    } else if (level.crossed) {
      latch.since = now;
    }
  }
  return out;
}

bool RolloutEngine::MetricsFresh(std::string* why) const {
  for (std::size_t i = 0; i < metrics_.size(); ++i) {
    const MetricState& m = metrics_[i];
    const std::string& name = plan_.analysis().metrics(static_cast<int>(i)).name();
    if (!m.last.measured || m.last.at < step_started_at_) {
      *why = "metric " + name + " has no measurement since the step began" +
             (m.last.detail.empty() || m.last.measured ? "" : " (last: " + m.last.detail + ")");
      return false;
    }
    if (!m.within) {
      *why = "metric " + name + " is outside its thresholds (" + Number(m.last.value) + ")";
      return false;
    }
  }
  return true;
}

std::vector<MetricRequest> RolloutEngine::TakeMetricRequests(WallTime now) {
  std::vector<MetricRequest> out;
  if (state_ != v1::ROLLOUT_STATE_RUNNING || step_ < 0 || phase_ == Phase::kAwaitingRevertGates)
    return out;
  for (std::size_t i = 0; i < metrics_.size(); ++i) {
    MetricState& m = metrics_[i];
    if (m.in_flight != 0 || now < m.next_due) continue;
    m.in_flight = next_metric_request_id_++;
    out.push_back(MetricRequest{m.in_flight, static_cast<int>(i)});
  }
  return out;
}

void RolloutEngine::FillMetric(int index, const MetricState& state, v1::Measurement* m) const {
  const v1::MetricCheck& check = plan_.analysis().metrics(index);
  m->set_metric(check.name());
  m->set_metric_value(state.last.value);
  m->set_metric_detail(state.last.detail);
  if (check.has_max()) m->set_metric_max(check.max());
  if (check.has_min()) m->set_metric_min(check.min());
  m->set_metric_failures(state.failures);
}

std::vector<Decision> RolloutEngine::OnMetricResult(std::uint64_t request_id,
                                                    const MetricResult& result, WallTime now) {
  auto it = std::find_if(metrics_.begin(), metrics_.end(),
                         [&](const MetricState& m) { return m.in_flight == request_id; });
  if (request_id == 0 || it == metrics_.end()) return {};  // stale
  const int index = static_cast<int>(it - metrics_.begin());
  const v1::MetricCheck& check = plan_.analysis().metrics(index);
  MetricState& m = *it;
  m.in_flight = 0;
  m.next_due = result.at + MetricInterval(check);
  m.last = result;
  m.within = false;
  if (state_ != v1::ROLLOUT_STATE_RUNNING || phase_ == Phase::kAwaitingRevertGates) return {};

  v1::Measurement measurement = judged_;
  if (!result.measured) {
    // Inconclusive, never healthy; a run of them means the rollout goes blind.
    ++m.failures;
    if (m.failures < MetricFailureLimit(check)) return {};
    FillMetric(index, m, &measurement);
    measurement.set_signal("metric_failed");
    Decision d =
        PauseWith(now,
                  "metric " + check.name() + ": " + std::to_string(m.failures) +
                      " queries in a row failed or returned nothing (last: " + result.detail + ")",
                  "agent");
    *d.event.mutable_measurement() = measurement;
    m.failures = 0;
    return {std::move(d)};
  }
  m.failures = 0;
  const bool above = check.has_max() && result.value > check.max();
  const bool below = check.has_min() && result.value < check.min();
  FillMetric(index, m, &measurement);
  if (above || below) {
    ++m.breaches;
    if (m.breaches < FailureThreshold()) return {};
    Verdict v;
    v.kind = Verdict::Kind::kFailing;
    v.reason = "metric " + check.name() + " = " + Number(result.value) +
               (above ? ", above the maximum " + Number(check.max())
                      : ", below the minimum " + Number(check.min()));
    v.measurement = measurement;
    v.measurement.set_signal("metric");
    return Breach(now, v);
  }
  m.breaches = 0;
  m.within = true;
  std::vector<WarningLevel> levels;
  if (check.has_warn_max() || check.has_warn_min()) {
    const bool warn_above = check.has_warn_max() && result.value > check.warn_max();
    const bool warn_below = check.has_warn_min() && result.value < check.warn_min();
    levels.push_back({"metric:" + check.name(), warn_above || warn_below,
                      "metric " + check.name() + " = " + Number(result.value) +
                          (warn_above ? ", above the warning level " + Number(check.warn_max())
                                      : ", below the warning level " + Number(check.warn_min()))});
  }
  return Warn(now, levels, measurement);
}

std::vector<Decision> RolloutEngine::OnGateResults(std::uint64_t request_id,
                                                   const std::vector<gates::GateOutcome>& outcomes,
                                                   WallTime now) {
  if (!pending_gates_ || pending_gates_->id != request_id) return {};  // stale
  const GateRequest request = *pending_gates_;
  pending_gates_.reset();
  last_gates_ = outcomes;
  const bool passed = std::all_of(outcomes.begin(), outcomes.end(),
                                  [](const gates::GateOutcome& o) { return o.passed; });
  if (state_ != v1::ROLLOUT_STATE_RUNNING) {
    phase_ = Phase::kWatching;
    return {};
  }
  if (request.before_revert) {
    phase_ = Phase::kWatching;
    if (!passed) {
      Decision d = PauseWith(
          now, "breach: " + breach_reason_ + "; revert held by gate " + FirstFailure(outcomes),
          "agent");
      *d.event.mutable_measurement() = breach_measurement_;
      for (const auto& o : outcomes) agent::ToProto(o, d.event.add_gates());
      return {std::move(d)};
    }
    return {Revert(now, "breach: " + breach_reason_, &breach_measurement_, &outcomes)};
  }
  phase_ = Phase::kWatching;
  if (!passed) {
    next_gate_attempt_ = now + GateRetry();
    const std::string before =
        request.before_promotion ? "promotion" : StepLabel(request.step, plan_.steps_size());
    Decision d{std::nullopt,
               NewEvent(event_kind::kGateFailed, now,
                        "holding before " + before + ": " + FirstFailure(outcomes), "agent")};
    for (const auto& o : outcomes) agent::ToProto(o, d.event.add_gates());
    Record(d);
    return {std::move(d)};
  }
  if (request.before_promotion) return Complete(now, last_measurement_, &outcomes);
  return {Advance(request.step, now, request.step == 0 ? nullptr : &last_measurement_, &outcomes)};
}

std::vector<Decision> RolloutEngine::Pause(WallTime now, const std::string& reason,
                                           const std::string& actor) {
  if (state_ != v1::ROLLOUT_STATE_RUNNING)
    throw PreconditionFailed("rollout " + id_ + " is not running");
  return {PauseWith(now, reason.empty() ? "paused by " + actor : reason, actor)};
}

std::vector<Decision> RolloutEngine::Resume(WallTime now, const std::string& reason,
                                            const std::string& actor) {
  if (state_ != v1::ROLLOUT_STATE_PAUSED)
    throw PreconditionFailed("rollout " + id_ + " is not paused");
  // The hold goes on from where it stopped: paused time does not count.
  step_started_at_ += now - paused_at_;
  state_ = v1::ROLLOUT_STATE_RUNNING;
  if (phase_ != Phase::kAwaitingApply) phase_ = Phase::kWatching;
  consecutive_failing_ = 0;
  for (auto& m : metrics_) m.failures = m.breaches = 0;
  inconclusive_reported_ = false;
  pause_reason_.clear();
  Decision d{std::nullopt, NewEvent(event_kind::kResumed, now, reason, actor)};
  Record(d);
  return {std::move(d)};
}

std::vector<Decision> RolloutEngine::Promote(WallTime now, const std::string& reason,
                                             const std::string& actor) {
  if (!active()) throw PreconditionFailed("rollout " + id_ + " has ended");
  const std::uint32_t full = GreenBpFor(to_slot(), state::kWeightScale);
  Decision d{full, NewEvent(event_kind::kPromoted, now, reason, actor)};
  d.event.set_weight_after(BpToPercent(full));
  state_ = v1::ROLLOUT_STATE_COMPLETED;
  phase_ = Phase::kWatching;
  pending_gates_.reset();
  Record(d);
  return {std::move(d)};
}

std::vector<Decision> RolloutEngine::PromoteStep(WallTime now, const std::string& reason,
                                                 const std::string& actor) {
  if (state_ != v1::ROLLOUT_STATE_RUNNING)
    throw PreconditionFailed("rollout " + id_ + " is not running" +
                             (state_ == v1::ROLLOUT_STATE_PAUSED ? " (resume it first)" : ""));
  // The last step promoted is the whole rollout promoted.
  if (step_ + 1 >= plan_.steps_size()) return Promote(now, reason, actor);
  // An operator's override, as promote is: pending step gates are not waited for.
  pending_gates_.reset();
  return {Advance(step_ + 1, now, nullptr, nullptr, actor,
                  "promoted by " + actor + (reason.empty() ? "" : ": " + reason))};
}

std::vector<Decision> RolloutEngine::Abort(WallTime now, const std::string& reason,
                                           const std::string& actor) {
  if (!active()) throw PreconditionFailed("rollout " + id_ + " has ended");
  const std::uint32_t back = GreenBpFor(from_, state::kWeightScale);
  Decision d{back, NewEvent(event_kind::kAborted, now, reason, actor)};
  d.event.set_weight_after(BpToPercent(back));
  state_ = v1::ROLLOUT_STATE_ABORTED;
  phase_ = Phase::kWatching;
  pending_gates_.reset();
  Record(d);
  return {std::move(d)};
}

v1::Rollout RolloutEngine::ToProto(WallTime now) const {
  v1::Rollout r;
  r.set_id(id_);
  r.set_cutover(cutover_);
  r.set_state(state_);
  *r.mutable_plan() = plan_;
  r.set_step(step_);
  r.set_from_slot(agent::ToProto(from_));
  r.set_to_slot(agent::ToProto(to_slot()));
  *r.mutable_started_at() = ToProtoTimestamp(started_at_);
  *r.mutable_step_started_at() = ToProtoTimestamp(step_started_at_);
  const Nanos elapsed = HoldElapsed(now);
  *r.mutable_hold_elapsed() = ToProtoDuration(elapsed);
  const Nanos hold = step_ >= 0 ? FromProto(plan_.steps(step_).hold()) : Nanos(0);
  *r.mutable_hold_remaining() = ToProtoDuration(std::max(Nanos(0), hold - elapsed));
  r.set_step_healthy_requests(step_healthy_requests_);
  r.set_consecutive_failing_windows(consecutive_failing_);
  r.set_last_decision(last_decision_);
  r.set_pause_reason(pause_reason_);
  for (const auto& o : last_gates_) agent::ToProto(o, r.add_gates());
  // A judged window always has its (positive) span: none before the first tick.
  if (judged_.has_window()) *r.mutable_judged() = judged_;
  r.set_release(release_);
  for (std::size_t i = 0; i < metrics_.size(); ++i) {
    const MetricState& m = metrics_[i];
    v1::MetricStatus* ms = r.add_metrics();
    ms->set_name(plan_.analysis().metrics(static_cast<int>(i)).name());
    ms->set_measured(m.last.measured);
    ms->set_value(m.last.value);
    ms->set_healthy(m.within && m.last.at >= step_started_at_);
    ms->set_detail(m.last.detail);
    ms->set_consecutive_failures(m.failures);
    if (m.last.at != WallTime{}) *ms->mutable_measured_at() = ToProtoTimestamp(m.last.at);
  }
  for (const auto& [signal, latch] : warnings_)
    if (latch.active) r.add_warnings(signal);
  r.set_awaiting_apply(phase_ == Phase::kAwaitingApply);
  return r;
}

}  // namespace cutover::agent
