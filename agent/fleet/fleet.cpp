#include "agent/fleet/fleet.hpp"

#include <google/protobuf/util/json_util.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <random>

#include "agent/core/event_kinds.hpp"
#include "agent/core/log.hpp"
#include "agent/core/units.hpp"
#include "agent/fleet/fleet_metrics.hpp"
#include "agent/fleet/schema.hpp"

namespace cutover::fleet {

namespace {

using agent::ApiError;
using agent::LogInfo;
using agent::LogWarning;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::string RandomInstance() {
  std::random_device device;
  char buf[24];
  std::snprintf(buf, sizeof buf, "%08x%08x", device(), device());
  return buf;
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

bool FromJson(const std::string& json, google::protobuf::Message* message) {
  return google::protobuf::util::JsonStringToMessage(json, message).ok();
}

agent::WallTime FromEpochSeconds(double seconds) {
  return agent::WallTime(
      duration_cast<agent::WallClock::duration>(std::chrono::duration<double>(seconds)));
}

}  // namespace

FleetOptions FleetOptions::ForTick(agent::Nanos tick) {
  FleetOptions o;
  o.heartbeat = std::max<agent::Nanos>(tick, milliseconds(100));
  o.liveness = std::max<agent::Nanos>(std::chrono::seconds(1), 5 * o.heartbeat);
  o.lease_ttl = 2 * o.liveness;
  o.follower_refresh = std::max<agent::Nanos>(std::chrono::seconds(1), o.heartbeat);
  return o;
}

// The controller's journal in a fleet. Every event was committed (and so
// journaled, under the number the database gave) before the controller
// published it: Number takes that number and Write confirms the commit, so
// the journal writer's numbers are the fleet's and none is given twice or
// skipped. Reads are the journal table's on the fleet's bounded link, or
// the mirror's while the database is out of reach: never a hang.
class Fleet::FleetJournal final : public agent::Journal {
 public:
  FleetJournal(Fleet& fleet, std::uint64_t last) : fleet_(fleet) { NumberAfter(last); }

  std::uint64_t Number(v1::Event& event) override {
    if (event.sequence() == 0)
      throw agent::JournalError("journal " + Describe() +
                                ": an event the fleet did not commit has no number");
    if (event.sequence() > last_sequence()) NumberAfter(event.sequence());
    return event.sequence();
  }
  void Write(const std::vector<v1::Event>& events) override {
    for (const v1::Event& e : events)
      if (!fleet_.Confirm(e.sequence()))
        throw agent::JournalError("journal " + Describe() + ": event " +
                                  std::to_string(e.sequence()) +
                                  " was not committed by this node: not journaled");
  }
  std::vector<v1::Event> History(const std::string& cutover, std::size_t limit) override {
    if (!fleet_.Connected()) return fleet_.mirror_.History(cutover, limit);
    return fleet_.ReadJournal(agent::PgJournal::Sql::History(), {cutover, std::to_string(limit)});
  }
  std::vector<v1::Event> Since(const std::string& cutover, std::uint64_t since,
                               std::size_t max) override {
    if (!fleet_.Connected()) return fleet_.mirror_.Since(cutover, since, max);
    return fleet_.ReadJournal(agent::PgJournal::Sql::Since(),
                              {std::to_string(since), cutover, std::to_string(max)});
  }
  bool Knows(const std::string& cutover) override {
    if (!fleet_.Connected()) return fleet_.mirror_.Knows(cutover);
    return !fleet_.ReadJournal(agent::PgJournal::Sql::Knows(), {cutover}).empty();
  }
  // What the controller rebuilds from: the mirror keeps it too.
  std::vector<agent::JournaledRollout> LastRollouts() override {
    if (!fleet_.Connected()) return fleet_.mirror_.LastRollouts();
    const auto events = fleet_.ReadJournal(agent::PgJournal::Sql::LastRollouts(), {});
    fleet_.mirror_.Write(events);
    return agent::PgJournal::GroupLastRollouts(events, Describe());
  }
  std::vector<v1::Event> LastRolloutStarts() override {
    if (!fleet_.Connected()) return fleet_.mirror_.LastRolloutStarts();
    auto events = fleet_.ReadJournal(agent::PgJournal::Sql::LastRolloutStarts(), {});
    fleet_.mirror_.Write(events);
    return events;
  }
  std::vector<v1::Event> ReadAll() override {
    if (!fleet_.Connected()) return fleet_.mirror_.ReadAll();
    return fleet_.ReadJournal(agent::PgJournal::Sql::ReadAll(), {});
  }
  std::string Describe() const override {
    return fleet_.describe_ + " (the fleet's, node " + fleet_.options_.node + ")";
  }

 private:
  Fleet& fleet_;
};

Fleet::Fleet(FleetOptions options, const agent::Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      instance_(RandomInstance()),
      weights_(options_.state_path),
      guard_(options_.node, weights_, clock,
             [this](std::vector<v1::Event> events) { Queue(std::move(events), "guard"); }),
      link_(options_.dsn, "cutover-fleet", options_.statement_timeout),
      control_(options_.dsn, "cutover-fleet-control", options_.statement_timeout * 2) {
  wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_ < 0) throw std::runtime_error("fleet: cannot create an eventfd");
  std::uint64_t last = 0;
  {
    agent::PgJournal table(options_.dsn);  // creates the journal's table if missing
    describe_ = table.Describe();
    last = table.last_sequence();
  }
  journal_ = std::make_unique<FleetJournal>(*this, last);
  control_.Connect();
  MigrateSchema(control_);
  Join();
  connected_ = true;  // until the fleet thread finds otherwise
}

Fleet::~Fleet() {
  Stop();
  ::close(wake_);
}

// ------------------------------------------------------------------ lifecycle

void Fleet::Join() {
  // Another agent heartbeating under this node's name (a copy-pasted unit,
  // or the previous agent still running) would corrupt both: wait until its
  // heartbeat is stale, and refuse to join when it keeps beating.
  const auto deadline = SteadyClock::now() + 3 * options_.liveness;
  for (;;) {
    const PgResult r = control_.Exec(
        "SELECT instance, pid, (extract(epoch FROM clock_timestamp() - heartbeat_at) * "
        "1000)::bigint"
        " FROM cutover_fleet_nodes WHERE node = $1",
        {options_.node});
    if (PQntuples(r.get()) == 0) return;
    const auto age = milliseconds(Int(r.get(), 0, 2));
    if (age >= options_.liveness) return;
    if (SteadyClock::now() >= deadline)
      throw FleetDbError("node \"" + options_.node +
                         "\" is already in the fleet: another agent (pid " + Text(r.get(), 0, 1) +
                         ") heartbeats under that name; give each agent its own --node");
    std::this_thread::sleep_for(options_.heartbeat);
  }
}

void Fleet::Start(agent::Controller& controller, prometheus::Registry* metrics) {
  controller_ = &controller;
  if (metrics != nullptr) metrics_ = std::make_unique<FleetMetrics>(*metrics);
  {
    std::lock_guard lock(mutex_);
    tail_cursor_ = controller.bus().last_sequence();
  }
  LogInfo("fleet: node " + options_.node + " joining the fleet in " + control_.redacted_dsn());
  thread_ = std::thread([this] { Run(); });
}

void Fleet::Stop() {
  if (stopping_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
  std::uint64_t epoch = 0;
  {
    std::lock_guard lock(mutex_);
    if (lease_mine_) epoch = lease_epoch_;
    lease_mine_ = false;
  }
  // Leaving: the lease is free at once (no follower waits for it to
  // expire), and the node no longer counts for acknowledgements.
  try {
    std::lock_guard lock(control_mutex_);
    if (epoch != 0)
      control_.Exec(
          "UPDATE cutover_fleet_lease SET expires_at = clock_timestamp()"
          " WHERE holder = $1 AND epoch = $2::bigint",
          {options_.node, std::to_string(epoch)});
    control_.Exec("DELETE FROM cutover_fleet_applied WHERE node = $1", {options_.node});
    control_.Exec("DELETE FROM cutover_fleet_nodes WHERE node = $1 AND instance = $2",
                  {options_.node, instance_});
    LogInfo("fleet: node " + options_.node + " left the fleet");
  } catch (const FleetDbError& e) {
    LogWarning(std::string("fleet: leaving: ") + e.what());
  }
}

// ------------------------------------------------------------------ the fleet thread

void Fleet::Run() {
  auto next_refresh = SteadyClock::now();
  auto next_commands = SteadyClock::now();
  while (!stopping_) {
    const auto beat_started = SteadyClock::now();
    try {
      if (!link_.connected()) OnConnected();
      FlushOutbox();
      Beat();
      const bool deciding = Deciding();
      const auto now = SteadyClock::now();
      if (deciding || now >= next_refresh) {
        Refresh();
        next_refresh = now + options_.follower_refresh;
      }
      if (deciding && now >= next_commands) {  // the fallback for a lost notification
        TakeCommands();
        next_commands = now + options_.follower_refresh;
      }
      for (auto until = beat_started + options_.heartbeat; !stopping_;) {
        const auto left = duration_cast<milliseconds>(until - SteadyClock::now());
        if (left.count() <= 0) break;
        for (const Notification& n : link_.Wait(left, wake_)) Handle(n);
        std::uint64_t ignored;
        if (::read(wake_, &ignored, sizeof ignored) > 0) FlushOutbox();  // a revert to deliver
      }
    } catch (const FleetDbError& e) {
      OnDisconnected(e.what());
      for (int i = 0; i < 5 && !stopping_; ++i) std::this_thread::sleep_for(milliseconds(50));
    } catch (const std::exception& e) {
      agent::LogError(std::string("fleet: ") + e.what());
      std::this_thread::sleep_for(options_.heartbeat);
    }
  }
}

void Fleet::OnConnected() {
  link_.Connect();
  link_.Exec(std::string("LISTEN ") + kDecisionChannel + "; LISTEN " + kCommandChannel +
             "; LISTEN " + kDoneChannel);
  FlushOutbox();  // what this node decided alone comes first,
  Refresh();      // then it converges to the fleet's weights
  Tail();
  bool was_disconnected;
  {
    std::lock_guard lock(mutex_);
    was_disconnected = !disconnect_reason_.empty();
    connected_ = true;
    disconnect_reason_.clear();
  }
  LogInfo(std::string("fleet: ") + (was_disconnected ? "reconnected" : "connected") + " to " +
          link_.redacted_dsn() + " as node " + options_.node);
  BumpGeneration();  // whatever was decided meanwhile is in the journal
}

void Fleet::OnDisconnected(const std::string& why) {
  link_.Close();
  std::lock_guard lock(mutex_);
  if (connected_ || disconnect_reason_.empty())
    LogWarning("fleet: cannot reach the fleet's database: " + why +
               "; keeping the last weights, the node-local guard stays on (retrying)");
  connected_ = false;
  disconnect_reason_ = why;
}

void Fleet::Beat() {
  std::string counters;
  std::uint64_t epoch = 0;
  {
    std::lock_guard lock(mutex_);
    counters = EncodeCounters(local_);
    if (lease_mine_) epoch = lease_epoch_;
  }
  const auto sent = SteadyClock::now();
  const PgResult r = link_.Exec(
      "SELECT holder, lease_epoch, expires_in_ms FROM cutover_fleet_heartbeat("
      "$1, $2::integer, $3, $4::bytea, $5::bigint, $6::integer, true)",
      {options_.node, std::to_string(::getpid()), instance_, ByteaLiteral(counters),
       std::to_string(epoch),
       std::to_string(duration_cast<milliseconds>(options_.lease_ttl).count())});
  const std::string holder = Text(r.get(), 0, 0);
  const auto lease_epoch = static_cast<std::uint64_t>(Int(r.get(), 0, 1));
  const milliseconds expires_in(Int(r.get(), 0, 2));
  const bool mine = holder == options_.node;
  bool gained = false, lost = false;
  {
    std::lock_guard lock(mutex_);
    gained = mine && (!lease_mine_ || lease_epoch != lease_epoch_);
    lost = lease_mine_ && (!mine || lease_epoch != lease_epoch_);
    lease_holder_ = holder;
    lease_epoch_ = lease_epoch;
    lease_seen_until_ = sent + expires_in;
    // Ours until a quarter of the term before the database would let
    // another take it, measured from before we asked: we stop deciding first.
    if (mine) lease_valid_until_ = sent + expires_in - options_.lease_ttl / 4;
    if (lost) lease_mine_ = false;
  }
  if (lost)
    LogWarning("fleet: this node no longer decides: the lease is " +
               (holder.empty() ? std::string("free") : "held by " + holder) + " at epoch " +
               std::to_string(lease_epoch));
  if (gained) {
    Refresh();  // the new decider starts from the fleet's weights
    {
      std::lock_guard lock(mutex_);
      lease_mine_ = true;
    }
    LogInfo("fleet: node " + options_.node + " decides now (lease epoch " +
            std::to_string(lease_epoch) + ")");
  }
  if (gained || lost) BumpGeneration();
}

void Fleet::Refresh() {
  const PgResult nodes = link_.Exec(
      "SELECT node, extract(epoch FROM heartbeat_at),"
      " (extract(epoch FROM clock_timestamp() - heartbeat_at) * 1000)::bigint, counters,"
      " extract(epoch FROM clock_timestamp())"
      " FROM cutover_fleet_nodes ORDER BY node");
  const PgResult applied =
      link_.Exec("SELECT node, cutover, epoch, green_bp FROM cutover_fleet_applied");
  const PgResult decided = link_.Exec(
      "SELECT cutover, epoch, green_bp, rollout_id, state, decided_by FROM cutover_fleet_rollouts");
  const PgResult last =
      link_.Exec(std::string("SELECT coalesce(max(sequence), 0) FROM ") + agent::PgJournal::kTable);
  std::vector<NodeView> views;
  agent::WallTime as_of = clock_.Now();
  for (int i = 0; i < PQntuples(nodes.get()); ++i) {
    NodeView n;
    n.name = Text(nodes.get(), i, 0);
    n.heartbeat = FromEpochSeconds(std::stod(Text(nodes.get(), i, 1)));
    n.age = milliseconds(Int(nodes.get(), i, 2));
    n.counters = DecodeCounters(ByteaValue(nodes.get(), i, 3));
    as_of = FromEpochSeconds(std::stod(Text(nodes.get(), i, 4)));
    views.push_back(std::move(n));
  }
  for (int i = 0; i < PQntuples(applied.get()); ++i)
    for (auto& n : views)
      if (n.name == Text(applied.get(), i, 0))
        n.applied[Text(applied.get(), i, 1)] = {
            static_cast<std::uint64_t>(Int(applied.get(), i, 2)),
            static_cast<std::uint32_t>(Int(applied.get(), i, 3))};
  std::map<std::string, DecidedView> decisions;
  for (int i = 0; i < PQntuples(decided.get()); ++i) {
    DecidedView d;
    d.epoch = static_cast<std::uint64_t>(Int(decided.get(), i, 1));
    if (!IsNull(decided.get(), i, 2))
      d.green_bp = static_cast<std::uint32_t>(Int(decided.get(), i, 2));
    d.rollout_id = Text(decided.get(), i, 3);
    d.state = Text(decided.get(), i, 4);
    d.decided_by = Text(decided.get(), i, 5);
    decisions[Text(decided.get(), i, 0)] = std::move(d);
  }
  const auto journal_last = static_cast<std::uint64_t>(Int(last.get(), 0, 0));
  bool behind = false;
  {
    std::lock_guard lock(mutex_);
    nodes_ = std::move(views);
    decided_ = std::move(decisions);
    view_as_of_ = as_of;
    // The pool: what every live node served since its last heartbeat (this
    // node's from its own tick, fresher than its heartbeat).
    std::map<std::string, NodeCounters> live;
    for (const auto& n : nodes_)
      if (LiveLocked(n)) live[n.name] = n.counters;
    NodeCounters own;
    for (const auto& r : local_)
      own[r.name] = {r.slot(state::Slot::kBlue), r.slot(state::Slot::kGreen)};
    live[options_.node] = std::move(own);
    pooling_.Update(live);
    behind = journal_last > tail_cursor_;
  }
  Reconcile();
  // Notifications were lost (the journal says so): what others decided.
  if (behind && Tail()) BumpGeneration();
  if (metrics_) {
    std::map<std::string, v1::FleetStatus> by_cutover;
    std::set<std::string> names;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [c, d] : decided_) names.insert(c);
      for (const auto& r : local_) names.insert(r.name);
    }
    for (const auto& c : names) {
      v1::Cutover view;
      view.set_name(c);
      Annotate(&view);
      by_cutover[c] = view.fleet();
    }
    std::lock_guard lock(mutex_);
    metrics_->Update(connected_, lease_mine_, lease_epoch_, by_cutover);
  }
}

// Converges this node's state file to the fleet's decided weights, except
// where a revert made here has not reached the fleet yet.
void Fleet::Reconcile() {
  std::vector<std::tuple<std::string, std::uint64_t, std::uint32_t>> todo;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [cutover, d] : decided_) {
      if (!d.green_bp || pending_safe_.count(cutover)) continue;
      auto a = applied_.find(cutover);
      if (a != applied_.end() && a->second.first > d.epoch) continue;  // a newer one applied
      todo.emplace_back(cutover, d.epoch, *d.green_bp);
    }
  }
  for (const auto& [cutover, epoch, green_bp] : todo) {
    auto local = weights_.Read(cutover);
    if (!local) continue;  // nginx here has no such cutover
    if (local->weight_bp != green_bp) {
      weights_.Store(cutover, green_bp);
      LogInfo("fleet: " + cutover + ": applied the fleet's weight, " +
              agent::FormatBpPercent(green_bp) + " green (decision epoch " + std::to_string(epoch) +
              ")");
    }
    {
      std::lock_guard lock(mutex_);
      applied_[cutover] = {epoch, green_bp};
    }
    Ack(cutover);
  }
}

void Fleet::ApplyDecision(const std::string& cutover, std::uint64_t epoch, std::uint32_t green_bp) {
  {
    std::lock_guard lock(mutex_);
    auto a = applied_.find(cutover);
    if (a != applied_.end() && a->second.first >= epoch) return;
  }
  auto local = weights_.Read(cutover);
  if (!local) return;
  if (local->weight_bp != green_bp) weights_.Store(cutover, green_bp);
  {
    std::lock_guard lock(mutex_);
    applied_[cutover] = {epoch, green_bp};
  }
}

void Fleet::Ack(const std::string& cutover) {
  std::pair<std::uint64_t, std::uint32_t> applied;
  {
    std::lock_guard lock(mutex_);
    auto a = applied_.find(cutover);
    if (a == applied_.end()) return;
    auto acked = acked_.find(cutover);
    if (acked != acked_.end() && acked->second >= a->second.first) return;
    applied = a->second;
  }
  link_.Exec(
      "INSERT INTO cutover_fleet_applied (node, cutover, epoch, green_bp, applied_at)"
      " VALUES ($1, $2, $3::bigint, $4::integer, clock_timestamp())"
      " ON CONFLICT (node, cutover) DO UPDATE SET epoch = excluded.epoch,"
      " green_bp = excluded.green_bp, applied_at = excluded.applied_at",
      {options_.node, cutover, std::to_string(applied.first), std::to_string(applied.second)});
  std::lock_guard lock(mutex_);
  acked_[cutover] = std::max(acked_[cutover], applied.first);
}

void Fleet::Handle(const Notification& n) {
  if (n.channel == kDecisionChannel) {
    const auto payload = nlohmann::json::parse(n.payload, nullptr, /*allow_exceptions=*/false);
    if (!payload.is_object()) return;
    const std::string cutover = payload.value("cutover", "");
    const std::string kind = payload.value("kind", "");
    const std::string node = payload.value("node", "");
    const std::string origin = payload.value("origin", "");
    const auto epoch = payload.value("epoch", std::uint64_t{0});
    const auto sequence = payload.value("sequence", std::uint64_t{0});
    // The journal first: a node acknowledges only what it could rebuild the
    // rollout from, and so guard it, were the database gone the next moment.
    bool tail;
    {
      std::lock_guard lock(mutex_);
      tail = sequence > tail_cursor_;
    }
    if (tail) Tail();
    if (payload.contains("green_bp") && payload["green_bp"].is_number()) {
      bool held_back = false;
      {
        std::lock_guard lock(mutex_);
        DecidedView& d = decided_[cutover];  // fresher than the last read of the tables
        if (epoch > d.epoch) {
          d.epoch = epoch;
          d.green_bp = payload["green_bp"].get<std::uint32_t>();
          d.decided_by = node;
        }
        // A revert made here and not delivered yet wins over any move forward.
        held_back = pending_safe_.count(cutover) && !IsSafeDecision(kind);
      }
      if (!held_back) ApplyDecision(cutover, epoch, payload["green_bp"].get<std::uint32_t>());
      Ack(cutover);
    }
    if (node != options_.node || origin != "controller") BumpGeneration();
  } else if (n.channel == kCommandChannel) {
    if (Deciding()) TakeCommands();
  } else if (n.channel == kDoneChannel) {
    {
      std::lock_guard lock(forward_mutex_);
      done_ids_.insert(std::atoll(n.payload.c_str()));
    }
    forward_done_.notify_all();
  }
}

// Events other nodes journaled, into this node's WatchEvents streams (this
// node's own were published by whoever made them here).
bool Fleet::Tail() {
  bool others = false;
  std::uint64_t cursor;
  {
    std::lock_guard lock(mutex_);
    cursor = tail_cursor_;
  }
  const PgResult r =
      link_.Exec(std::string("SELECT sequence, event::text FROM ") + agent::PgJournal::kTable +
                     " WHERE sequence > $1::bigint ORDER BY sequence LIMIT 1000",
                 {std::to_string(cursor)});
  std::vector<v1::Event> read;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    cursor = std::max(cursor, static_cast<std::uint64_t>(Int(r.get(), i, 0)));
    v1::Event e;
    if (!agent::EventFromJson(Text(r.get(), i, 1), &e)) continue;
    read.push_back(e);
    if (e.node() == options_.node) continue;
    others = true;
    if (controller_ != nullptr) controller_->bus().Publish(e);
  }
  mirror_.Write(read);
  std::lock_guard lock(mutex_);
  tail_cursor_ = std::max(tail_cursor_, cursor);
  return others;
}

void Fleet::Queue(std::vector<v1::Event> events, const std::string& origin) {
  {
    std::lock_guard lock(mutex_);
    if (!events.empty() && IsSafeDecision(events.back().kind()))
      pending_safe_[events.front().cutover()] = events.front().rollout_id();
    outbox_.push_back(Pending{std::move(events), origin});
  }
  const std::uint64_t one = 1;
  (void)!::write(wake_, &one, sizeof one);  // the fleet thread delivers it now
}

// Reverts decided here without the fleet (the guard's, or the controller's
// while the database was out of reach) become the fleet's decisions.
void Fleet::FlushOutbox() {
  for (;;) {
    Pending pending;
    {
      std::lock_guard lock(mutex_);
      if (outbox_.empty()) return;
      pending = outbox_.front();
    }
    const std::string cutover = pending.events.front().cutover();
    for (v1::Event& e : pending.events) {
      if (IsNodeRecord(e)) {
        if (!Record(link_, e)) throw FleetDbError("the fleet's database is out of reach");
        mirror_.Add(e);
        if (controller_ != nullptr) controller_->bus().Publish(e);
        continue;
      }
      const fleet::Commit c = CommitDecision(link_, Decider{options_.node, 0, pending.origin}, &e);
      if (c.outcome == Commit::Outcome::kSuperseded) {
        LogInfo("fleet: " + cutover + ": the revert of rollout " + e.rollout_id() +
                " made on this node is superseded (the fleet's rollout moved on): converging "
                "to the fleet's weight");
        break;
      }
      // Watchers here hear of it now, numbered (the controller published its
      // own unnumbered, which no stream shows).
      mirror_.Add(e);
      if (controller_ != nullptr) controller_->bus().Publish(e);
      if (auto weight = DecidedWeight(e)) {
        std::lock_guard lock(mutex_);
        applied_[cutover] = {c.epoch, *weight};
      }
    }
    {
      std::lock_guard lock(mutex_);
      outbox_.pop_front();
      if (std::none_of(outbox_.begin(), outbox_.end(),
                       [&](const Pending& p) { return p.events.front().cutover() == cutover; }))
        pending_safe_.erase(cutover);
    }
    Ack(cutover);
    BumpGeneration();  // the controller learns the rollout's end from the journal
  }
}

// ------------------------------------------------------------------ calls handed to the decider

namespace {

// Runs one handed call on the decider's controller: (code, message, response JSON).
std::tuple<int, std::string, std::string> Execute(agent::Controller& controller,
                                                  const std::string& verb,
                                                  const std::string& request,
                                                  const std::string& actor) {
  auto rollout_action = [&](v1::Rollout (agent::Controller::*action)(
                            const v1::RolloutActionRequest&, const std::string&)) {
    v1::RolloutActionRequest r;
    if (!FromJson(request, &r)) throw ApiError(grpc::StatusCode::INTERNAL, "bad handed call");
    v1::RolloutResponse out;
    *out.mutable_rollout() = (controller.*action)(r, actor);
    return ToJson(out);
  };
  try {
    std::string response;
    if (verb == "SetWeight") {
      v1::SetWeightRequest r;
      if (!FromJson(request, &r)) throw ApiError(grpc::StatusCode::INTERNAL, "bad handed call");
      response = ToJson(controller.SetWeight(r, actor));
    } else if (verb == "StartRollout") {
      v1::StartRolloutRequest r;
      if (!FromJson(request, &r)) throw ApiError(grpc::StatusCode::INTERNAL, "bad handed call");
      v1::RolloutResponse out;
      *out.mutable_rollout() = controller.StartRollout(r, actor);
      response = ToJson(out);
    } else if (verb == "PauseRollout") {
      response = rollout_action(&agent::Controller::PauseRollout);
    } else if (verb == "ResumeRollout") {
      response = rollout_action(&agent::Controller::ResumeRollout);
    } else if (verb == "PromoteRollout") {
      response = rollout_action(&agent::Controller::PromoteRollout);
    } else if (verb == "AbortRollout") {
      response = rollout_action(&agent::Controller::AbortRollout);
    } else if (verb == "RetryRollout") {
      response = rollout_action(&agent::Controller::RetryRollout);
    } else {
      throw ApiError(grpc::StatusCode::UNIMPLEMENTED, "the decider does not know " + verb);
    }
    return {0, "", response};
  } catch (const ApiError& e) {
    return {static_cast<int>(e.code()), e.what(), ""};
  } catch (const std::exception& e) {
    return {static_cast<int>(grpc::StatusCode::INTERNAL), e.what(), ""};
  }
}

}  // namespace

void Fleet::TakeCommands() {
  while (controller_ != nullptr && Deciding() && !stopping_) {
    const PgResult r = link_.Exec(
        "UPDATE cutover_fleet_commands SET taken_by = $1 WHERE id = ("
        " SELECT id FROM cutover_fleet_commands WHERE taken_by IS NULL"
        "  AND created_at > clock_timestamp() - $2::bigint * interval '1 millisecond'"
        "  ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " RETURNING id, verb, request, actor, node",
        {options_.node, std::to_string(options_.forward_timeout.count())});
    if (PQntuples(r.get()) == 0) return;
    const std::string id = Text(r.get(), 0, 0);
    const std::string actor = Text(r.get(), 0, 3) + "@" + Text(r.get(), 0, 4);
    auto [code, message, response] =
        Execute(*controller_, Text(r.get(), 0, 1), Text(r.get(), 0, 2), actor);
    link_.Exec(
        "WITH done AS (UPDATE cutover_fleet_commands SET done_at = clock_timestamp(),"
        " code = $2::integer, message = $3, response = $4 WHERE id = $1::bigint RETURNING id)"
        " SELECT pg_notify('" +
            std::string(kDoneChannel) + "', id::text) FROM done",
        {id, std::to_string(code), message, response});
  }
}

void Fleet::Forward(const std::string& verb, const google::protobuf::Message& request,
                    const std::string& actor, google::protobuf::Message* response) {
  std::int64_t id = 0;
  auto unavailable = [](const std::string& why) {
    return ApiError(grpc::StatusCode::UNAVAILABLE,
                    "this node does not decide for the fleet and " + why);
  };
  try {
    std::lock_guard lock(control_mutex_);
    const PgResult r = control_.Exec(
        "WITH call AS (INSERT INTO cutover_fleet_commands (node, verb, request, actor)"
        " VALUES ($1, $2, $3, $4) RETURNING id)"
        " SELECT id, pg_notify('" +
            std::string(kCommandChannel) + "', id::text) FROM call",
        {options_.node, verb, ToJson(request), actor});
    id = Int(r.get(), 0, 0);
  } catch (const FleetDbError& e) {
    throw unavailable(std::string("cannot reach the fleet's database to hand it the call: ") +
                      e.what());
  }
  const auto deadline = SteadyClock::now() + options_.forward_timeout;
  for (;;) {
    {
      std::unique_lock lock(forward_mutex_);
      forward_done_.wait_for(lock, milliseconds(200), [&] { return done_ids_.count(id) != 0; });
      done_ids_.erase(id);
    }
    try {
      std::lock_guard lock(control_mutex_);
      const PgResult r = control_.Exec(
          "SELECT done_at IS NOT NULL, code, message, response, taken_by"
          " FROM cutover_fleet_commands WHERE id = $1::bigint",
          {std::to_string(id)});
      if (PQntuples(r.get()) == 1 && Text(r.get(), 0, 0) == "t") {
        const int code = static_cast<int>(Int(r.get(), 0, 1));
        if (code != 0) throw ApiError(static_cast<grpc::StatusCode>(code), Text(r.get(), 0, 2));
        if (!FromJson(Text(r.get(), 0, 3), response))
          throw ApiError(grpc::StatusCode::INTERNAL, "the decider's answer does not parse");
        return;
      }
      if (SteadyClock::now() >= deadline) {
        const bool taken = PQntuples(r.get()) == 1 && !IsNull(r.get(), 0, 4);
        if (!taken)
          control_.Exec(
              "UPDATE cutover_fleet_commands SET taken_by = '(expired)' WHERE id = $1::bigint"
              " AND taken_by IS NULL",
              {std::to_string(id)});
        throw ApiError(taken ? grpc::StatusCode::DEADLINE_EXCEEDED : grpc::StatusCode::UNAVAILABLE,
                       taken ? "the fleet's decider took the call but did not answer within " +
                                   agent::FormatDuration(options_.forward_timeout) +
                                   "; see the history"
                             : "no decider took the call within " +
                                   agent::FormatDuration(options_.forward_timeout) +
                                   " (is any agent of the fleet holding the lease?)");
      }
    } catch (const FleetDbError& e) {
      throw unavailable(std::string("lost the fleet's database while the decider ran the call "
                                    "(see the history): ") +
                        e.what());
    }
  }
}

// ------------------------------------------------------------------ the controller's side

std::vector<v1::Event> Fleet::ReadJournal(const std::string& sql,
                                          const std::vector<PgLink::Param>& params) {
  {
    std::lock_guard lock(mutex_);
    if (!connected_)
      throw agent::JournalError("the fleet's journal is out of reach: " + disconnect_reason_);
  }
  try {
    std::lock_guard lock(control_mutex_);
    const PgResult r = control_.Exec(sql, params);
    std::vector<v1::Event> events;
    events.reserve(static_cast<std::size_t>(PQntuples(r.get())));
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      v1::Event e;
      if (agent::EventFromJson(Text(r.get(), i, 0), &e)) events.push_back(std::move(e));
    }
    return events;
  } catch (const FleetDbError& e) {
    throw agent::JournalError(std::string("the fleet's journal: ") + e.what());
  }
}

bool Fleet::Connected() const {
  std::lock_guard lock(mutex_);
  return connected_;
}

bool Fleet::Confirm(std::uint64_t sequence) {
  std::lock_guard lock(mutex_);
  return unconfirmed_.erase(sequence) == 1;
}

bool Fleet::Record(PgLink& link, v1::Event& event) {
  try {
    RecordEvent(link, options_.node, &event);
    return true;
  } catch (const FleetDbError& e) {
    LogWarning("fleet: " + event.kind() + " not journaled yet (" + e.what() +
               "); delivering it when the database answers");
    event.set_sequence(0);
    return false;
  }
}

// Every event of the controller is committed here before it is published
// (DecisionStore::Commit): one transaction that checks the lease, journals
// the event under the next sequence, records the decided weight and
// notifies every node. A committed move forward is then applied here, as
// on any follower.
bool Fleet::Commit(v1::Event& event) {
  // Out of reach (as the fleet thread last found): what needs no lease is
  // delivered later without trying now, so nothing waits out a connect.
  if ((IsNodeRecord(event) || !NeedsLease(event.kind())) && !Connected()) {
    event.set_node(options_.node);
    Queue({event}, "controller");
    event.set_sequence(0);
    return false;
  }
  if (IsNodeRecord(event)) {
    bool recorded;
    {
      std::lock_guard lock(control_mutex_);
      recorded = Record(control_, event);
    }
    if (!recorded) {
      Queue({event}, "controller");
      event.set_sequence(0);
      return false;
    }
    {
      std::lock_guard lock(mutex_);
      unconfirmed_.insert(event.sequence());
    }
    mirror_.Add(event);
    return true;
  }
  const bool safe = IsSafeDecision(event.kind());
  Decider decider{options_.node, 0, "controller"};
  std::string holder;
  {
    std::lock_guard lock(mutex_);
    if (lease_mine_) decider.lease_epoch = lease_epoch_;
    holder = lease_holder_;
  }
  fleet::Commit c;
  try {
    std::lock_guard lock(control_mutex_);
    c = CommitDecision(control_, decider, &event);
  } catch (const FleetDbError& e) {
    if (!NeedsLease(event.kind())) {
      // Back to safety stands here already; the fleet hears of it when the
      // database answers again.
      LogWarning("fleet: " + event.cutover() + ": " + event.kind() +
                 " stands on this node but not yet in the fleet (" + e.what() +
                 "); delivering it when the database answers");
      Queue({event}, "controller");
      event.set_sequence(0);
      return false;
    }
    BumpGeneration();
    throw ApiError(
        grpc::StatusCode::UNAVAILABLE,
        std::string("the fleet's database cannot be reached, so nothing was decided: ") + e.what());
  }
  switch (c.outcome) {
    case fleet::Commit::Outcome::kStale: {
      std::lock_guard lock(mutex_);
      lease_mine_ = false;  // whatever this node believed, it decides no more
    }
      BumpGeneration();
      throw ApiError(grpc::StatusCode::UNAVAILABLE,
                     "refused by the fleet: this node's lease epoch " +
                         std::to_string(decider.lease_epoch) +
                         " is not the live one (the decider is " +
                         (holder.empty() ? std::string("unknown") : holder) +
                         "); a newer decision stands, nothing was changed");
    case fleet::Commit::Outcome::kSuperseded:
      BumpGeneration();
      LogInfo("fleet: " + event.cutover() + ": " + event.kind() + " of rollout " +
              event.rollout_id() + " superseded: the fleet's rollout moved on");
      return false;
    case fleet::Commit::Outcome::kCommitted:
      break;
  }
  if (auto weight = DecidedWeight(event)) {
    // The decider applies its own decision at once, like any follower would.
    if (auto local = weights_.Read(event.cutover()); local && local->weight_bp != *weight)
      weights_.Store(event.cutover(), *weight);
    std::lock_guard lock(mutex_);
    auto& a = applied_[event.cutover()];
    if (c.epoch > a.first) a = {c.epoch, *weight};
    committed_[event.cutover()] = c.epoch;
  }
  {
    std::lock_guard lock(mutex_);
    unconfirmed_.insert(event.sequence());
    if (unconfirmed_.size() > 100000) unconfirmed_.erase(unconfirmed_.begin());  // never written
  }
  mirror_.Add(event);
  if (safe) {
    std::lock_guard lock(mutex_);
    auto it = pending_safe_.find(event.cutover());
    if (it != pending_safe_.end() && it->second == event.rollout_id() &&
        std::none_of(outbox_.begin(), outbox_.end(), [&](const Pending& p) {
          return p.events.front().cutover() == event.cutover();
        }))
      pending_safe_.erase(it);
  }
  return true;
}

state::Control Fleet::Store(state::StateFile& file, const std::string& cutover,
                            std::uint32_t green_bp, const v1::Event& decision) {
  if (IsSafeDecision(decision.kind())) {
    {
      std::lock_guard lock(mutex_);
      pending_safe_[cutover] = decision.rollout_id();
    }
    return file.StoreWeight(cutover, green_bp);  // back to safety: here, now
  }
  // Forward: decided now, stored here once the fleet has it (Commit).
  auto control = file.ReadControl(cutover);
  return state::Control{green_bp, control ? control->epoch : 0};
}

std::vector<state::RecordSnapshot> Fleet::Pool(const std::vector<state::RecordSnapshot>& local) {
  std::lock_guard lock(mutex_);
  local_ = local;
  return pooling_.Apply(local);
}

bool Fleet::Deciding() const {
  std::lock_guard lock(mutex_);
  return connected_ && lease_mine_ && SteadyClock::now() < lease_valid_until_;
}

// Live as of the last read of the fleet's tables (every heartbeat on the
// decider, every follower_refresh elsewhere).
bool Fleet::LiveLocked(const NodeView& n) const { return n.age < options_.liveness; }

std::uint64_t Fleet::DecidedEpochLocked(const std::string& cutover) const {
  std::uint64_t epoch = 0;
  if (auto d = decided_.find(cutover); d != decided_.end()) epoch = d->second.epoch;
  if (auto c = committed_.find(cutover); c != committed_.end()) epoch = std::max(epoch, c->second);
  return epoch;
}

bool Fleet::Applied(const std::string& cutover) const {
  std::lock_guard lock(mutex_);
  const std::uint64_t decided = DecidedEpochLocked(cutover);
  for (const auto& n : nodes_) {
    if (n.name == options_.node) {
      auto a = applied_.find(cutover);
      if (a == applied_.end() || a->second.first < decided) return false;
      continue;
    }
    // Only live nodes whose nginx has the cutover must have it.
    if (!LiveLocked(n) || !n.counters.count(cutover)) continue;
    auto a = n.applied.find(cutover);
    if (a == n.applied.end() || a->second.first < decided) return false;
  }
  return true;
}

void Fleet::Annotate(v1::Cutover* cutover) const {
  std::lock_guard lock(mutex_);
  v1::FleetStatus* f = cutover->mutable_fleet();
  const auto now = SteadyClock::now();
  f->set_node(options_.node);
  f->set_connected(connected_);
  const bool lease_live = now < lease_seen_until_;
  f->set_decider(lease_live ? lease_holder_ : "");
  f->set_lease_epoch(lease_epoch_);
  const std::uint64_t decided = DecidedEpochLocked(cutover->name());
  f->set_decided_epoch(decided);
  if (auto d = decided_.find(cutover->name()); d != decided_.end() && d->second.green_bp)
    f->set_decided_green_percent(agent::BpToPercent(*d->second.green_bp));
  *f->mutable_as_of() = agent::ToProtoTimestamp(view_as_of_);
  for (const auto& n : nodes_) {
    v1::FleetNode* out = f->add_nodes();
    out->set_name(n.name);
    const bool self = n.name == options_.node;
    std::pair<std::uint64_t, std::uint32_t> applied{0, 0};
    if (self) {
      if (auto a = applied_.find(cutover->name()); a != applied_.end()) applied = a->second;
    } else if (auto a = n.applied.find(cutover->name()); a != n.applied.end()) {
      applied = a->second;
    }
    out->set_applied_epoch(applied.first);
    out->set_applied_green_percent(agent::BpToPercent(applied.second));
    *out->mutable_last_heartbeat() = agent::ToProtoTimestamp(n.heartbeat);
    *out->mutable_heartbeat_age() = agent::ToProtoDuration(n.age);  // as of as_of
    out->set_stale(self ? !connected_ : !LiveLocked(n));
    out->set_lagging(applied.first < decided);
    out->set_decider(lease_live && n.name == lease_holder_);
  }
}

}  // namespace cutover::fleet
