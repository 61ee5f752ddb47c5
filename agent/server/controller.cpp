#include "agent/server/controller.hpp"

#include <algorithm>
#include <cstdio>

#include "agent/core/event_kinds.hpp"
#include "agent/core/log.hpp"
#include "agent/core/units.hpp"
#include "agent/core/validation.hpp"

namespace cutover::agent {

namespace {

constexpr std::size_t kDefaultHistoryLimit = 100;
constexpr std::size_t kMaxHistoryLimit = 10000;

std::string EventLine(const v1::Event& e) {
  char weights[96];
  std::snprintf(weights, sizeof weights, " green %.2f%% -> %.2f%% (epoch %llu)", e.weight_before(),
                e.weight_after(), static_cast<unsigned long long>(e.epoch()));
  return e.cutover() + ": " + e.kind() + weights + (e.reason().empty() ? "" : " - " + e.reason());
}

}  // namespace

// A rollout as callers see it: without the passwords of its gates' DSNs.
static v1::Rollout RolloutView(const RolloutEngine& engine, WallTime now) {
  v1::Rollout r = engine.ToProto(now);
  RedactPlan(r.mutable_plan());
  return r;
}

std::string ActorFromPeer(const std::string& peer) {
  if (peer.rfind("unix:", 0) == 0) return "unix";
  return peer.empty() ? "unknown" : peer;
}

Controller::Controller(Dependencies deps, Options options)
    : deps_(std::move(deps)),
      options_(options),
      history_(options.default_window),
      pooled_history_(options.default_window) {
  if (deps_.role != nullptr) role_generation_ = deps_.role->Generation();
}

// ------------------------------------------------------------------ state file

bool Controller::EnsureFile() {
  if (file_ && !file_->Replaced()) return true;
  if (file_) {
    LogWarning("state file " + deps_.state_path + " was replaced: reopening, counters restart");
    file_.reset();
    history_.Clear();
  }
  try {
    file_.emplace(state::StateFile::Open(deps_.state_path));
    file_error_.clear();
    LogInfo("state file " + deps_.state_path + " open");
    return true;
  } catch (const state::StateFileError& e) {
    if (file_error_ != e.what()) LogWarning(std::string(e.what()) + " (retrying every tick)");
    file_error_ = e.what();
    return false;
  }
}

state::StateFile& Controller::File() {
  if (!EnsureFile()) throw ApiError(grpc::StatusCode::UNAVAILABLE, file_error_);
  return *file_;
}

state::RecordSnapshot Controller::Snapshot(const std::string& field, const std::string& cutover) {
  try {
    ValidateCutoverName(field, cutover);
  } catch (const InvalidArgument& e) {
    throw ApiError(grpc::StatusCode::INVALID_ARGUMENT, e.what());
  }
  auto snap = File().Snapshot(cutover);
  if (!snap)
    throw ApiError(grpc::StatusCode::INVALID_ARGUMENT, field + ": unknown cutover \"" + cutover +
                                                           "\" (not in " + deps_.state_path + ")");
  return *snap;
}

// ------------------------------------------------------------------ journal

void Controller::RestoreFromJournal() {
  std::lock_guard lock(mutex_);
  if (auto last = RestoreLocked()) bus_.Publish(*last);  // WatchEvents counts from here
}

RolloutEngine::Options Controller::EngineOptions(const GateSet& gates) const {
  return RolloutEngine::Options{ProfileOf(gates), options_.gate_retry,
                                /*await_apply=*/deps_.role != nullptr};
}

std::optional<v1::Event> Controller::RestoreLocked() {
  std::vector<v1::Event> events = deps_.journal->ReadAll();
  std::map<std::string, std::vector<v1::Event>> last_rollout;  // by cutover
  for (const auto& e : events) {
    if (e.kind() == event_kind::kRolloutStarted) {
      last_rollout[e.cutover()] = {e};
    } else if (!e.rollout_id().empty()) {
      auto it = last_rollout.find(e.cutover());
      if (it != last_rollout.end() && it->second.front().rollout_id() == e.rollout_id())
        it->second.push_back(e);
    }
  }
  std::map<std::string, RolloutEntry> restored;
  for (auto& [cutover, rollout_events] : last_rollout) {
    std::shared_ptr<GateSet> gates;
    try {
      gates = deps_.gate_factory(rollout_events.front().plan().gates());
    } catch (const std::exception& e) {
      LogError(cutover + ": cannot rebuild the gates of rollout " +
               rollout_events.front().rollout_id() + ": " + e.what() + "; restoring without them");
      gates = std::make_shared<GateSet>();
    }
    auto engine = RolloutEngine::Restore(rollout_events, EngineOptions(*gates));
    if (!engine) continue;
    LogInfo(cutover + ": restored rollout " + engine->id() + " (" +
            v1::RolloutState_Name(engine->state()) + ", step " + std::to_string(engine->step()) +
            ") from the journal");
    restored[cutover] =
        RolloutEntry{std::make_unique<RolloutEngine>(std::move(*engine)), gates, false};
  }
  rollouts_ = std::move(restored);
  {
    // Gate answers to the engines just replaced would match their request ids.
    std::lock_guard replies_lock(replies_mutex_);
    replies_.clear();
  }
  UpdateRetention();
  if (events.empty()) return std::nullopt;
  return events.back();
}

// In a fleet, whoever decided last may be another agent: a new generation
// of the role rebuilds every rollout from the shared journal.
void Controller::FollowRole() {
  if (deps_.role == nullptr) return;
  const std::uint64_t generation = deps_.role->Generation();
  if (generation == role_generation_) return;
  try {
    RestoreLocked();
    role_generation_ = generation;
    follow_error_.clear();
  } catch (const JournalError& e) {
    if (follow_error_ != e.what())
      LogWarning(
          std::string("cannot rebuild the rollouts from the journal (retrying every tick): ") +
          e.what());
    follow_error_ = e.what();
  }
}

void Controller::Publish(v1::Event& event) {
  if (event.has_plan()) RedactPlan(event.mutable_plan());
  try {
    deps_.journal->Append(event);
  } catch (const JournalError& e) {
    // The decision stands (a revert must not wait on a disk); say so loudly.
    LogError(std::string("journal: ") + e.what() + ": event not journaled: " + EventLine(event));
  }
  LogInfo(EventLine(event));
  bus_.Publish(event);
  for (ControllerListener* listener : deps_.listeners) listener->OnEvent(event);
}

void Controller::Execute(RolloutEngine& engine, std::vector<Decision> decisions) {
  // Every store of the batch first, then the journal: a revert never waits
  // on an fsync or a database round trip (not even for its own breach event).
  std::uint64_t epoch = 0;
  if (file_)
    if (auto control = file_->ReadControl(engine.cutover())) epoch = control->epoch;
  for (Decision& d : decisions) {
    if (d.store_green_bp) {
      try {
        epoch = StoreWeight(engine.cutover(), *d.store_green_bp, d.event);
      } catch (const ApiError&) {
        throw;  // refused: nothing of the batch stands
      } catch (const std::exception& e) {
        LogError(engine.cutover() + ": cannot store weight: " + e.what());
        d.event.set_reason(d.event.reason() + " [weight store failed: " + e.what() + "]");
        d.event.set_weight_after(d.event.weight_before());
      }
    }
    d.event.set_epoch(epoch);
  }
  for (Decision& d : decisions) Publish(d.event);
}

std::uint64_t Controller::StoreWeight(const std::string& cutover, std::uint32_t green_bp,
                                      const v1::Event& decision) {
  if (deps_.weights != nullptr) return deps_.weights->Store(File(), cutover, green_bp, decision);
  return File().StoreWeight(cutover, green_bp).epoch;
}

// ------------------------------------------------------------------ gates

GateProfile Controller::ProfileOf(const GateSet& gates) const {
  GateProfile p;
  for (const auto& g : gates) {
    p.checks_steps = p.checks_steps || g->checks_steps();
    p.checks_reverts = p.checks_reverts || g->checks_reverts();
  }
  return p;
}

void Controller::DispatchGates(RolloutEntry& slot) {
  auto request = slot.engine->TakeGateRequest();
  if (!request) return;
  gates::GateContext context;
  context.cutover = slot.engine->cutover();
  context.before_revert = request->before_revert;
  context.writes_on_new_slot = request->writes_on_new_slot;
  GateReply reply{slot.engine->cutover(), slot.engine->id(), request->id, {}};
  if (deps_.gate_runner == nullptr) {
    reply.outcomes = EvaluateGates(*slot.gates, context);
    std::lock_guard lock(replies_mutex_);
    replies_.push_back(std::move(reply));
    return;
  }
  deps_.gate_runner->Submit(slot.gates, context,
                            [this, reply](std::vector<gates::GateOutcome> outcomes) mutable {
                              reply.outcomes = std::move(outcomes);
                              std::lock_guard lock(replies_mutex_);
                              replies_.push_back(std::move(reply));
                            });
}

void Controller::DrainGateReplies(WallTime now) {
  std::vector<GateReply> replies;
  {
    std::lock_guard lock(replies_mutex_);
    replies.swap(replies_);
  }
  for (auto& reply : replies) {
    auto it = rollouts_.find(reply.cutover);
    if (it == rollouts_.end() || it->second.engine->id() != reply.rollout_id) continue;
    Execute(*it->second.engine,
            it->second.engine->OnGateResults(reply.request_id, reply.outcomes, now));
  }
}

void Controller::UpdateRetention() {
  Nanos longest = options_.default_window;
  for (const auto& [name, slot] : rollouts_)
    if (slot.engine->active())
      longest = std::max(longest, FromProto(slot.engine->plan().analysis().window()));
  // A little more than the window, so a full window always has a base sample.
  history_.SetRetention(longest + longest / 10);
  pooled_history_.SetRetention(longest + longest / 10);
}

// ------------------------------------------------------------------ tick

void Controller::Tick(SteadyTime at) {
  std::lock_guard lock(mutex_);
  if (!EnsureFile()) return;
  const WallTime now = deps_.clock->Now();
  std::vector<state::RecordSnapshot> records = file_->SnapshotAll();
  history_.Add(at, records);
  // In a fleet the rollouts are judged on every live node's counters.
  std::vector<state::RecordSnapshot> pooled;
  if (deps_.pool != nullptr) {
    pooled = deps_.pool->Pool(records);
    pooled_history_.Add(at, pooled);
  }
  const std::vector<state::RecordSnapshot>& judged = deps_.pool != nullptr ? pooled : records;
  const CounterHistory& judged_history = deps_.pool != nullptr ? pooled_history_ : history_;
  FollowRole();
  const bool deciding = Deciding();
  if (deciding) DrainGateReplies(now);
  for (auto& [cutover, slot] : rollouts_) {
    RolloutEngine& engine = *slot.engine;
    if (!deciding || !engine.active()) continue;
    auto record = std::find_if(judged.begin(), judged.end(),
                               [&](const auto& r) { return r.name == cutover; });
    if (record == judged.end()) continue;  // nginx no longer has it: hold still
    try {
      if (!slot.weight_checked) {
        slot.weight_checked = true;
        Execute(engine, engine.CheckWeightAfterRestore(now, record->control));
      }
      if (engine.awaiting_apply() && deps_.role->Applied(cutover))
        Execute(engine, engine.StepApplied(now));
      const Nanos window = FromProto(engine.plan().analysis().window());
      Observation obs;
      obs.now = now;
      obs.control = record->control;
      obs.new_slot = judged_history.Window(cutover, engine.to_slot(), window);
      obs.old_slot = judged_history.Window(cutover, engine.from_slot(), window);
      obs.new_slot_requests_total = record->slot(engine.to_slot()).requests;
      obs.new_slot_writes_total = record->slot(engine.to_slot()).writes;
      Execute(engine, engine.Tick(obs));
      DispatchGates(slot);
    } catch (const ApiError& e) {
      // A decision the fleet refused: nothing of it stands, and the role's
      // next generation rebuilds this rollout from the shared journal.
      LogWarning(cutover + ": " + e.what());
    }
  }
  if (!deps_.listeners.empty()) {
    std::map<std::string, v1::Rollout> rollouts;
    for (const auto& [cutover, slot] : rollouts_) rollouts[cutover] = slot.engine->ToProto(now);
    for (ControllerListener* listener : deps_.listeners) listener->OnTick(records, rollouts);
  }
}

// ------------------------------------------------------------------ status

v1::SlotStats Controller::Stats(const state::RecordSnapshot& record, state::Slot slot,
                                Nanos window) {
  const state::SlotSnapshot& s = record.slot(slot);
  v1::SlotStats out;
  out.set_requests(s.requests);
  out.set_responses_1xx(s.responses[0]);
  out.set_responses_2xx(s.responses[1]);
  out.set_responses_3xx(s.responses[2]);
  out.set_responses_4xx(s.responses[3]);
  out.set_responses_5xx(s.responses[4]);
  out.set_failures(s.failures);
  out.set_failovers(s.failovers);
  out.set_writes(s.writes);
  const WindowStats w = history_.Window(record.name, slot, window);
  out.set_requests_per_second(w.requests_per_second());
  out.set_error_rate(w.error_rate());
  out.set_p50_ms(w.p50_ms);
  out.set_p95_ms(w.p95_ms);
  out.set_p99_ms(w.p99_ms);
  out.set_window_requests(w.requests);
  return out;
}

v1::Cutover Controller::Describe(const state::RecordSnapshot& record, WallTime now) {
  v1::Cutover c;
  c.set_name(record.name);
  c.set_blue_upstream(record.blue);
  c.set_green_upstream(record.green);
  c.set_green_percent(BpToPercent(record.control.weight_bp));
  c.set_blue_percent(BpToPercent(state::kWeightScale - record.control.weight_bp));
  c.set_epoch(record.control.epoch);
  c.set_live_slot(ToProto(LiveSlot(record.control.weight_bp)));
  Nanos window = options_.default_window;
  auto it = rollouts_.find(record.name);
  if (it != rollouts_.end()) {
    if (it->second.engine->active())
      window = FromProto(it->second.engine->plan().analysis().window());
    *c.mutable_rollout() = RolloutView(*it->second.engine, now);
  }
  *c.mutable_blue() = Stats(record, state::Slot::kBlue, window);
  *c.mutable_green() = Stats(record, state::Slot::kGreen, window);
  for (const auto& p : record.peers) {
    v1::PeerStats* ps = c.add_peers();
    ps->set_slot(ToProto(p.slot));
    ps->set_address(p.address);
    ps->set_requests(p.requests);
    ps->set_responses_5xx(p.responses[4]);
    ps->set_failures(p.failures);
  }
  return c;
}

std::vector<v1::Cutover> Controller::ListCutovers() {
  std::lock_guard lock(mutex_);
  const WallTime now = deps_.clock->Now();
  std::vector<v1::Cutover> out;
  for (const auto& record : File().SnapshotAll()) out.push_back(Describe(record, now));
  return out;
}

v1::Cutover Controller::GetStatus(const std::string& cutover) {
  std::lock_guard lock(mutex_);
  return Describe(Snapshot("cutover", cutover), deps_.clock->Now());
}

// ------------------------------------------------------------------ actions

v1::SetWeightResponse Controller::SetWeight(const v1::SetWeightRequest& request,
                                            const std::string& actor) {
  std::lock_guard lock(mutex_);
  try {
    ValidatePercent("percent", request.percent());
  } catch (const InvalidArgument& e) {
    throw ApiError(grpc::StatusCode::INVALID_ARGUMENT, e.what());
  }
  const state::RecordSnapshot before = Snapshot("cutover", request.cutover());
  auto it = rollouts_.find(request.cutover());
  if (it != rollouts_.end() && it->second.engine->state() == v1::ROLLOUT_STATE_RUNNING)
    throw ApiError(grpc::StatusCode::FAILED_PRECONDITION,
                   "cutover \"" + request.cutover() + "\": rollout " + it->second.engine->id() +
                       " is running; pause or abort it before setting a weight by hand");
  const std::uint32_t bp = PercentToBp(request.percent());
  v1::Event event;
  *event.mutable_time() = ToProtoTimestamp(deps_.clock->Now());
  event.set_cutover(request.cutover());
  event.set_kind(event_kind::kWeightSet);
  event.set_reason(request.reason());
  event.set_step(-1);
  event.set_weight_before(BpToPercent(before.control.weight_bp));
  event.set_weight_after(BpToPercent(bp));
  event.set_actor(actor);
  event.set_epoch(StoreWeight(request.cutover(), bp, event));
  Publish(event);
  v1::SetWeightResponse response;
  *response.mutable_cutover() = Describe(*File().Snapshot(request.cutover()), deps_.clock->Now());
  *response.mutable_event() = event;
  return response;
}

// Validates a plan (and the cutover it names) and builds its gates: every
// problem is INVALID_ARGUMENT naming the field.
std::shared_ptr<GateSet> Controller::ValidatedPlanGates(const std::string& cutover, bool has_plan,
                                                        const v1::Plan& plan,
                                                        bool cutover_required) const {
  try {
    if (cutover_required || !cutover.empty()) ValidateCutoverName("cutover", cutover);
    if (!has_plan) throw InvalidArgument("plan", "is required");
    ValidatePlan(plan, "plan");
  } catch (const InvalidArgument& e) {
    throw ApiError(grpc::StatusCode::INVALID_ARGUMENT, e.what());
  }
  try {
    return deps_.gate_factory(plan.gates());
  } catch (const std::invalid_argument& e) {
    throw ApiError(grpc::StatusCode::INVALID_ARGUMENT, std::string("plan.") + e.what());
  }
}

v1::Rollout Controller::StartRollout(const v1::StartRolloutRequest& request,
                                     const std::string& actor) {
  std::lock_guard lock(mutex_);
  std::shared_ptr<GateSet> gates = ValidatedPlanGates(request.cutover(), request.has_plan(),
                                                      request.plan(), /*cutover_required=*/true);
  const state::RecordSnapshot record = Snapshot("cutover", request.cutover());
  auto it = rollouts_.find(request.cutover());
  if (it != rollouts_.end() && it->second.engine->active())
    throw ApiError(
        grpc::StatusCode::FAILED_PRECONDITION,
        "cutover \"" + request.cutover() + "\": rollout " + it->second.engine->id() + " is still " +
            (it->second.engine->state() == v1::ROLLOUT_STATE_RUNNING ? "running" : "paused") +
            "; promote or abort it first");
  const state::Slot from = LiveSlot(record.control.weight_bp);
  auto engine = std::make_unique<RolloutEngine>(deps_.new_rollout_id(), request.cutover(),
                                                request.plan(), from, EngineOptions(*gates));
  const WallTime now = deps_.clock->Now();
  auto decisions = engine->Start(now, record.control.weight_bp, request.reason(), actor);
  RolloutEntry entry{std::move(engine), gates, true};
  Execute(*entry.engine, std::move(decisions));  // refused (a fleet's): it never started
  RolloutEntry& slot = rollouts_[request.cutover()];
  slot = std::move(entry);
  DispatchGates(slot);
  UpdateRetention();
  return RolloutView(*slot.engine, now);
}

Controller::RolloutEntry& Controller::ActiveRollout(const std::string& cutover) {
  try {
    ValidateCutoverName("cutover", cutover);
  } catch (const InvalidArgument& e) {
    throw ApiError(grpc::StatusCode::INVALID_ARGUMENT, e.what());
  }
  auto it = rollouts_.find(cutover);
  if (it == rollouts_.end()) {
    if (!File().Snapshot(cutover))
      throw ApiError(grpc::StatusCode::INVALID_ARGUMENT,
                     "cutover: unknown cutover \"" + cutover + "\"");
    throw ApiError(grpc::StatusCode::FAILED_PRECONDITION,
                   "cutover \"" + cutover + "\" has no rollout");
  }
  return it->second;
}

v1::Rollout Controller::ManualAction(const v1::RolloutActionRequest& request,
                                     const std::string& actor,
                                     std::vector<Decision> (RolloutEngine::*action)(
                                         WallTime, const std::string&, const std::string&)) {
  std::lock_guard lock(mutex_);
  RolloutEntry& slot = ActiveRollout(request.cutover());
  const WallTime now = deps_.clock->Now();
  std::vector<Decision> decisions;
  try {
    decisions = ((*slot.engine).*action)(now, request.reason(), actor);
  } catch (const PreconditionFailed& e) {
    throw ApiError(grpc::StatusCode::FAILED_PRECONDITION,
                   "cutover \"" + request.cutover() + "\": " + e.what());
  }
  Execute(*slot.engine, std::move(decisions));
  UpdateRetention();
  return RolloutView(*slot.engine, now);
}

v1::Rollout Controller::PauseRollout(const v1::RolloutActionRequest& r, const std::string& a) {
  return ManualAction(r, a, &RolloutEngine::Pause);
}
v1::Rollout Controller::ResumeRollout(const v1::RolloutActionRequest& r, const std::string& a) {
  return ManualAction(r, a, &RolloutEngine::Resume);
}
v1::Rollout Controller::PromoteRollout(const v1::RolloutActionRequest& r, const std::string& a) {
  return ManualAction(r, a, &RolloutEngine::Promote);
}
v1::Rollout Controller::AbortRollout(const v1::RolloutActionRequest& r, const std::string& a) {
  return ManualAction(r, a, &RolloutEngine::Abort);
}

std::vector<v1::Event> Controller::GetHistory(const v1::GetHistoryRequest& request) {
  if (!request.cutover().empty()) {
    try {
      ValidateCutoverName("cutover", request.cutover());
    } catch (const InvalidArgument& e) {
      throw ApiError(grpc::StatusCode::INVALID_ARGUMENT, e.what());
    }
  }
  if (request.limit() > kMaxHistoryLimit)
    throw ApiError(grpc::StatusCode::INVALID_ARGUMENT,
                   "limit: at most " + std::to_string(kMaxHistoryLimit));
  const std::size_t limit = request.limit() == 0 ? kDefaultHistoryLimit : request.limit();
  try {
    return deps_.journal->History(request.cutover(), limit);
  } catch (const JournalError& e) {
    throw ApiError(grpc::StatusCode::UNAVAILABLE, e.what());
  }
}

std::vector<v1::Event> Controller::EventsSince(const std::string& cutover, std::uint64_t since) {
  std::vector<v1::Event> out;
  try {
    for (auto& e : deps_.journal->ReadAll())
      if (e.sequence() >= since && (cutover.empty() || e.cutover() == cutover))
        out.push_back(std::move(e));
  } catch (const JournalError& e) {
    throw ApiError(grpc::StatusCode::UNAVAILABLE, e.what());
  }
  return out;
}

v1::PreflightResponse Controller::Preflight(const v1::PreflightRequest& request) {
  std::shared_ptr<GateSet> gates = ValidatedPlanGates(request.cutover(), request.has_plan(),
                                                      request.plan(), /*cutover_required=*/false);
  gates::GateContext context;
  context.cutover = request.cutover();
  v1::PreflightResponse response;
  bool go = true;
  // Every gate, whatever it guards: preflight is the go/no-go table.
  for (auto& gate : *gates) {
    gates::GateContext c = context;
    c.before_revert = !gate->checks_steps() && gate->checks_reverts();
    const gates::GateOutcome outcome = EvaluateGate(*gate, c);
    go = go && outcome.passed;
    ToProto(outcome, response.add_gates());
  }
  response.set_go(go);
  return response;
}

}  // namespace cutover::agent
