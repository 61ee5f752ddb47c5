// A fleet, all real: three nginx with the module (each in front of its own
// blue and green backends), three cutover-agents with --fleet --node on one
// real PostgreSQL, on loopback; a TCP relay the test cuts between a node and
// the database.
#include "support/fleet.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "support/cutoverctl.hpp"
#include "support/http.hpp"
#include "support/plan.hpp"
#include "support/postgres_suite.hpp"

namespace cutover::test {
namespace {

using namespace std::chrono_literals;

class FleetTest : public PostgresSuite {
 protected:
  void SetUp() override {
    db_ = "fleet" + std::to_string(++databases_);
    pg().Psql("CREATE DATABASE " + db_);
  }
  FleetOptions Options() {
    FleetOptions o;
    o.database = db_;
    return o;
  }

  static grpc::Status Start(FleetSite& fleet, int via, const v1::Plan& plan,
                            v1::RolloutResponse* out = nullptr) {
    v1::StartRolloutRequest req;
    req.set_cutover("app");
    *req.mutable_plan() = plan;
    req.set_reason("release 42");
    v1::RolloutResponse ignored;
    return fleet.agent(via).UnixStub()->StartRollout(Context().get(), req, out ? out : &ignored);
  }
  static grpc::Status SetWeight(FleetSite& fleet, int via, double percent) {
    v1::SetWeightRequest req;
    req.set_cutover("app");
    req.set_percent(percent);
    v1::SetWeightResponse ignored;
    return fleet.agent(via).UnixStub()->SetWeight(Context().get(), req, &ignored);
  }
  // The shared journal through node `via`, oldest first.
  static std::vector<v1::Event> Journal(FleetSite& fleet, int via) {
    v1::GetHistoryRequest req;
    req.set_cutover("app");
    req.set_limit(1000);
    v1::GetHistoryResponse resp;
    EXPECT_TRUE(fleet.agent(via).UnixStub()->GetHistory(Context().get(), req, &resp).ok());
    return {resp.events().rbegin(), resp.events().rend()};
  }
  static std::string Weights(const FleetSite& fleet) {
    std::string out;
    for (int i = 0; i < fleet.size(); ++i) out += " " + std::to_string(fleet.Weight(i));
    return "weights:" + out;
  }
  // A paced load on every node's nginx.
  static std::vector<std::unique_ptr<Load>> LoadEveryNode(FleetSite& fleet, int rps) {
    std::vector<std::unique_ptr<Load>> loads;
    for (int i = 0; i < fleet.size(); ++i)
      loads.push_back(std::make_unique<Load>(fleet.site(i).Url(), rps, 90s, rps * 90ull));
    return loads;
  }
  static std::string Logs(FleetSite& fleet) {
    std::string out;
    for (int i = 0; i < fleet.size(); ++i)
      out += "---- " + fleet.name(i) + "\n" + fleet.agent(i).Log();
    return out;
  }
  static std::string MetricsUrl(const FleetSite& fleet, int i) {
    return "http://127.0.0.1:" + std::to_string(fleet.metrics_port(i)) + "/metrics";
  }
  // Node `node` as node `via` sees it.
  static v1::FleetNode NodeSeen(FleetSite& fleet, int via, int node) {
    const v1::Cutover status = fleet.Status(via);
    for (const auto& n : status.fleet().nodes())
      if (n.name() == fleet.name(node)) return n;
    return {};
  }
  static bool StepHoldStarted(FleetSite& fleet, int via, int step) {
    const auto r = fleet.Status(via).rollout();
    return r.step() == step && !r.awaiting_apply();
  }

  static inline int databases_ = 0;
  std::string db_;
};

TEST_F(FleetTest, ARolloutStartedThroughAnyAgentRunsOnAllThree) {
  FleetSite fleet(pg(), Options());
  fleet.StartAll();
  const int decider = fleet.AwaitDecider();
  ASSERT_GE(decider, 0) << Logs(fleet);
  const int via = (decider + 1) % 3;  // a follower: it hands the call to the decider
  auto loads = LoadEveryNode(fleet, 80);
  v1::RolloutResponse resp;
  auto status = Start(fleet, via, MakePlan({10, 50, 100}, 1500ms, 2s), &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.rollout().state(), v1::ROLLOUT_STATE_RUNNING);
  // Each step reaches every node's state file before the next one comes.
  for (std::uint32_t bp : {1000u, 5000u, 10000u})
    ASSERT_TRUE(WaitFor([&] { return fleet.AllAt(bp); }, 40s))
        << bp << " " << Weights(fleet) << Logs(fleet);
  ASSERT_TRUE(WaitFor(
      [&] { return fleet.Status(via).rollout().state() == v1::ROLLOUT_STATE_COMPLETED; }, 20s));
  // Every node names the same decider, the same decided epoch, and every
  // node as having applied it.
  const std::uint64_t decided = fleet.Status(decider).fleet().decided_epoch();
  EXPECT_GE(decided, 4u);  // three steps and the completion
  for (int i = 0; i < 3; ++i) {
    v1::FleetStatus f;
    EXPECT_TRUE(WaitFor([&] {
      f = fleet.Status(i).fleet();
      if (f.decided_epoch() != decided || f.nodes_size() != 3) return false;
      for (const auto& n : f.nodes())
        if (n.applied_epoch() != decided || n.lagging() || n.stale()) return false;
      return true;
    })) << f.DebugString();
    EXPECT_EQ(f.node(), fleet.name(i));
    EXPECT_EQ(f.decider(), fleet.name(decider));
    EXPECT_DOUBLE_EQ(f.decided_green_percent(), 100);
  }
  const auto journal = Journal(fleet, (via + 1) % 3);
  std::vector<std::string> kinds;
  for (const auto& e : journal) {
    if (e.kind() == "inconclusive") continue;
    kinds.push_back(e.kind());
    EXPECT_EQ(e.node(), fleet.name(decider)) << e.kind();  // one decider made every decision
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"rollout_started", "step_advanced", "step_applied",
                                             "step_advanced", "step_applied", "step_advanced",
                                             "step_applied", "completed"}));
  EXPECT_EQ(journal.front().actor(), "unix@" + fleet.name(via));
  for (auto& l : loads) {
    l->Stop();
    EXPECT_EQ(l->non_200(), 0u);
  }
}

// Every node's journal writer takes its numbers from the fleet's commits:
// the shared journal holds each number once, in the order decided, and no
// node counts a journal write as failed or an event as lost.
TEST_F(FleetTest, EveryNodesJournalNumbersAreTheFleetsAndNoneIsLost) {
  FleetOptions options = Options();
  options.metrics = true;
  FleetSite fleet(pg(), options);
  fleet.StartAll();
  const int decider = fleet.AwaitDecider();
  ASSERT_GE(decider, 0) << Logs(fleet);
  auto loads = LoadEveryNode(fleet, 40);
  ASSERT_TRUE(Start(fleet, (decider + 1) % 3, MakePlan({50, 100}, 500ms, 2s)).ok());
  ASSERT_TRUE(WaitFor(
      [&] { return fleet.Status(decider).rollout().state() == v1::ROLLOUT_STATE_COMPLETED; }, 40s))
      << Logs(fleet);
  ASSERT_TRUE(SetWeight(fleet, (decider + 2) % 3, 0).ok());
  ASSERT_TRUE(WaitFor([&] { return fleet.AllAt(0); })) << Weights(fleet);
  EXPECT_EQ(pg().Psql("SELECT count(*) = max(sequence) AND count(DISTINCT sequence) = count(*)"
                      " FROM cutover_journal",
                      db_),
            "t\n");
  EXPECT_EQ(pg().Psql("SELECT count(*) FROM cutover_journal"
                      " WHERE (event->>'sequence')::bigint <> sequence",
                      db_),
            "0\n");
  EXPECT_EQ(pg().Psql("SELECT count(DISTINCT event->>'node') FROM cutover_journal"
                      " WHERE kind = 'agent_started'",
                      db_),
            "3\n");
  // What a follower shows is the table's, number for number.
  const auto journal = Journal(fleet, (decider + 2) % 3);
  ASSERT_FALSE(journal.empty());
  EXPECT_EQ(journal.back().kind(), "weight_set");
  EXPECT_EQ(std::to_string(journal.back().sequence()) + "\n",
            pg().Psql("SELECT max(sequence) FROM cutover_journal", db_));
  HttpClient http;
  for (int i = 0; i < 3; ++i) {
    const std::string metrics = http.Get(MetricsUrl(fleet, i)).body;
    EXPECT_NE(metrics.find("cutover_journal_write_failures_total 0"), std::string::npos)
        << fleet.name(i) << "\n"
        << metrics << Logs(fleet);
    EXPECT_NE(metrics.find("cutover_journal_events_lost_total 0"), std::string::npos)
        << fleet.name(i);
    EXPECT_NE(metrics.find("cutover_journal_writable 1"), std::string::npos) << fleet.name(i);
  }
  for (auto& l : loads) l->Stop();
}

TEST_F(FleetTest, WhenTheDeciderIsKilledAnotherTakesOverAndTheRolloutCompletes) {
  FleetSite fleet(pg(), Options());
  fleet.StartAll();
  const int decider = fleet.AwaitDecider();
  ASSERT_GE(decider, 0) << Logs(fleet);
  auto loads = LoadEveryNode(fleet, 80);
  ASSERT_TRUE(Start(fleet, decider, MakePlan({20, 50, 100}, 3s, 2s)).ok());
  ASSERT_TRUE(WaitFor([&] { return StepHoldStarted(fleet, decider, 0); }, 20s)) << Logs(fleet);
  ASSERT_EQ(fleet.agent(decider).StopWith(SIGKILL), 128 + SIGKILL);
  // Its nginx serves the last weight meanwhile.
  const std::uint64_t green_before = loads[static_cast<std::size_t>(decider)]->green();
  EXPECT_EQ(fleet.Weight(decider), 2000u);
  const int next = fleet.AwaitDecider(decider);
  ASSERT_GE(next, 0) << Logs(fleet);
  ASSERT_NE(next, decider);
  ASSERT_TRUE(WaitFor(
      [&] {
        for (int i = 0; i < 3; ++i)
          if (i != decider && fleet.Weight(i) != 10000) return false;
        return true;
      },
      60s))
      << Weights(fleet) << Logs(fleet);
  ASSERT_TRUE(WaitFor(
      [&] { return fleet.Status(next).rollout().state() == v1::ROLLOUT_STATE_COMPLETED; }, 20s));
  EXPECT_EQ(fleet.Weight(decider), 2000u);  // nobody there to apply it
  EXPECT_GT(loads[static_cast<std::size_t>(decider)]->green(), green_before);
  // The new decider went on with the step's hold from the shared journal:
  // step 0 was applied (and its hold started) once.
  const auto journal = Journal(fleet, next);
  int step0_applied = 0;
  for (const auto& e : journal) {
    if (e.kind() == "step_applied" && e.step() == 0) ++step0_applied;
    if (e.kind() == "step_advanced" && e.step() == 2) {
      EXPECT_EQ(e.node(), fleet.name(next));
    }
  }
  EXPECT_EQ(step0_applied, 1);
  // The killed node's agent comes back and converges to the fleet's weight.
  fleet.agent(decider).Start();
  EXPECT_TRUE(WaitFor([&] { return fleet.Weight(decider) == 10000; })) << Logs(fleet);
}

TEST_F(FleetTest, APausedOldDeciderNeverOverwritesANewerDecision) {
  FleetSite fleet(pg(), Options());
  fleet.StartAll();
  const int old = fleet.AwaitDecider();
  ASSERT_GE(old, 0) << Logs(fleet);
  auto loads = LoadEveryNode(fleet, 80);
  ASSERT_TRUE(Start(fleet, old, MakePlan({20, 50, 100}, 3s, 2s)).ok());
  ASSERT_TRUE(WaitFor([&] { return StepHoldStarted(fleet, old, 0); }, 20s)) << Logs(fleet);
  ::kill(fleet.agent(old).pid(), SIGSTOP);  // mid-hold, holding the lease
  const int next = fleet.AwaitDecider(old);
  ASSERT_GE(next, 0) << Logs(fleet);
  ASSERT_TRUE(WaitFor([&] { return fleet.Weight(next) == 10000; }, 60s)) << Weights(fleet);
  ::kill(fleet.agent(old).pid(), SIGCONT);
  // It wakes up with its old token and its old view: it follows, and takes
  // the fleet's weight; nothing it does changes the fleet's decisions.
  ASSERT_TRUE(WaitFor([&] { return fleet.Status(old).fleet().decider() == fleet.name(next); }))
      << Logs(fleet);
  ASSERT_TRUE(WaitFor([&] { return fleet.AllAt(10000); })) << Weights(fleet);
  EXPECT_NE(fleet.agent(old).Log().find("no longer decides"), std::string::npos)
      << fleet.agent(old).Log();
  ASSERT_TRUE(WaitFor([&] {
    return fleet.Status(old).rollout().state() == v1::ROLLOUT_STATE_COMPLETED;
  })) << Logs(fleet);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(fleet.Status(old).rollout().state(), v1::ROLLOUT_STATE_COMPLETED);
    EXPECT_TRUE(fleet.AllAt(10000)) << Weights(fleet);
  }
  bool taken_over = false;
  for (const auto& e : Journal(fleet, old)) {
    if (e.node() == fleet.name(next)) taken_over = true;
    if (taken_over) {
      EXPECT_NE(e.node(), fleet.name(old)) << e.kind() << " after the takeover";
    }
  }
  EXPECT_TRUE(taken_over);
}

TEST_F(FleetTest, GreenFailingBehindOneNodeRevertsAllThree) {
  FleetSite fleet(pg(), Options());
  fleet.StartAll();
  ASSERT_GE(fleet.AwaitDecider(), 0) << Logs(fleet);
  auto loads = LoadEveryNode(fleet, 80);
  // A threshold the pooled window (a third of it failing) stays under but
  // the failing node's own window does not: its guard must be the one.
  ASSERT_TRUE(Start(fleet, 0, MakePlan({50, 100}, 10min, 2s, 20, 0.5)).ok());
  ASSERT_TRUE(WaitFor([&] { return fleet.AllAt(5000) && StepHoldStarted(fleet, 0, 0); }, 20s))
      << Weights(fleet);
  ASSERT_TRUE(WaitFor([&] { return loads[2]->green() >= 100; }));
  fleet.site(2).green().SetStatus(500);
  ASSERT_TRUE(WaitFor([&] { return fleet.AllAt(0); }, 20s)) << Weights(fleet) << Logs(fleet);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(WaitFor([&] {
      return fleet.Status(i).rollout().state() == v1::ROLLOUT_STATE_REVERTED;
    })) << fleet.name(i);
  const auto journal = Journal(fleet, 1);
  ASSERT_FALSE(journal.empty());
  const v1::Event& reverted = journal.back();
  EXPECT_EQ(reverted.kind(), "reverted");
  EXPECT_EQ(reverted.node(), fleet.name(2));
  EXPECT_NE(reverted.reason().find("node-local guard"), std::string::npos) << reverted.reason();
  EXPECT_GT(reverted.measurement().error_rate(), 0.5);
  // From now on every node sends everything to blue.
  std::vector<std::uint64_t> green_after, total_after;
  for (auto& l : loads) {
    green_after.push_back(l->green());
    total_after.push_back(l->total());
  }
  ASSERT_TRUE(WaitFor([&] {
    for (std::size_t i = 0; i < loads.size(); ++i)
      if (loads[i]->total() < total_after[i] + 100) return false;
    return true;
  }));
  for (std::size_t i = 0; i < loads.size(); ++i) {
    loads[i]->Stop();
    EXPECT_LE(loads[i]->green() - green_after[i], 1u) << "node " << i + 1;  // one in flight
  }
}

TEST_F(FleetTest, ANodeCutFromTheDatabaseKeepsItsWeightRevertsOnItsOwnAndRejoins) {
  FleetOptions options = Options();
  options.relayed = {2};
  FleetSite fleet(pg(), options);
  fleet.StartAll();
  const int decider = fleet.AwaitDecider();
  ASSERT_EQ(decider, 0) << "the first agent started takes the lease" << Logs(fleet);
  auto loads = LoadEveryNode(fleet, 80);
  v1::Plan plan = MakePlan({20, 60}, 3s, 2s);
  plan.mutable_steps(1)->mutable_hold()->set_seconds(600);
  ASSERT_TRUE(Start(fleet, 0, plan).ok());
  ASSERT_TRUE(WaitFor([&] { return fleet.AllAt(2000) && StepHoldStarted(fleet, 0, 0); }, 20s))
      << Weights(fleet);
  fleet.relay(2).Cut();
  ASSERT_TRUE(WaitFor([&] {
    const v1::FleetNode seen = NodeSeen(fleet, 0, 2);
    return seen.stale();
  })) << Logs(fleet);
  // The fleet goes on without it; it keeps its last weight (fail-static).
  ASSERT_TRUE(WaitFor([&] { return fleet.Weight(0) == 6000 && fleet.Weight(1) == 6000; }, 30s))
      << Weights(fleet) << Logs(fleet);
  EXPECT_EQ(fleet.Weight(2), 2000u);
  ASSERT_TRUE(WaitFor([&] { return !fleet.Status(2).fleet().connected(); }));
  // Its green fails: its own guard reverts it, with nobody to ask.
  fleet.site(2).green().SetStatus(500);
  ASSERT_TRUE(WaitFor([&] { return fleet.Weight(2) == 0; }, 20s)) << Logs(fleet);
  EXPECT_EQ(fleet.Weight(0), 6000u);
  EXPECT_EQ(fleet.Weight(1), 6000u);
  // Back on the network, its revert becomes the fleet's decision.
  fleet.relay(2).Restore();
  ASSERT_TRUE(WaitFor([&] { return fleet.AllAt(0); }, 30s)) << Weights(fleet) << Logs(fleet);
  EXPECT_TRUE(
      WaitFor([&] { return fleet.Status(0).rollout().state() == v1::ROLLOUT_STATE_REVERTED; }));
  const auto journal = Journal(fleet, 0);
  EXPECT_EQ(journal.back().kind(), "reverted");
  EXPECT_EQ(journal.back().node(), fleet.name(2));
  ASSERT_TRUE(WaitFor([&] {
    const v1::FleetNode seen = NodeSeen(fleet, 0, 2);
    return !seen.stale() && !seen.lagging();
  })) << Logs(fleet);
}

TEST_F(FleetTest, ANodeCutFromTheDatabaseShowsStaleAndConvergesWhenItReconnects) {
  FleetOptions options = Options();
  options.relayed = {2};
  options.metrics = true;
  FleetSite fleet(pg(), options);
  fleet.StartAll();
  ASSERT_EQ(fleet.AwaitDecider(), 0) << Logs(fleet);
  ASSERT_TRUE(SetWeight(fleet, 2, 10).ok());
  ASSERT_TRUE(WaitFor([&] { return fleet.AllAt(1000); })) << Weights(fleet);
  fleet.relay(2).Cut();
  ASSERT_TRUE(WaitFor([&] {
    const v1::FleetNode seen = NodeSeen(fleet, 0, 2);
    return seen.stale();
  })) << Logs(fleet);
  // A follower that cannot reach the database cannot hand a call on either.
  EXPECT_EQ(SetWeight(fleet, 2, 30).error_code(), grpc::StatusCode::UNAVAILABLE);
  ASSERT_TRUE(SetWeight(fleet, 1, 40).ok());  // handed from node-2 to node-1
  ASSERT_TRUE(WaitFor([&] { return fleet.Weight(0) == 4000 && fleet.Weight(1) == 4000; }));
  EXPECT_EQ(fleet.Weight(2), 1000u);
  ASSERT_TRUE(WaitFor([&] {
    const v1::FleetNode seen = NodeSeen(fleet, 0, 2);
    return seen.lagging();
  }));
  const auto text = fleet.Ctl(0, {"status", "app"});
  EXPECT_EQ(text.exit_code, 0) << Said(text);
  EXPECT_NE(text.out.find("stale, lagging"), std::string::npos) << text.out;
  HttpClient http;
  std::string metrics;
  EXPECT_TRUE(WaitFor([&] {
    metrics = http.Get(MetricsUrl(fleet, 0)).body;
    return metrics.find("cutover_fleet_node_lagging{cutover=\"app\",node=\"node-3\"} 1") !=
               std::string::npos &&
           metrics.find("cutover_fleet_node_stale{node=\"node-3\"} 1") != std::string::npos;
  })) << metrics;
  fleet.relay(2).Restore();
  ASSERT_TRUE(WaitFor([&] { return fleet.Weight(2) == 4000; }, 30s)) << Logs(fleet);
  EXPECT_TRUE(WaitFor([&] {
    const v1::FleetNode seen = NodeSeen(fleet, 0, 2);
    return !seen.stale() && !seen.lagging();
  }));
}

TEST_F(FleetTest, StatusThroughAnyNodeShowsEveryNodeAndNoSecretOfTheDsn) {
  const std::string secret = "Fleet-Secret-2718";
  FleetOptions options = Options();
  options.password = secret;
  options.metrics = true;
  FleetSite fleet(pg(), options);
  fleet.StartAll();
  ASSERT_GE(fleet.AwaitDecider(), 0) << Logs(fleet);
  const auto set = fleet.Ctl(2, {"set-weight", "app", "25", "--reason", "canary"});
  ASSERT_EQ(set.exit_code, 0) << Said(set);
  ASSERT_TRUE(WaitFor([&] { return fleet.AllAt(2500); })) << Weights(fleet);
  RunResult json;
  ASSERT_TRUE(WaitFor([&] {
    json = fleet.Ctl(1, {"--json", "status", "app"});
    const auto status = nlohmann::json::parse(json.out, nullptr, false);
    if (!status.is_object()) return false;
    const auto& f = status["cutover"]["fleet"];
    if (f["nodes"].size() != 3) return false;
    for (const auto& n : f["nodes"])
      if (n["applied_epoch"] != f["decided_epoch"] || n["lagging"] != false) return false;
    return f["node"] == "node-2" && f["decided_green_percent"] == 25.0;
  })) << Said(json);
  const auto text = fleet.Ctl(0, {"status", "app"});
  for (int i = 0; i < 3; ++i) EXPECT_NE(text.out.find(fleet.name(i)), std::string::npos);
  const auto history = fleet.Ctl(0, {"history", "app"});
  EXPECT_NE(history.out.find("canary"), std::string::npos) << Said(history);
  HttpClient http;
  std::string said = text.out + json.out + history.out + Logs(fleet);
  for (int i = 0; i < 3; ++i) {
    std::string metrics;
    EXPECT_TRUE(WaitFor([&] {
      metrics = http.Get(MetricsUrl(fleet, i)).body;
      return metrics.find("cutover_fleet_node_applied_green_percent{cutover=\"app\",node=\"" +
                          fleet.name(2) + "\"} 25") != std::string::npos;
    })) << metrics;
    said += metrics;
  }
  pg().Psql("SELECT 1");  // the server is fine: what follows is the agents' doing
  EXPECT_EQ(said.find(secret), std::string::npos);
  EXPECT_EQ(
      pg().Psql("SELECT count(*) FROM cutover_journal WHERE event::text LIKE '%" + secret + "%'",
                db_),
      "0\n");
}

TEST_F(FleetTest, AJournalElsewhereAndATakenNodeNameAreRefused) {
  FleetSite fleet(pg(), Options());
  fleet.agent(0).Start();
  AgentOptions o = fleet.agent(1).options();
  o.journal = (fleet.dir(1) / "journal");
  AgentProcess elsewhere(o, fleet.dir(1) / "elsewhere");
  EXPECT_THROW(elsewhere.Start(), std::runtime_error);
  EXPECT_NE(elsewhere.Stderr().find("--journal: with --fleet the journal is the fleet's database"),
            std::string::npos)
      << elsewhere.Stderr();
  AgentOptions twin = fleet.agent(1).options();
  twin.node = fleet.name(0);  // node-1 is taken and heartbeating
  AgentProcess copy(twin, fleet.dir(1) / "twin");
  EXPECT_THROW(copy.Start(), std::runtime_error);
  EXPECT_NE(copy.Stderr().find("already in the fleet"), std::string::npos) << copy.Stderr();
}

}  // namespace
}  // namespace cutover::test
