// The runbooks' checks through the real agent in front of real nginx: an
// http gate on green's health endpoint and exec gates holding steps, a
// hanging gate that does not delay a revert, and the webhooks told of every
// decision in order, a hanging one slowing nothing.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "cutover/state_file.hpp"
#include "support/cutoverctl.hpp"
#include "support/http.hpp"
#include "support/stack.hpp"

namespace cutover::test {
namespace {

using nlohmann::json;

std::uint32_t WeightInFile(Stack& stack) {
  return state::StateFile::Open(stack.site().nginx().state_path(),
                                state::StateFile::Access::kReadOnly)
      .ReadControl("app")
      ->weight_bp;
}

// The journal of cutover "app", oldest first.
std::vector<v1::Event> Journal(Stack& stack) {
  v1::GetHistoryRequest req;
  req.set_cutover("app");
  req.set_limit(1000);
  v1::GetHistoryResponse resp;
  EXPECT_TRUE(stack.agent_process().UnixStub()->GetHistory(Context().get(), req, &resp).ok());
  return {resp.events().rbegin(), resp.events().rend()};
}

std::vector<v1::Event> OfKind(Stack& stack, const std::string& kind) {
  std::vector<v1::Event> out;
  for (auto& e : Journal(stack))
    if (e.kind() == kind) out.push_back(e);
  return out;
}

void StartRollout(Stack& stack, const std::string& plan_yaml) {
  WriteFile(stack.dir() / "plan.yaml", plan_yaml);
  const auto r = stack.Ctl({"rollout", "start", "app", stack.dir() / "plan.yaml"});
  ASSERT_EQ(r.exit_code, 0) << Said(r) << stack.AgentLog();
}

TEST(RunbookGates, AnHttpGateHoldsTheStepWhileGreensHealthAnswers503) {
  Stack stack;
  stack.green().SetPathStatus("/health", 503);
  Load load(stack.url(), 200, std::chrono::seconds(60), 12000);
  ASSERT_NO_FATAL_FAILURE(StartRollout(stack, R"(steps:
  - {percent: 10, hold: 1s}
  - {percent: 100, hold: 1h}
analysis: {window: 1s, min_requests: 5, max_error_rate: 5%}
gates:
  - http: {url: "http://{green}/health", expect_status: 200, timeout: 2s}
)"));
  // Asked before the first step, and again one window later: held at 0%.
  ASSERT_TRUE(WaitFor([&] { return OfKind(stack, "gate_failed").size() >= 2; }))
      << stack.AgentLog();
  EXPECT_EQ(WeightInFile(stack), 0u);
  EXPECT_TRUE(OfKind(stack, "step_advanced").empty());
  const v1::Event held = OfKind(stack, "gate_failed").front();
  EXPECT_EQ(held.reason().rfind("holding before step 1/2: http: GET http://" +
                                    stack.green().address() + "/health answered 503, expected 200",
                                0),
            0u)
      << held.reason();
  ASSERT_EQ(held.gates_size(), 1);
  EXPECT_EQ(held.gates(0).output(), "green\n");

  stack.green().SetPathStatus("/health", 200);
  ASSERT_TRUE(WaitFor([&] { return OfKind(stack, "step_advanced").size() >= 2; }))
      << stack.AgentLog();
  EXPECT_EQ(WeightInFile(stack), 10000u);
  const auto advanced = OfKind(stack, "step_advanced");
  ASSERT_EQ(advanced[0].gates_size(), 1);
  EXPECT_TRUE(advanced[0].gates(0).passed());
  EXPECT_EQ(load.non_200(), 0u);
}

TEST(RunbookGates, AnExecGateThatExitsOneHoldsUntilItPasses) {
  Stack stack;
  const std::string ready = stack.dir() / "smoke-ok";
  ASSERT_NO_FATAL_FAILURE(
      StartRollout(stack, R"(steps:
  - {percent: 25, hold: 1h}
analysis: {window: 1s}
gates:
  - exec:
      command: ["/bin/sh", "-c", "test -e )" +
                              ready + R"( || { echo 'smoke: 2 of 10 checks failed'; exit 1; }"]
      timeout: 10s
)"));
  ASSERT_TRUE(WaitFor([&] { return !OfKind(stack, "gate_failed").empty(); })) << stack.AgentLog();
  EXPECT_EQ(WeightInFile(stack), 0u);
  const v1::Event held = OfKind(stack, "gate_failed").front();
  ASSERT_EQ(held.gates_size(), 1);
  EXPECT_EQ(held.gates(0).name(), "exec");
  EXPECT_NE(held.gates(0).detail().find("exited 1 after"), std::string::npos)
      << held.gates(0).detail();
  EXPECT_EQ(held.gates(0).output(), "smoke: 2 of 10 checks failed\n");
  // What `status` shows too.
  const auto status = stack.Ctl({"--json", "status", "app"});
  EXPECT_NE(status.out.find("smoke: 2 of 10 checks failed"), std::string::npos) << status.out;

  WriteFile(ready, "");
  ASSERT_TRUE(WaitFor([&] { return WeightInFile(stack) == 2500; })) << stack.AgentLog();
}

TEST(RunbookGates, AHangingGateNeverDelaysARevertAndDiesWithTheAgent) {
  Stack stack;
  const std::string pid_file = stack.dir() / "gate.pid";
  Load load(stack.url(), 300, std::chrono::seconds(60), 18000);
  // Passes before step 0; before step 1 it hangs (its timeout is far off).
  ASSERT_NO_FATAL_FAILURE(StartRollout(stack, R"(steps:
  - {percent: 50, hold: 1s}
  - {percent: 100, hold: 1h}
analysis: {window: 1s, min_requests: 20, max_error_rate: 5%}
gates:
  - exec:
      command: ["/bin/sh", "-c", "[ \"$CUTOVER_STEP\" = 0 ] && exit 0; echo $$ > )" +
                                                  pid_file + R"(; exec sleep 1000"]
      timeout: 120s
)"));
  ASSERT_TRUE(WaitFor([&] { return !ReadFile(pid_file).empty(); }, std::chrono::seconds(30)))
      << stack.AgentLog();
  const pid_t gate = std::stoi(ReadFile(pid_file));
  EXPECT_EQ(WeightInFile(stack), 5000u);
  stack.green().SetStatus(500);
  ASSERT_TRUE(WaitFor([&] { return WeightInFile(stack) == 0; })) << stack.AgentLog();
  EXPECT_FALSE(ProcessGone(gate)) << "the revert waited for the gate";
  EXPECT_EQ(OfKind(stack, "reverted").size(), 1u);
  load.Stop();
  // Stopping the agent kills the command it was waiting on.
  EXPECT_EQ(stack.agent_process().StopWith(SIGTERM), 0) << stack.AgentLog();
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(gate); }));
}

std::vector<std::string> KindsReceived(const Backend& hook) {
  std::vector<std::string> kinds;
  for (const auto& r : hook.received()) kinds.push_back(json::parse(r.body)["kind"]);
  return kinds;
}

TEST(Notifications, AReceiverGetsEveryNotificationOfARolloutInOrder) {
  Backend agent_hook("agent-hook"), plan_hook("plan-hook");
  Stack stack({.notify = {"http://" + agent_hook.address() + "/agent"}});
  Load load(stack.url(), 200, std::chrono::seconds(60), 12000);
  ASSERT_NO_FATAL_FAILURE(StartRollout(stack, R"(steps:
  - {percent: 20, hold: 1s}
  - {percent: 100, hold: 1s}
analysis: {window: 1s, min_requests: 10, max_error_rate: 5%}
notify: ["http://)" + plan_hook.address() + R"(/plan/secret-token"]
)"));
  ASSERT_TRUE(
      WaitFor([&] { return !OfKind(stack, "completed").empty(); }, std::chrono::seconds(40)))
      << stack.AgentLog();
  load.Stop();
  std::vector<std::string> journaled;
  for (const auto& e : Journal(stack))
    if (e.kind() != "agent_started") journaled.push_back(e.kind());
  ASSERT_TRUE(WaitFor([&] { return plan_hook.received().size() >= journaled.size(); }));
  ASSERT_TRUE(WaitFor([&] { return agent_hook.received().size() >= journaled.size(); }));
  EXPECT_EQ(KindsReceived(agent_hook), journaled);
  EXPECT_EQ(KindsReceived(plan_hook), journaled);
  EXPECT_EQ(journaled.front(), "rollout_started");
  EXPECT_EQ(journaled.back(), "completed");
  std::uint64_t last = 0;
  for (const auto& r : plan_hook.received()) {
    const json body = json::parse(r.body);
    EXPECT_EQ(r.path, "/plan/secret-token");
    EXPECT_EQ(body["cutover"], "app");
    EXPECT_FALSE(body["text"].get<std::string>().empty());
    const std::uint64_t sequence = std::stoull(body["event"]["sequence"].get<std::string>());
    EXPECT_GT(sequence, last);  // in the journal's order
    last = sequence;
  }
  // The plan's webhook is a secret: status and the journal show it masked.
  const auto status = stack.Ctl({"--json", "status", "app"});
  EXPECT_EQ(status.out.find("secret-token"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("http://" + plan_hook.address() + "/***"), std::string::npos)
      << status.out;
  EXPECT_EQ(ReadFile(stack.dir() / "journal/journal.jsonl").find("secret-token"),
            std::string::npos);
  EXPECT_EQ(stack.AgentLog().find("secret-token"), std::string::npos);
}

TEST(Notifications, AHangingOrDeadReceiverDoesNotSlowARevert) {
  Backend stuck("stuck");
  stuck.Hold();
  const std::string dead = "http://127.0.0.1:" + std::to_string(FreePort()) + "/gone";
  Stack stack({.notify = {"http://" + stuck.address() + "/hook", dead}, .metrics = true});
  Load load(stack.url(), 300, std::chrono::seconds(60), 18000);
  ASSERT_NO_FATAL_FAILURE(StartRollout(stack, R"(steps:
  - {percent: 50, hold: 1h}
analysis: {window: 1s, min_requests: 20, max_error_rate: 5%}
)"));
  ASSERT_TRUE(WaitFor([&] { return stuck.arrived() == 1; }));  // holding rollout_started
  ASSERT_TRUE(WaitFor([&] { return load.green() >= 100; }));
  stack.green().SetStatus(500);
  ASSERT_TRUE(WaitFor([&] { return WeightInFile(stack) == 0; })) << stack.AgentLog();
  load.Stop();
  // Reverted while the receiver still held the very first notification.
  EXPECT_EQ(stuck.received().size(), 0u);
  EXPECT_EQ(stuck.arrived(), 1u);
  stuck.Release();
  ASSERT_TRUE(WaitFor([&] { return stuck.received().size() >= 4; }));
  const auto kinds = KindsReceived(stuck);
  EXPECT_EQ(kinds.front(), "rollout_started");
  EXPECT_EQ(kinds.back(), "reverted");
  EXPECT_EQ(kinds[kinds.size() - 2], "breach");
  // The dead one: given up on, logged without its path, counted.
  ASSERT_TRUE(WaitFor(
      [&] { return stack.AgentLog().find("not delivered after 5 attempts") != std::string::npos; },
      std::chrono::seconds(40)))
      << stack.AgentLog();
  EXPECT_EQ(stack.AgentLog().find("/gone"), std::string::npos);
  HttpClient scrape;
  const std::string metrics = scrape.Get(stack.metrics_url()).body;
  EXPECT_NE(metrics.find("cutover_notifications_total{result=\"failed\"}"), std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find("cutover_notifications_total{result=\"failed\"} 0"), std::string::npos)
      << metrics;
}

}  // namespace
}  // namespace cutover::test
