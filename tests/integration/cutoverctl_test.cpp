// Every agent verb of cutoverctl, as a process, against the real
// cutover-agent on the state file of a real nginx with the cutover module;
// the split it sets is then measured with `sample` through that nginx.
#include "support/cutoverctl.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "support/postgres.hpp"
#include "support/pty_process.hpp"
#include "support/stack.hpp"

namespace cutover::test {
namespace {

using nlohmann::json;

class AgentCli : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = std::make_unique<Stack>();
    WriteFile(stack_->dir() / "plan.yaml", kHoldingPlan);
  }

  // `cutoverctl --json ARGS`, expecting exit 0, parsed.
  json Json(std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    const auto r = stack_->Ctl(args);
    EXPECT_EQ(r.exit_code, 0) << Said(r) << stack_->AgentLog();
    try {
      return json::parse(r.out);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not JSON: " << e.what() << "\n" << Said(r);
      return json::object();
    }
  }

  json Status() { return Json({"status", "app"})["cutover"]; }

  std::string Plan() const { return stack_->dir() / "plan.yaml"; }

  std::unique_ptr<Stack> stack_;
};

TEST_F(AgentCli, StatusListsTheCutoverInTextAndJson) {
  auto r = stack_->Ctl({"status"});
  ASSERT_EQ(r.exit_code, 0) << Said(r) << stack_->AgentLog();
  EXPECT_NE(r.out.find("CUTOVER  BLUE      GREEN      SPLIT (BLUE/GREEN)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("app      app_blue  app_green  100.00% / 0.00%"), std::string::npos)
      << r.out;
  const json list = Json({"status"});
  ASSERT_EQ(list["cutovers"].size(), 1u);
  EXPECT_EQ(list["cutovers"][0]["name"], "app");

  r = stack_->Ctl({"status", "app"});
  ASSERT_EQ(r.exit_code, 0) << Said(r);
  EXPECT_NE(r.out.find("cutover app  epoch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("blue   app_blue   -        100.00%"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("green  app_green  -        0.00%"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rollout: none"), std::string::npos) << r.out;
  const json one = Status();
  EXPECT_EQ(one["blue_upstream"], "app_blue");
  EXPECT_EQ(one["green_upstream"], "app_green");
  EXPECT_DOUBLE_EQ(one["green_percent"].get<double>(), 0.0);
}

TEST_F(AgentCli, UnknownCutoverIsAUsageError) {
  const auto r = stack_->Ctl({"status", "nope"});
  EXPECT_EQ(r.exit_code, 2) << Said(r);
  EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;
}

TEST_F(AgentCli, SetWeightMovesTheSplitThatSampleMeasures) {
  const auto epoch_before = std::stoull(Status()["epoch"].get<std::string>());
  auto r = stack_->Ctl({"set-weight", "app", "20", "--reason", "cli test"});
  ASSERT_EQ(r.exit_code, 0) << Said(r) << stack_->AgentLog();
  EXPECT_NE(r.out.find("app: green 0.00% -> 20.00% (blue 80.00%)"), std::string::npos) << r.out;
  const json status = Status();
  EXPECT_DOUBLE_EQ(status["green_percent"].get<double>(), 20.0);
  EXPECT_GT(std::stoull(status["epoch"].get<std::string>()), epoch_before);

  r = Cutoverctl({"sample", stack_->url(), "--requests", "2000", "--concurrency", "8", "--expect",
                  "green=20", "--tolerance", "2"});
  EXPECT_EQ(r.exit_code, 0) << Said(r);
  EXPECT_NE(r.out.find("verdict: PASS"), std::string::npos) << r.out;
  r = Cutoverctl({"sample", stack_->url(), "--requests", "1000", "--expect", "green=50"});
  EXPECT_EQ(r.exit_code, 1) << Said(r);
  EXPECT_NE(r.out.find("verdict: FAIL"), std::string::npos) << r.out;

  // The agent saw that traffic: its counters for both slots moved.
  EXPECT_TRUE(WaitFor([&] {
    const json s = Status();
    return std::stoull(s["green"]["requests"].get<std::string>()) >= 400 &&
           std::stoull(s["blue"]["requests"].get<std::string>()) >= 1600;
  }));

  const json answer = Json({"set-weight", "app", "12.5"});
  EXPECT_DOUBLE_EQ(answer["cutover"]["green_percent"].get<double>(), 12.5);
  EXPECT_DOUBLE_EQ(answer["event"]["weight_before"].get<double>(), 20.0);
}

TEST_F(AgentCli, RolloutStartPauseResumePromoteWithWatchAndHistory) {
  auto r = stack_->Ctl({"rollout", "start", "app", Plan(), "--reason", "release 42"});
  ASSERT_EQ(r.exit_code, 0) << Said(r) << stack_->AgentLog();
  EXPECT_NE(r.out.find("running, blue -> green"), std::string::npos) << r.out;
  ASSERT_TRUE(WaitFor([&] { return Status()["green_percent"].get<double>() == 10.0; }));
  EXPECT_EQ(Status()["rollout"]["state"], "ROLLOUT_STATE_RUNNING");

  r = stack_->Ctl({"status", "app"});
  EXPECT_NE(r.out.find("step 1/3 (10.00% to green), hold "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" of 1h, "), std::string::npos) << r.out;

  // A hand-set weight is refused while the rollout runs.
  r = stack_->Ctl({"set-weight", "app", "30"});
  EXPECT_EQ(r.exit_code, 1) << Said(r);
  EXPECT_NE(r.err.find("refused SetWeight"), std::string::npos) << r.err;

  r = stack_->Ctl({"rollout", "pause", "app", "--reason", "lunch"});
  ASSERT_EQ(r.exit_code, 0) << Said(r);
  EXPECT_NE(r.out.find(": paused, blue -> green, step 1/3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("paused because: lunch"), std::string::npos) << r.out;
  EXPECT_EQ(Status()["rollout"]["state"], "ROLLOUT_STATE_PAUSED");
  const json resumed = Json({"rollout", "resume", "app"});
  EXPECT_EQ(resumed["rollout"]["state"], "ROLLOUT_STATE_RUNNING");
  EXPECT_EQ(resumed["rollout"]["cutover"], "app");
  EXPECT_EQ(Status()["rollout"]["state"], "ROLLOUT_STATE_RUNNING");

  Process watch({CUTOVERCTL_BINARY, "--agent", stack_->agent(), "watch", "app", "--interval",
                 "100ms", "--exit-on-end"},
                stack_->dir() / "watch");
  ASSERT_TRUE(WaitFor([&] { return watch.Stdout().find("running step 1/3") != std::string::npos; }))
      << watch.Stdout() << watch.Stderr();

  r = stack_->Ctl({"rollout", "promote", "app", "--reason", "looks good"});
  ASSERT_EQ(r.exit_code, 0) << Said(r);
  EXPECT_NE(r.out.find("completed"), std::string::npos) << r.out;
  EXPECT_EQ(watch.Wait(20s), std::optional<int>(0)) << watch.Stdout() << watch.Stderr();
  EXPECT_NE(watch.Stdout().find("completed"), std::string::npos) << watch.Stdout();
  // Piped, watch prints plain lines: no escape sequences.
  EXPECT_EQ(watch.Stdout().find('\033'), std::string::npos);

  r = Cutoverctl(
      {"sample", stack_->url(), "--requests", "300", "--expect", "green=100", "--tolerance", "0"});
  EXPECT_EQ(r.exit_code, 0) << Said(r);

  r = stack_->Ctl({"history", "app"});
  ASSERT_EQ(r.exit_code, 0) << Said(r);
  for (const char* kind : {"rollout_started", "paused", "resumed", "promoted"})
    EXPECT_NE(r.out.find(kind), std::string::npos) << kind << "\n" << r.out;
  EXPECT_NE(r.out.find("release 42"), std::string::npos) << r.out;
  const json history = Json({"history", "app", "--limit", "2"});
  ASSERT_EQ(history["events"].size(), 2u);
  EXPECT_GT(std::stoull(history["events"][0]["sequence"].get<std::string>()),
            std::stoull(history["events"][1]["sequence"].get<std::string>()));
}

TEST_F(AgentCli, WatchRedrawsInPlaceOnATerminal) {
  ASSERT_EQ(stack_->Ctl({"rollout", "start", "app", Plan()}).exit_code, 0);
  constexpr unsigned short kColumns = 60;
  PtyProcess watch({CUTOVERCTL_BINARY, "--agent", stack_->agent(), "watch", "app", "--interval",
                    "100ms", "--exit-on-end"},
                   kColumns);
  // A second frame starts by moving the cursor back up over the first.
  ASSERT_TRUE(WaitFor([&] { return watch.Output().find("A\r\033[J") != std::string::npos; }))
      << watch.Output();
  ASSERT_EQ(stack_->Ctl({"rollout", "promote", "app"}).exit_code, 0);
  EXPECT_EQ(watch.Wait(20s), std::optional<int>(0)) << watch.Output();
  const std::string out = watch.Output();
  EXPECT_NE(out.find("hold   [---"), std::string::npos) << out;
  EXPECT_NE(out.find("rollout"), std::string::npos) << out;
  EXPECT_NE(out.find("completed"), std::string::npos) << out;
  // Every line fits the terminal, or the cursor-up count would be off.
  std::string plain;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\033') {
      while (i < out.size() && !std::isalpha(static_cast<unsigned char>(out[i]))) ++i;
      continue;
    }
    if (out[i] != '\r') plain += out[i];
  }
  std::size_t start = 0;
  for (std::size_t end; (end = plain.find('\n', start)) != std::string::npos; start = end + 1) {
    // Columns, not bytes: a cut line ends with "…", three bytes in UTF-8.
    const std::string line = plain.substr(start, end - start);
    const auto columns = std::count_if(line.begin(), line.end(), [](char c) {
      return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
    });
    EXPECT_LT(columns, kColumns) << line;
  }
}

TEST_F(AgentCli, WatchRidesOutAnAgentRestart) {
  ASSERT_EQ(stack_->Ctl({"rollout", "start", "app", Plan()}).exit_code, 0);
  Process watch({CUTOVERCTL_BINARY, "--agent", stack_->agent(), "watch", "app", "--interval",
                 "100ms", "--exit-on-end"},
                stack_->dir() / "watch");
  ASSERT_TRUE(WaitFor([&] { return watch.Stdout().find("running") != std::string::npos; }))
      << watch.Stdout() << watch.Stderr();

  stack_->agent_process().Stop();
  ASSERT_TRUE(WaitFor([&] {
    return watch.Stdout().find("agent unreachable for") != std::string::npos;
  })) << watch.Stdout()
      << watch.Stderr();
  EXPECT_TRUE(watch.Running());

  stack_->RestartAgent();
  // The restarted agent rebuilt the rollout from its journal; watch shows it again.
  ASSERT_TRUE(WaitFor([&] {
    const std::string out = watch.Stdout();
    return out.find("running", out.find("agent unreachable for")) != std::string::npos;
  })) << watch.Stdout()
      << watch.Stderr() << stack_->AgentLog();
  ASSERT_EQ(stack_->Ctl({"rollout", "promote", "app"}).exit_code, 0);
  EXPECT_EQ(watch.Wait(20s), std::optional<int>(0)) << watch.Stdout() << watch.Stderr();
}

TEST_F(AgentCli, AbortSendsTrafficBackAndWatchExitsOne) {
  const json started = Json({"rollout", "start", "app", Plan()});
  EXPECT_EQ(started["rollout"]["state"], "ROLLOUT_STATE_RUNNING");
  EXPECT_EQ(started["rollout"]["from_slot"], "SLOT_BLUE");
  EXPECT_EQ(started["rollout"]["to_slot"], "SLOT_GREEN");
  ASSERT_EQ(started["rollout"]["plan"]["steps"].size(), 3u);
  EXPECT_EQ(started["rollout"]["plan"]["steps"][0]["hold"], "3600s");
  ASSERT_TRUE(WaitFor([&] { return Status()["green_percent"].get<double>() == 10.0; }));
  Process watch({CUTOVERCTL_BINARY, "--json", "--agent", stack_->agent(), "watch", "app",
                 "--interval", "100ms", "--exit-on-end"},
                stack_->dir() / "watch");
  ASSERT_TRUE(WaitFor([&] { return !watch.Stdout().empty(); })) << watch.Stderr();

  const json answer = Json({"rollout", "abort", "app", "--reason", "cli test"});
  EXPECT_EQ(answer["rollout"]["state"], "ROLLOUT_STATE_ABORTED");
  EXPECT_EQ(watch.Wait(20s), std::optional<int>(1)) << watch.Stdout() << watch.Stderr();
  // --json watch: one status object per line, the last one the aborted rollout.
  std::string last;
  for (std::size_t start = 0, end; (end = watch.Stdout().find('\n', start)) != std::string::npos;
       start = end + 1)
    last = watch.Stdout().substr(start, end - start);
  EXPECT_EQ(json::parse(last)["cutover"]["rollout"]["state"], "ROLLOUT_STATE_ABORTED");

  EXPECT_DOUBLE_EQ(Status()["green_percent"].get<double>(), 0.0);
  const auto r = Cutoverctl(
      {"sample", stack_->url(), "--requests", "300", "--expect", "blue=100", "--tolerance", "0"});
  EXPECT_EQ(r.exit_code, 0) << Said(r);
}

TEST_F(AgentCli, AFailingGreenIsRevertedAndWatchAndHistoryShowIt) {
  WriteFile(stack_->dir() / "fast.yaml", R"(steps:
  - {percent: 50, hold: 1h}
  - {percent: 100, hold: 1h}
analysis: {window: 1s, min_requests: 5, max_error_rate: 1%, failure_threshold: 1}
on_breach: revert
)");
  stack_->green().SetStatus(500);
  ASSERT_EQ(stack_->Ctl({"rollout", "start", "app", stack_->dir() / "fast.yaml"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return Status()["green_percent"].get<double>() == 50.0; }));
  Process watch({CUTOVERCTL_BINARY, "--agent", stack_->agent(), "watch", "app", "--interval",
                 "100ms", "--exit-on-end"},
                stack_->dir() / "watch");
  // Real traffic through nginx until the agent has judged green and acted.
  for (int round = 0; round < 200 && watch.Running(); ++round)
    Cutoverctl({"sample", stack_->url(), "--requests", "100", "--concurrency", "4"});
  EXPECT_EQ(watch.Wait(20s), std::optional<int>(1)) << watch.Stdout() << watch.Stderr();
  EXPECT_NE(watch.Stdout().find("reverted"), std::string::npos) << watch.Stdout();

  const json status = Status();
  EXPECT_EQ(status["rollout"]["state"], "ROLLOUT_STATE_REVERTED");
  EXPECT_DOUBLE_EQ(status["green_percent"].get<double>(), 0.0);
  const auto r = stack_->Ctl({"history", "app", "--limit", "5"});
  ASSERT_EQ(r.exit_code, 0) << Said(r);
  const auto row = r.out.find("reverted");
  ASSERT_NE(row, std::string::npos) << r.out;
  // The decision carries the numbers it was made on.
  EXPECT_NE(r.out.find("(max 1.00%)", row), std::string::npos) << r.out;
  EXPECT_EQ(Cutoverctl({"sample", stack_->url(), "--requests", "200", "--expect", "blue=100",
                        "--tolerance", "0"})
                .exit_code,
            0);
}

TEST_F(AgentCli, RolloutVerbsWithoutARolloutAreRefused) {
  const auto r = stack_->Ctl({"rollout", "pause", "app"});
  EXPECT_EQ(r.exit_code, 1) << Said(r);
  EXPECT_NE(r.err.find("refused PauseRollout"), std::string::npos) << r.err;
}

TEST_F(AgentCli, BadPlanIsExitTwoNamingTheField) {
  WriteFile(stack_->dir() / "bad.json",
            "{\n  \"steps\": [{\"percent\": 10, \"hold\": \"1m\"}],\n"
            "  \"analysis\": {\"window\": \"10s\", \"max_error_rate\": 0.01}\n}\n");
  const auto r = stack_->Ctl({"rollout", "start", "app", stack_->dir() / "bad.json"});
  EXPECT_EQ(r.exit_code, 2) << Said(r);
  EXPECT_NE(r.err.find("bad.json:3: analysis.max_error_rate"), std::string::npos) << r.err;
  EXPECT_FALSE(Status().contains("rollout") &&
               Status()["rollout"]["state"] != "ROLLOUT_STATE_UNSPECIFIED");
}

TEST_F(AgentCli, PreflightWithoutGatesIsGo) {
  auto r = stack_->Ctl({"preflight", Plan(), "--cutover", "app"});
  EXPECT_EQ(r.exit_code, 0) << Said(r) << stack_->AgentLog();
  EXPECT_NE(r.out.find("no gates to evaluate"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("verdict: GO"), std::string::npos) << r.out;
  const json j = Json({"preflight", Plan()});
  EXPECT_EQ(j["preflight"]["go"], true);
  EXPECT_EQ(j["plan"]["steps"].size(), 3u);
}

TEST_F(AgentCli, PreflightWithAnUnreachableDatabaseIsNoGo) {
  WriteFile(stack_->dir() / "gated.yaml",
            std::string(kHoldingPlan) + "  - sql: {dsn: \"postgresql://nobody@127.0.0.1:" +
                std::to_string(FreePort()) + "/x\", query: \"select true\", timeout: 2s}\n");
  // kHoldingPlan ends with "gates: []": replace it with a real list.
  std::string text = ReadFile(stack_->dir() / "gated.yaml");
  text.replace(text.find("gates: []"), 9, "gates:");
  WriteFile(stack_->dir() / "gated.yaml", text);
  const auto r = stack_->Ctl({"preflight", stack_->dir() / "gated.yaml"});
  EXPECT_EQ(r.exit_code, 1) << Said(r);
  const auto sql_row = r.out.find("\nsql ");
  ASSERT_NE(sql_row, std::string::npos) << r.out;
  EXPECT_NE(r.out.substr(sql_row, r.out.find('\n', sql_row + 1) - sql_row).find(" FAIL "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("verdict: NO-GO"), std::string::npos) << r.out;
}

TEST_F(AgentCli, PreflightEvaluatesGatesOnARealDatabase) {
  Postgres pg;
  const auto plan_with = [&](const std::string& query) {
    std::string text = kHoldingPlan;
    text.replace(text.find("gates: []"), 9,
                 "gates:\n  - sql: {dsn: \"" + pg.Uri() + "\", query: \"" + query +
                     "\"}\n"
                     "  - reversibility: {policy: warn}");
    WriteFile(stack_->dir() / "gated.yaml", text);
    return stack_->dir() / "gated.yaml";
  };
  auto r = stack_->Ctl({"preflight", plan_with("select true"), "--cutover", "app"});
  EXPECT_EQ(r.exit_code, 0) << Said(r) << stack_->AgentLog();
  EXPECT_NE(r.out.find("verdict: GO"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reversibility"), std::string::npos) << r.out;
  const json j = Json({"preflight", plan_with("select true"), "--cutover", "app"});
  EXPECT_EQ(j["preflight"]["go"], true);
  EXPECT_EQ(j["preflight"]["gates"].size(), 2u);
  EXPECT_EQ(j["preflight"]["gates"][0]["name"], "sql");

  r = stack_->Ctl({"preflight", plan_with("select 1 = 2"), "--cutover", "app"});
  EXPECT_EQ(r.exit_code, 1) << Said(r);
  EXPECT_NE(r.out.find("verdict: NO-GO"), std::string::npos) << r.out;
}

TEST_F(AgentCli, AStoppedAgentIsExitThree) {
  stack_->agent_process().Stop();
  const auto r = stack_->Ctl({"status", "app"});
  EXPECT_EQ(r.exit_code, 3) << Said(r);
  EXPECT_NE(r.err.find("cannot reach the agent"), std::string::npos) << r.err;
}

TEST(AgentCliTcp, MutatingCallsOverTcpNeedTheToken) {
  Stack stack({.token = "s3cret-token"});
  auto r = Cutoverctl({"--agent", stack.agent_tcp(), "set-weight", "app", "5"});
  EXPECT_EQ(r.exit_code, 2) << Said(r) << stack.AgentLog();
  EXPECT_NE(r.err.find("refused SetWeight"), std::string::npos) << r.err;
  WriteFile(stack.dir() / "wrong", "not-the-token\n");
  r = Cutoverctl({"--agent", stack.agent_tcp(), "--token-file", stack.dir() / "wrong", "set-weight",
                  "app", "5"});
  EXPECT_EQ(r.exit_code, 2) << Said(r);
  r = Cutoverctl(
      {"--agent", stack.agent_tcp(), "--token-file", stack.token_file(), "set-weight", "app", "5"});
  EXPECT_EQ(r.exit_code, 0) << Said(r) << stack.AgentLog();
  EXPECT_NE(r.out.find("-> 5.00%"), std::string::npos) << r.out;
}

TEST(AgentCliTls, TalksToATlsAgentWithItsCa) {
  TempDir certs("cutover-cli-tls");
  ASSERT_TRUE(MakeCertificate(certs, "IP:127.0.0.1"));
  Stack stack({.token = "tls-token", .tls_cert = certs / "cert.pem", .tls_key = certs / "key.pem"});
  auto r = Cutoverctl({"--agent", stack.agent_tcp(), "--tls-ca", certs / "cert.pem", "--token-file",
                       stack.token_file(), "set-weight", "app", "7.5"});
  EXPECT_EQ(r.exit_code, 0) << Said(r) << stack.AgentLog();
  EXPECT_NE(r.out.find("-> 7.50%"), std::string::npos) << r.out;
  // Plaintext to a TLS port gets no answer: the agent is unreachable that way.
  r = Cutoverctl({"--agent", stack.agent_tcp(), "status"});
  EXPECT_EQ(r.exit_code, 3) << Said(r);
  // The unix socket is never TLS.
  r = Cutoverctl({"--agent", stack.agent(), "--tls-ca", certs / "cert.pem", "status"});
  EXPECT_EQ(r.exit_code, 2) << Said(r);
  r = Cutoverctl({"--agent", stack.agent_tcp(), "--tls-ca", stack.token_file(), "status"});
  EXPECT_EQ(r.exit_code, 2) << Said(r);
  EXPECT_NE(r.err.find("no PEM certificate"), std::string::npos) << r.err;
}

TEST(AgentCliTls, ChecksTheNameInTheCertificate) {
  TempDir certs("cutover-cli-tls");
  ASSERT_TRUE(MakeCertificate(certs, "DNS:agent.test"));
  Stack stack({.token = "tls-token", .tls_cert = certs / "cert.pem", .tls_key = certs / "key.pem"});
  auto r = Cutoverctl({"--agent", stack.agent_tcp(), "--tls-ca", certs / "cert.pem", "status"});
  EXPECT_EQ(r.exit_code, 3) << Said(r);  // the certificate is not for 127.0.0.1
  r = Cutoverctl({"--agent", stack.agent_tcp(), "--tls-ca", certs / "cert.pem", "--tls-server-name",
                  "agent.test", "status"});
  EXPECT_EQ(r.exit_code, 0) << Said(r) << stack.AgentLog();
  EXPECT_NE(r.out.find("app"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace cutover::test
