#include "agent/server/controller.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <thread>

#include "agent/analysis/prometheus.hpp"
#include "agent/core/analysis_defaults.hpp"
#include "agent/core/event_kinds.hpp"
#include "agent/core/log.hpp"
#include "agent/core/units.hpp"
#include "agent/core/validation.hpp"

namespace cutover::agent {

namespace {

std::string EventLine(const v1::Event& e) {
  char weights[96];
  std::snprintf(weights, sizeof weights, " green %.2f%% -> %.2f%% (epoch %llu)", e.weight_before(),
                e.weight_after(), static_cast<unsigned long long>(e.epoch()));
  return e.cutover() + ": " + e.kind() + weights + (e.reason().empty() ? "" : " - " + e.reason());
}

}  // namespace

WindowQuery JudgeQuery(const v1::Analysis& analysis, SteadyTime evidence_after) {
  WindowQuery q;
  q.window = FromProto(analysis.window());
  q.evidence_after = evidence_after;
  q.stall_after = FromProto(analysis.max_p99());
  return q;
}

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

// The Prometheus client, as the engine wants its answers.
static MetricResult QueryMetric(const v1::MetricCheck& check) {
  const analysis::QueryAnswer a =
      analysis::QueryPrometheus(check.prometheus(), check.query(), MetricTimeout(check));
  MetricResult r;
  r.measured = a.measured;
  r.value = a.value;
  r.detail = a.detail;
  return r;
}

Controller::Controller(Dependencies deps, Options options)
    : deps_(std::move(deps)),
      options_(options),
      history_(options.default_window),
      preflights_(PreflightRuns::Create(deps_.sync)) {
  if (deps_.journal_writer == nullptr)
    own_writer_ = std::make_unique<JournalWriter>(*deps_.journal, JournalWriter::Mode::kInline);
  writer_ = deps_.journal_writer != nullptr ? deps_.journal_writer : own_writer_.get();
  writer_->Observe([this](const JournalWriter::Outcome& outcome) { OnJournalWrite(outcome); });
  if (!deps_.metric_query) deps_.metric_query = QueryMetric;
}

Controller::~Controller() { preflights_->Shutdown(); }

// ------------------------------------------------------------------ state file

// The mapping of a file cut shorter in place (truncate, cp over it) ends in
// pages that no longer exist: reading them is a SIGBUS. Checked on each tick
// and call, before the mapping is read.
static bool Shrunk(const std::string& path, off_t mapped_size) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && st.st_size < mapped_size;
}

bool Controller::EnsureFile() {
  const bool shrunk = file_ && Shrunk(deps_.state_path, file_size_);
  if (file_ && !shrunk && !file_->Replaced()) return true;
  if (file_) {
    LogWarning("state file " + deps_.state_path +
               (shrunk ? " was truncated in place (replace it by rename, never in place)"
                       : " was replaced") +
               ": reopening, counters restart");
    file_.reset();
    history_.Clear();
  }
  try {
    struct stat st {};
    if (::stat(deps_.state_path.c_str(), &st) == 0) file_size_ = st.st_size;
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
  std::vector<JournaledRollout> journaled = deps_.journal->LastRollouts();
  std::lock_guard lock(mutex_);
  for (JournaledRollout& rollout : journaled) {
    const v1::Event& first = rollout.events.front();
    std::shared_ptr<GateSet> gates;
    try {
      gates = deps_.gate_factory(first.plan().gates());
    } catch (const std::exception& e) {
      LogError(first.cutover() + ": cannot rebuild the gates of rollout " + first.rollout_id() +
               ": " + e.what() + "; restoring without them");
      gates = std::make_shared<GateSet>();
    }
    RolloutEngine::Options engine_options{ProfileOf(*gates), options_.gate_retry};
    std::optional<RolloutEngine> engine;
    try {
      // Every field is checked before anything is computed from it: a
      // journal on disk is outside input, and a tampered line must not
      // crash the agent (nor restore a rollout from nonsense).
      engine = RolloutEngine::Restore(rollout.events, engine_options);
    } catch (const RestoreError& e) {
      throw JournalError("journal " + rollout.where[e.event()] + ": " + e.what() +
                         ": the agent will not restore from a journal it cannot trust (move the "
                         "line aside, or restore the journal from a backup)");
    }
    if (!engine) continue;
    LogInfo(first.cutover() + ": restored rollout " + engine->id() + " (" +
            v1::RolloutState_Name(engine->state()) + ", step " + std::to_string(engine->step()) +
            ") from the journal");
    rollouts_[first.cutover()] =
        RolloutEntry{std::make_unique<RolloutEngine>(std::move(*engine)), gates, false};
  }
  // The releases the slots run: each slot's last rollout_started.
  for (const v1::Event& start : deps_.journal->LastRolloutStarts()) NoteRelease(start);
  // WatchEvents counts from the last journaled event on.
  for (const v1::Event& last : deps_.journal->History("", 1)) bus_.Publish(last);
  UpdateRetention();
}

void Controller::OnJournalWrite(const JournalWriter::Outcome& outcome) {
  if (!outcome.written)
    LogError("journal " + deps_.journal->Describe() + ": " + outcome.error + ": event" +
             (outcome.first == outcome.last
                  ? " " + std::to_string(outcome.first)
                  : "s " + std::to_string(outcome.first) + ".." + std::to_string(outcome.last)) +
             " not journaled (the decisions stand)");
  for (ControllerListener* listener : deps_.listeners) listener->OnJournalWrite(outcome);
}

// A rollout_started that names a release: its new slot runs that release
// from now on (whatever becomes of the rollout: a reverted slot still runs it).
void Controller::NoteRelease(const v1::Event& event) {
  if (event.kind() != event_kind::kRolloutStarted || event.release().empty()) return;
  auto& slots = releases_[event.cutover()];
  slots[static_cast<std::size_t>(FromProto(event.to_slot()))] = event.release();
  for (ControllerListener* listener : deps_.listeners)
    listener->OnReleases(event.cutover(), slots[0], slots[1]);
}

std::uint64_t Controller::Publish(v1::Event& event) {
  if (event.has_plan()) RedactPlan(event.mutable_plan());
  // Numbered and queued, not written: the decision has been taken (a weight
  // stored) and must not wait for a disk; the writer makes it durable next.
  std::uint64_t sequence = 0;
  try {
    sequence = writer_->Submit(event);
  } catch (const JournalError& e) {
    LogError(std::string("journal: ") + e.what() + ": event not journaled: " + EventLine(event));
  }
  LogInfo(EventLine(event));
  bus_.Publish(event);
  for (ControllerListener* listener : deps_.listeners) listener->OnEvent(event);
  NoteRelease(event);
  return sequence;
}

void Controller::Record(v1::Event event) {
  std::lock_guard lock(mutex_);
  Publish(event);
}

void Controller::PublishAgentEvent(v1::Event event) {
  const std::uint64_t sequence = writer_->Submit(event);
  bus_.Publish(event);
  AwaitJournal(sequence);
}

void Controller::AwaitJournal(std::uint64_t sequence) {
  // The journal's failure is told (log, health, metrics) by OnJournalWrite;
  // the call's action stands either way.
  if (sequence != 0) writer_->WaitWritten(sequence);
}

std::uint64_t Controller::Execute(RolloutEngine& engine, std::vector<Decision> decisions) {
  // Every store of the batch first, then the journal: a revert never waits
  // on an fsync or a database round trip (not even for its own breach event).
  // The weights journaled are the file's, read here: the engine's own idea
  // of the weight lags a SetWeight made while its rollout was paused.
  std::optional<state::Control> control;
  if (file_) control = file_->ReadControl(engine.cutover());
  for (Decision& d : decisions) {
    if (control) d.event.set_weight_before(BpToPercent(control->weight_bp));
    if (d.store_green_bp) {
      try {
        control = File().StoreWeight(engine.cutover(), *d.store_green_bp);
        WeightStored(engine.cutover(), control->epoch);
      } catch (const std::exception& e) {
        LogError(engine.cutover() + ": cannot store weight: " + e.what());
        d.event.set_reason(d.event.reason() + " [weight store failed: " + e.what() + "]");
        d.event.set_weight_after(d.event.weight_before());
      }
    } else if (control) {
      d.event.set_weight_after(BpToPercent(control->weight_bp));
    }
    d.event.set_epoch(control ? control->epoch : 0);
  }
  std::uint64_t last = 0;
  for (Decision& d : decisions) last = Publish(d.event);
  return last;
}

// ------------------------------------------------------------------ gates

GateProfile Controller::ProfileOf(const GateSet& gates) const {
  GateProfile p;
  for (const auto& g : gates) {
    p.checks_steps = p.checks_steps || g->checks_steps();
    p.checks_reverts = p.checks_reverts || g->checks_reverts();
    p.checks_promotion = p.checks_promotion || g->checks_promotion();
  }
  return p;
}

void Controller::Reply(EngineReply reply) {
  std::lock_guard lock(replies_mutex_);
  replies_.push_back(std::move(reply));
}

void Controller::DispatchGates(RolloutEntry& slot) {
  auto request = slot.engine->TakeGateRequest();
  if (!request) return;
  gates::GateContext context = GateContextFor(slot.engine->cutover(), slot.engine->to_slot());
  context.before_revert = request->before_revert;
  context.before_promotion = request->before_promotion;
  context.step = request->before_revert || request->before_promotion ? -1 : request->step;
  context.writes_on_new_slot = request->writes_on_new_slot;
  context.sync = deps_.sync;
  auto done = [this, cutover = slot.engine->cutover(), id = slot.engine->id(),
               request_id = request->id](std::vector<gates::GateOutcome> outcomes) {
    Reply(
        {cutover, id, [request_id, outcomes = std::move(outcomes)](RolloutEngine& e, WallTime now) {
           return e.OnGateResults(request_id, outcomes, now);
         }});
  };
  if (deps_.gate_runner == nullptr) {
    done(EvaluateGates(*slot.gates, context));
  } else {
    deps_.gate_runner->Submit(slot.gates, context, std::move(done));
  }
}

gates::GateContext Controller::GateContextFor(const std::string& cutover,
                                              std::optional<state::Slot> new_slot) {
  gates::GateContext context;
  context.cutover = cutover;
  if (cutover.empty() || !file_) return context;
  const auto record = file_->Snapshot(cutover);
  if (!record) return context;
  for (const auto& peer : record->peers)
    (peer.slot == state::Slot::kGreen ? context.green_peers : context.blue_peers)
        .push_back(peer.address);
  context.new_slot =
      state::SlotName(new_slot ? *new_slot : state::Other(LiveSlot(record->control.weight_bp)));
  return context;
}

void Controller::DispatchMetrics(RolloutEntry& slot, WallTime now) {
  for (const MetricRequest& request : slot.engine->TakeMetricRequests(now)) {
    auto job = [this, cutover = slot.engine->cutover(), id = slot.engine->id(), request,
                check = slot.engine->plan().analysis().metrics(request.index)] {
      const WallTime sent = deps_.clock->Now();
      MetricResult result = deps_.metric_query(check);
      result.at = sent;
      Reply({cutover, id, [request_id = request.id, result](RolloutEngine& e, WallTime at) {
               return e.OnMetricResult(request_id, result, at);
             }});
    };
    if (deps_.metric_runner == nullptr) {
      job();
    } else {
      deps_.metric_runner->Submit(std::move(job));
    }
  }
}

void Controller::DrainReplies(WallTime now) {
  std::vector<EngineReply> replies;
  {
    std::lock_guard lock(replies_mutex_);
    replies.swap(replies_);
  }
  for (auto& reply : replies) {
    auto it = rollouts_.find(reply.cutover);
    if (it == rollouts_.end() || it->second.engine->id() != reply.rollout_id) continue;
    Execute(*it->second.engine, reply.apply(*it->second.engine, now));
  }
}

void Controller::WeightStored(const std::string& cutover, std::uint64_t epoch) {
  evidence_[cutover] =
      Evidence{epoch, last_tick_at_.value_or(SteadyTime::min()), deps_.clock->Now()};
}

void Controller::UpdateRetention() {
  Nanos longest = options_.default_window;
  for (const auto& [name, slot] : rollouts_)
    if (slot.engine->active())
      longest = std::max({longest, FromProto(slot.engine->plan().analysis().window()),
                          FromProto(slot.engine->plan().analysis().max_p99())});
  // A little more than the window, so a full window always has a base sample.
  history_.SetRetention(longest + longest / 10);
}

// ------------------------------------------------------------------ tick

void Controller::Tick(SteadyTime at) {
  std::lock_guard lock(mutex_);
  if (!EnsureFile()) return;
  const WallTime now = deps_.clock->Now();
  std::vector<state::RecordSnapshot> records = file_->SnapshotAll();
  history_.Add(at, records);
  const SteadyTime previous_tick = last_tick_at_.value_or(SteadyTime::min());
  last_tick_at_ = at;
  if (!records.empty() && records.front().revision < 1 && !warned_revision_) {
    warned_revision_ = true;
    LogWarning("state file " + deps_.state_path +
               ": nginx's module predates the waiting counters (layout revision 0): a slot that "
               "stops answering is seen only when nginx times its requests out; upgrade the "
               "module and restart nginx");
  }
  DrainReplies(now);
  for (auto& [cutover, slot] : rollouts_) {
    RolloutEngine& engine = *slot.engine;
    if (!engine.active()) continue;
    // By the engine's name, not the binding: clang 14 cannot capture a
    // structured binding (a C++20 rule it lacks).
    auto record = std::find_if(records.begin(), records.end(),
                               [&engine](const auto& r) { return r.name == engine.cutover(); });
    if (record == records.end()) continue;  // nginx no longer has it: hold still
    if (!slot.weight_checked) {
      slot.weight_checked = true;
      Execute(engine, engine.CheckWeightAfterRestore(now, record->control));
    }
    // A weight stored by someone else (or before this agent started) counts
    // from the first sample that shows it.
    Evidence& evidence = evidence_[cutover];
    if (evidence.epoch != record->control.epoch)
      evidence = Evidence{record->control.epoch, previous_tick, now};
    const WindowQuery query = JudgeQuery(engine.plan().analysis(), evidence.after);
    Observation obs;
    obs.now = now;
    obs.control = record->control;
    obs.new_slot = history_.Window(cutover, engine.to_slot(), query);
    obs.old_slot = history_.Window(cutover, engine.from_slot(), query);
    obs.evidence_since = evidence.since;
    obs.new_totals = record->slot(engine.to_slot());
    obs.old_totals = record->slot(engine.from_slot());
    Execute(engine, engine.Tick(obs));
    DispatchGates(slot);
    DispatchMetrics(slot, now);
  }
  if (!deps_.listeners.empty()) {
    std::map<std::string, v1::Rollout> rollouts;
    for (const auto& [cutover, slot] : rollouts_) rollouts[cutover] = slot.engine->ToProto(now);
    for (ControllerListener* listener : deps_.listeners) listener->OnTick(records, rollouts);
  }
}

// ------------------------------------------------------------------ status

v1::SlotStats Controller::Stats(const state::RecordSnapshot& record, state::Slot slot,
                                const WindowQuery& query) {
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
  out.set_waiting(s.Waiting());
  out.set_waits_started(s.waits_started);
  out.set_waits_ended(s.waits_ended);
  out.set_abandoned(s.abandoned);
  out.set_no_live_peer(s.no_live_peer);
  out.set_waits_counted(record.revision >= 1);
  const WindowStats w = history_.Window(record.name, slot, query);
  out.set_requests_per_second(w.requests_per_second());
  out.set_error_rate(w.error_rate());
  out.set_p50_ms(w.p50_ms);
  out.set_p95_ms(w.p95_ms);
  out.set_p99_ms(w.p99_ms);
  out.set_window_requests(w.requests);
  out.set_stalled(w.stalled);
  if (auto it = releases_.find(record.name); it != releases_.end())
    out.set_release(it->second[static_cast<std::size_t>(slot)]);
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
  // What the judge sees while a rollout is active; the default window otherwise.
  WindowQuery query{options_.default_window};
  auto it = rollouts_.find(record.name);
  if (it != rollouts_.end()) {
    const RolloutEngine& engine = *it->second.engine;
    *c.mutable_rollout() = RolloutView(engine, now);
    auto evidence = evidence_.find(record.name);
    if (engine.active() && evidence != evidence_.end()) {
      query = JudgeQuery(engine.plan().analysis(), evidence->second.after);
      *c.mutable_rollout()->mutable_evidence_since() = ToProtoTimestamp(evidence->second.since);
    } else if (engine.active()) {
      query.window = FromProto(engine.plan().analysis().window());
    }
  }
  *c.mutable_blue() = Stats(record, state::Slot::kBlue, query);
  *c.mutable_green() = Stats(record, state::Slot::kGreen, query);
  for (const auto& p : record.peers) {
    v1::PeerStats* ps = c.add_peers();
    ps->set_slot(ToProto(p.slot));
    ps->set_address(p.address);
    ps->set_requests(p.requests);
    ps->set_responses_5xx(p.responses[4]);
    ps->set_failures(p.failures);
    ps->set_state(ToProto(p.admin));
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
  std::unique_lock lock(mutex_);
  try {
    ValidatePercent("percent", request.percent());
    ValidateReason("reason", request.reason());
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
  const state::Control after = File().StoreWeight(request.cutover(), bp);
  WeightStored(request.cutover(), after.epoch);
  v1::Event event;
  *event.mutable_time() = ToProtoTimestamp(deps_.clock->Now());
  event.set_cutover(request.cutover());
  event.set_kind(event_kind::kWeightSet);
  event.set_reason(request.reason());
  event.set_step(-1);
  event.set_weight_before(BpToPercent(before.control.weight_bp));
  event.set_weight_after(BpToPercent(after.weight_bp));
  event.set_epoch(after.epoch);
  event.set_actor(actor);
  const std::uint64_t sequence = Publish(event);
  v1::SetWeightResponse response;
  *response.mutable_cutover() = Describe(*File().Snapshot(request.cutover()), deps_.clock->Now());
  *response.mutable_event() = event;
  lock.unlock();
  AwaitJournal(sequence);
  return response;
}

// Validates a plan (and the cutover it names) and builds its gates: every
// problem is INVALID_ARGUMENT naming the field.
std::shared_ptr<GateSet> Controller::ValidatedPlanGates(const std::string& cutover, bool has_plan,
                                                        const v1::Plan& plan, bool cutover_required,
                                                        const std::string& reason) const {
  try {
    if (cutover_required || !cutover.empty()) ValidateCutoverName("cutover", cutover);
    ValidateReason("reason", reason);
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
  std::unique_lock lock(mutex_);
  std::shared_ptr<GateSet> gates =
      ValidatedPlanGates(request.cutover(), request.has_plan(), request.plan(),
                         /*cutover_required=*/true, request.reason());
  try {
    ValidateRelease("release", request.release());
  } catch (const InvalidArgument& e) {
    throw ApiError(grpc::StatusCode::INVALID_ARGUMENT, e.what());
  }
  const state::RecordSnapshot record = Snapshot("cutover", request.cutover());
  auto it = rollouts_.find(request.cutover());
  if (it != rollouts_.end() && it->second.engine->active())
    throw ApiError(
        grpc::StatusCode::FAILED_PRECONDITION,
        "cutover \"" + request.cutover() + "\": rollout " + it->second.engine->id() + " is still " +
            (it->second.engine->state() == v1::ROLLOUT_STATE_RUNNING ? "running" : "paused") +
            "; promote or abort it first");
  std::uint64_t sequence = 0;
  v1::Rollout view = Launch(request.cutover(), request.plan(), gates, record, request.reason(),
                            actor, request.release(), &sequence);
  lock.unlock();
  AwaitJournal(sequence);
  return view;
}

// A new rollout of `plan` from the slot live now (the caller holds the lock
// and, once it has let go of it, waits for `sequence` to be journaled).
v1::Rollout Controller::Launch(const std::string& cutover, const v1::Plan& plan,
                               std::shared_ptr<GateSet> gates, const state::RecordSnapshot& record,
                               const std::string& reason, const std::string& actor,
                               const std::string& release, std::uint64_t* sequence) {
  const state::Slot from = LiveSlot(record.control.weight_bp);
  RolloutEngine::Options engine_options{ProfileOf(*gates), options_.gate_retry};
  auto engine =
      std::make_unique<RolloutEngine>(deps_.new_rollout_id(), cutover, plan, from, engine_options);
  const WallTime now = deps_.clock->Now();
  auto decisions = engine->Start(now, record.control.weight_bp, reason, actor, release);
  if (record.revision < 1) {
    // Said once, in the rollout's own record: its judge cannot see a stall.
    Decision note{std::nullopt, decisions.front().event};
    note.event.clear_plan();
    note.event.clear_from_slot();
    note.event.clear_to_slot();
    note.event.set_kind(event_kind::kWarning);
    note.event.set_actor("agent");
    note.event.set_reason(
        "nginx's module predates the waiting counters (state-file revision 0): a slot that stops "
        "answering is seen only when nginx times its requests out, not after max_p99");
    note.event.mutable_measurement()->set_signal("stall");
    decisions.insert(decisions.begin() + 1, std::move(note));
  }
  for (ControllerListener* listener : deps_.listeners) listener->OnRolloutPlan(engine->id(), plan);
  RolloutEntry& slot = rollouts_[cutover];
  slot = RolloutEntry{std::move(engine), gates, true};
  *sequence = Execute(*slot.engine, std::move(decisions));
  DispatchGates(slot);
  UpdateRetention();
  return RolloutView(*slot.engine, now);
}

v1::Rollout Controller::RetryRollout(const v1::RolloutActionRequest& request,
                                     const std::string& actor) {
  std::unique_lock lock(mutex_);
  try {
    ValidateRelease("release", request.release());
  } catch (const InvalidArgument& e) {
    throw ApiError(grpc::StatusCode::INVALID_ARGUMENT, e.what());
  }
  RolloutEntry& last = ActiveRollout(request.cutover(), request.reason());
  const RolloutEngine& engine = *last.engine;
  const v1::RolloutState state = engine.state();
  if (state != v1::ROLLOUT_STATE_REVERTED && state != v1::ROLLOUT_STATE_ABORTED)
    throw ApiError(grpc::StatusCode::FAILED_PRECONDITION,
                   "cutover \"" + request.cutover() + "\": rollout " + engine.id() + " is " +
                       v1::RolloutState_Name(state) +
                       (engine.active() ? "; only a reverted or aborted rollout is retried"
                                        : "; its slot is live now: start a new rollout"));
  const state::RecordSnapshot record = Snapshot("cutover", request.cutover());
  // The plan as the rollout had it (in memory with its gates' credentials;
  // after a restart, as the journal kept it, without their passwords).
  const v1::Plan plan = engine.plan();
  const std::string release = request.release().empty() ? engine.release() : request.release();
  const std::string reason =
      "retry of " + engine.id() + (request.reason().empty() ? "" : ": " + request.reason());
  std::uint64_t sequence = 0;
  v1::Rollout view =
      Launch(request.cutover(), plan, last.gates, record, reason, actor, release, &sequence);
  lock.unlock();
  AwaitJournal(sequence);
  return view;
}

v1::SetPeerStateResponse Controller::SetPeerState(const v1::SetPeerStateRequest& request,
                                                  const std::string& actor) {
  std::unique_lock lock(mutex_);
  const auto admin = FromProto(request.state());
  try {
    ValidateReason("reason", request.reason());
    if (request.slot() != v1::SLOT_BLUE && request.slot() != v1::SLOT_GREEN)
      throw InvalidArgument("slot", "must be SLOT_BLUE or SLOT_GREEN");
    ValidatePeerAddress("address", request.address());
    if (!admin) throw InvalidArgument("state", "must be PEER_STATE_UP, _DRAIN or _DOWN");
  } catch (const InvalidArgument& e) {
    throw ApiError(grpc::StatusCode::INVALID_ARGUMENT, e.what());
  }
  const state::RecordSnapshot before = Snapshot("cutover", request.cutover());
  const state::Slot slot = FromProto(request.slot());
  // The peer as the file stores its address (long ones are shortened).
  const std::string stored(state::PeerKey(request.address()).view());
  const state::PeerSnapshot* peer = nullptr;
  std::string known;
  for (const auto& p : before.peers) {
    if (p.slot != slot) continue;
    known += (known.empty() ? "" : ", ") + p.address;
    if (p.address == stored) peer = &p;
  }
  if (peer == nullptr)
    throw ApiError(
        grpc::StatusCode::INVALID_ARGUMENT,
        "address: cutover \"" + request.cutover() + "\" has no " + state::SlotName(slot) +
            " peer \"" + request.address() + "\" (" +
            (known.empty() ? "it has none"
                           : "its " + std::string(state::SlotName(slot)) + " peers: " + known) +
            ")");
  try {
    File().SetPeerState(request.cutover(), slot, request.address(), *admin);
  } catch (const state::StateFileError& e) {
    // A module too old to honour peer states: nothing was stored.
    throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, e.what());
  }
  v1::Event event;
  *event.mutable_time() = ToProtoTimestamp(deps_.clock->Now());
  event.set_cutover(request.cutover());
  event.set_kind(event_kind::kPeerStateSet);
  event.set_step(-1);
  event.set_weight_before(BpToPercent(before.control.weight_bp));
  event.set_weight_after(BpToPercent(before.control.weight_bp));
  event.set_epoch(before.control.epoch);
  event.set_actor(actor);
  event.set_reason(std::string(state::SlotName(slot)) + " peer " + peer->address + ": " +
                   state::PeerAdminName(peer->admin) + " -> " + state::PeerAdminName(*admin) +
                   (request.reason().empty() ? "" : " (" + request.reason() + ")"));
  v1::PeerChange* change = event.mutable_peer();
  change->set_slot(request.slot());
  change->set_address(peer->address);
  change->set_before(ToProto(peer->admin));
  change->set_after(ToProto(*admin));
  const std::uint64_t sequence = Publish(event);
  v1::SetPeerStateResponse response;
  *response.mutable_cutover() = Describe(*File().Snapshot(request.cutover()), deps_.clock->Now());
  *response.mutable_event() = event;
  lock.unlock();
  AwaitJournal(sequence);
  return response;
}

Controller::RolloutEntry& Controller::ActiveRollout(const std::string& cutover,
                                                    const std::string& reason) {
  try {
    ValidateCutoverName("cutover", cutover);
    ValidateReason("reason", reason);
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
  std::unique_lock lock(mutex_);
  RolloutEntry& slot = ActiveRollout(request.cutover(), request.reason());
  const WallTime now = deps_.clock->Now();
  std::vector<Decision> decisions;
  try {
    decisions = ((*slot.engine).*action)(now, request.reason(), actor);
  } catch (const PreconditionFailed& e) {
    throw ApiError(grpc::StatusCode::FAILED_PRECONDITION,
                   "cutover \"" + request.cutover() + "\": " + e.what());
  }
  const std::uint64_t sequence = Execute(*slot.engine, std::move(decisions));
  UpdateRetention();
  v1::Rollout view = RolloutView(*slot.engine, now);
  lock.unlock();
  AwaitJournal(sequence);
  return view;
}

v1::Rollout Controller::PauseRollout(const v1::RolloutActionRequest& r, const std::string& a) {
  return ManualAction(r, a, &RolloutEngine::Pause);
}
v1::Rollout Controller::ResumeRollout(const v1::RolloutActionRequest& r, const std::string& a) {
  return ManualAction(r, a, &RolloutEngine::Resume);
}
v1::Rollout Controller::PromoteRollout(const v1::RolloutActionRequest& r, const std::string& a) {
  return ManualAction(r, a, r.one_step() ? &RolloutEngine::PromoteStep : &RolloutEngine::Promote);
}
v1::Rollout Controller::AbortRollout(const v1::RolloutActionRequest& r, const std::string& a) {
  return ManualAction(r, a, &RolloutEngine::Abort);
}

void Controller::RequireKnownCutover(const std::string& field, const std::string& cutover) {
  try {
    ValidateCutoverName(field, cutover);
  } catch (const InvalidArgument& e) {
    throw ApiError(grpc::StatusCode::INVALID_ARGUMENT, e.what());
  }
  {
    std::lock_guard lock(mutex_);
    if (rollouts_.count(cutover) != 0) return;
    if (EnsureFile() && file_->Snapshot(cutover)) return;
  }
  // A cutover nginx no longer has still has its history.
  bool journaled = false;
  try {
    journaled = deps_.journal->Knows(cutover);
  } catch (const JournalError& e) {
    throw ApiError(grpc::StatusCode::UNAVAILABLE, e.what());
  }
  if (!journaled)
    throw ApiError(grpc::StatusCode::INVALID_ARGUMENT, field + ": unknown cutover \"" + cutover +
                                                           "\" (not in " + deps_.state_path +
                                                           " nor in the journal)");
}

std::vector<v1::Event> Controller::GetHistory(const v1::GetHistoryRequest& request) {
  if (!request.cutover().empty()) RequireKnownCutover("cutover", request.cutover());
  if (request.limit() > kMaxHistoryLimit)
    throw ApiError(grpc::StatusCode::INVALID_ARGUMENT,
                   "limit: at most " + std::to_string(kMaxHistoryLimit));
  const std::size_t limit = request.limit() == 0 ? kDefaultHistoryLimit : request.limit();
  // Off the controller's lock: a read never holds up a tick or a call.
  try {
    return deps_.journal->History(request.cutover(), limit);
  } catch (const JournalError& e) {
    throw ApiError(grpc::StatusCode::UNAVAILABLE, e.what());
  }
}

std::vector<v1::Event> Controller::EventsSince(const std::string& cutover, std::uint64_t since,
                                               std::size_t max) {
  try {
    return deps_.journal->Since(cutover, since, max);
  } catch (const JournalError& e) {
    throw ApiError(grpc::StatusCode::UNAVAILABLE, e.what());
  }
}

v1::PreflightResponse Controller::Preflight(const v1::PreflightRequest& request,
                                            const std::function<bool()>& cancelled) {
  std::shared_ptr<GateSet> gates = ValidatedPlanGates(request.cutover(), request.has_plan(),
                                                      request.plan(), /*cutover_required=*/false);
  gates::GateContext context;
  {
    std::lock_guard lock(mutex_);
    context = GateContextFor(request.cutover(), std::nullopt);
    // What a revert would strand: the writes of the cutover's rollout's new slot.
    if (auto it = rollouts_.find(request.cutover()); it != rollouts_.end())
      context.writes_on_new_slot = it->second.engine->writes_on_new_slot();
  }
  return preflights_->Run(std::move(gates), std::move(context), cancelled);
}

}  // namespace cutover::agent
