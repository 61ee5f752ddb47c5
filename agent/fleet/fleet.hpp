// One node of a fleet: cutover-agent --fleet postgresql://... --node NAME.
//
// The fleet's shared state lives in PostgreSQL (schema.cpp): a lease with a
// fencing token, every node's heartbeat with its counters, the decision
// log, each cutover's decided weight and rollout, the journal, and calls a
// node hands to the decider. This class is the node's side of it, plugged
// into the controller through its seams (agent/server/seams.hpp):
//
//   DecisionStore every event is committed to the fleet (a decision fenced
//                 by the lease) before it is published, numbered by the
//                 database; a move forward is applied once committed, a
//                 move back is stored here first
//   CounterPool   the decider judges every live node's counters added up
//   DecisionRole  only the lease holder's controller decides; the others
//                 follow the shared journal
//   FleetFront    mutating calls on a follower go to the decider; status
//                 shows every node
//   journal()     the fleet's journal: the journal writer confirms what
//                 the commits wrote; reads are the database's, or the
//                 mirror's while it is out of reach
//
// A fleet thread of its own heartbeats, keeps the lease, listens for
// decisions (LISTEN/NOTIFY; a periodic read as the fallback), applies them
// to the local state file, acknowledges them, runs the calls handed to the
// decider, and delivers the node-local guard's reverts. Losing the
// database changes nothing here: nginx keeps the last weights and the guard
// keeps watching; on reconnect the node delivers what it decided alone and
// converges to the fleet's weights.
#pragma once

#include <prometheus/registry.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/core/clock.hpp"
#include "agent/fleet/counter_pool.hpp"
#include "agent/fleet/decision_log.hpp"
#include "agent/fleet/journal_mirror.hpp"
#include "agent/fleet/local_guard.hpp"
#include "agent/fleet/local_weights.hpp"
#include "agent/fleet/pg_link.hpp"
#include "agent/journal/pg_journal.hpp"
#include "agent/server/controller.hpp"
#include "agent/server/seams.hpp"

namespace cutover::fleet {

class FleetMetrics;

struct FleetOptions {
  std::string dsn;
  std::string node;
  std::string state_path;
  agent::Nanos heartbeat = std::chrono::milliseconds(100);  // also the decider's refresh
  agent::Nanos lease_ttl = std::chrono::seconds(2);
  agent::Nanos liveness = std::chrono::seconds(1);  // heartbeat age past which a node is stale
  agent::Nanos follower_refresh = std::chrono::seconds(1);  // the polling fallback
  std::chrono::milliseconds statement_timeout{1000};
  std::chrono::milliseconds forward_timeout{10000};

  // The timing for an agent ticking every `tick`: a heartbeat per tick but
  // not more than ten a second, stale after five missed, the lease a
  // little longer than that.
  static FleetOptions ForTick(agent::Nanos tick);
};

// What this node knows of another (or itself) from the fleet's tables.
struct NodeView {
  std::string name;
  agent::WallTime heartbeat{};
  agent::Nanos age{0};  // of the heartbeat, when read
  NodeCounters counters;
  std::map<std::string, std::pair<std::uint64_t, std::uint32_t>> applied;  // epoch, green bp
};
struct DecidedView {
  std::uint64_t epoch = 0;
  std::optional<std::uint32_t> green_bp;
  std::string rollout_id, state, decided_by;
};

class Fleet final : public agent::DecisionStore,
                    public agent::CounterPool,
                    public agent::DecisionRole,
                    public agent::FleetFront {
 public:
  // Connects, opens the fleet's journal, migrates the schema and waits out a
  // previous agent of the same node name; throws (agent::JournalError,
  // FleetDbError) when the database cannot be used or the name is taken.
  Fleet(FleetOptions options, const agent::Clock& clock);
  ~Fleet() override;

  agent::Journal& journal() { return *journal_; }
  LocalGuard& guard() { return guard_; }
  // Starts the fleet thread; `metrics` may be null.
  void Start(agent::Controller& controller, prometheus::Registry* metrics);
  // Stops the thread, gives up the lease and leaves the fleet.
  void Stop();

  // agent::DecisionStore
  state::Control Store(state::StateFile& file, const std::string& cutover, std::uint32_t green_bp,
                       const v1::Event& decision) override;
  bool Commit(v1::Event& event) override;
  // agent::CounterPool
  std::vector<state::RecordSnapshot> Pool(const std::vector<state::RecordSnapshot>& local) override;
  // agent::DecisionRole
  bool Deciding() const override;
  std::uint64_t Generation() const override { return generation_.load(); }
  bool Applied(const std::string& cutover) const override;
  // agent::FleetFront
  bool Forwards() const override { return !Deciding(); }
  void Forward(const std::string& verb, const google::protobuf::Message& request,
               const std::string& actor, google::protobuf::Message* response) override;
  void Annotate(v1::Cutover* cutover) const override;

  const std::string& node() const { return options_.node; }

 private:
  class FleetJournal;
  friend class FleetJournal;
  struct Pending {
    std::vector<v1::Event> events;
    std::string origin;
  };

  // The fleet thread.
  void Run();
  void OnConnected();
  void OnDisconnected(const std::string& why);
  void Beat();
  void Refresh();
  void Reconcile();
  void Handle(const Notification& n);
  void ApplyDecision(const std::string& cutover, std::uint64_t epoch, std::uint32_t green_bp);
  void Ack(const std::string& cutover);
  bool Tail();  // true when it saw what other nodes journaled
  void FlushOutbox();
  void TakeCommands();
  void Join();

  // The controller's journal (FleetJournal): what it reads, connected.
  std::vector<v1::Event> ReadJournal(const std::string& sql,
                                     const std::vector<PgLink::Param>& params);
  bool Connected() const;
  // What this node records of its own (its start, its syncs): numbered in
  // the fleet's journal, decided by nobody. False: the database is out of reach.
  bool Record(PgLink& link, v1::Event& event);
  // Whether the journal writer's event `sequence` is one a commit of this
  // node wrote (each is confirmed once).
  bool Confirm(std::uint64_t sequence);
  void Queue(std::vector<v1::Event> events, const std::string& origin);
  void BumpGeneration() { generation_.fetch_add(1); }
  std::uint64_t DecidedEpochLocked(const std::string& cutover) const;
  bool LiveLocked(const NodeView& n) const;

  FleetOptions options_;
  const agent::Clock& clock_;
  std::string instance_;  // tells this agent apart from another with the same node name
  std::string describe_;  // the fleet's database, for logs
  std::unique_ptr<agent::Journal> journal_;
  LocalWeights weights_;
  LocalGuard guard_;
  agent::Controller* controller_ = nullptr;
  std::unique_ptr<FleetMetrics> metrics_;

  PgLink link_;  // the fleet thread's
  std::mutex control_mutex_;
  PgLink control_;  // commits and forwarded calls, from the controller's and the API's threads

  mutable std::mutex mutex_;  // everything below
  bool connected_ = false;
  std::string disconnect_reason_;
  std::string lease_holder_;
  std::uint64_t lease_epoch_ = 0;
  bool lease_mine_ = false;
  agent::SteadyTime lease_valid_until_{};  // ours, by this node's clock, with a margin
  agent::SteadyTime lease_seen_until_{};   // the holder's, as last seen
  std::vector<NodeView> nodes_;
  std::map<std::string, DecidedView> decided_;
  agent::WallTime view_as_of_{};
  std::map<std::string, std::pair<std::uint64_t, std::uint32_t>> applied_;  // this node's
  std::map<std::string, std::uint64_t> acked_;
  std::map<std::string, std::uint64_t> committed_;  // the epoch of this node's last commit
  std::map<std::string, std::string>
      pending_safe_;  // cutover -> rollout reverted here, undelivered
  std::deque<Pending> outbox_;
  std::vector<state::RecordSnapshot> local_;  // the last tick's records
  CounterPooling pooling_;
  std::uint64_t tail_cursor_ = 0;
  // The fleet's journal as this node last read it (agent/fleet/journal_mirror.hpp).
  JournalMirror mirror_;
  std::set<std::uint64_t> unconfirmed_;  // sequences this node committed, for Confirm

  std::mutex forward_mutex_;
  std::condition_variable forward_done_;
  std::set<std::int64_t> done_ids_;

  int wake_ = -1;  // an eventfd: Queue() wakes the fleet thread with it
  std::atomic<std::uint64_t> generation_{1};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace cutover::fleet
