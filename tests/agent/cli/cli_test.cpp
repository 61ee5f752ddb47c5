// The dispatcher in-process: verbs, flags, help and the exit codes of every
// failure that does not need a running agent.
#include "agent/cli/cli.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "agent/cli/errors.hpp"
#include "cutover/state_layout.hpp"
#include "support/process.hpp"

namespace cutover::cli {
namespace {

struct Outcome {
  int code;
  std::string out, err;
};

class CliTest : public ::testing::Test {
 protected:
  Outcome Cli(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    const int code = RunCli(args, env_, out, err);
    return {code, out.str(), err.str()};
  }
  // An address where no agent listens: a socket path in an empty directory.
  std::string NoAgent() const { return "unix:" + dir_ / "absent.sock"; }

  test::TempDir dir_{"cutover-cli"};
  Environment env_;
};

TEST_F(CliTest, UnknownVerbIsAUsageError) {
  const auto r = Cli({"frobnicate"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("unknown command \"frobnicate\""), std::string::npos) << r.err;
  EXPECT_EQ(Cli({}).code, kExitUsage);
  EXPECT_EQ(Cli({"rollout"}).code, kExitUsage);
  EXPECT_EQ(Cli({"rollout", "frobnicate", "app"}).code, kExitUsage);
  EXPECT_EQ(Cli({"sync"}).code, kExitUsage);
  const auto sync = Cli({"sync", "pause", "app"});
  EXPECT_EQ(sync.code, kExitUsage);
  EXPECT_NE(sync.err.find("sync takes start,status,stop"), std::string::npos) << sync.err;
}

TEST_F(CliTest, HelpOnEveryVerb) {
  auto r = Cli({"--help"});
  EXPECT_EQ(r.code, kExitOk);
  for (const char* verb :
       {"status", "watch", "set-weight", "rollout start", "rollout abort", "history", "preflight",
        "sample", "sync start", "sync status", "sync stop"})
    EXPECT_NE(r.out.find(verb), std::string::npos) << verb;
  EXPECT_EQ(Cli({"help"}).code, kExitOk);
  for (const std::vector<std::string>& args : {std::vector<std::string>{"status", "--help"},
                                               {"watch", "--help"},
                                               {"set-weight", "--help"},
                                               {"rollout", "start", "--help"},
                                               {"rollout", "pause", "--help"},
                                               {"rollout", "resume", "-h"},
                                               {"rollout", "promote", "--help"},
                                               {"rollout", "abort", "--help"},
                                               {"history", "--help"},
                                               {"preflight", "--help"},
                                               {"sample", "--help"},
                                               {"sync", "start", "--help"},
                                               {"sync", "status", "--help"},
                                               {"sync", "stop", "--help"},
                                               {"sync", "--help"},
                                               {"rollout", "--help"}}) {
    r = Cli(args);
    EXPECT_EQ(r.code, kExitOk) << args[0];
    EXPECT_NE(r.out.find("usage: cutoverctl " + args[0]), std::string::npos) << r.out;
  }
}

TEST_F(CliTest, VersionNamesTheReleaseAndTheStateFileLayout) {
  const auto r = Cli({"--version"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "cutoverctl " CUTOVER_PROJECT_VERSION " (state-file layout " +
                       std::to_string(state::kLayoutVersion) + ", revision " +
                       std::to_string(state::kLayoutRevision) + ")\n");
}

TEST_F(CliTest, BadFlagsAndArgumentsAreUsageErrors) {
  EXPECT_EQ(Cli({"status", "--bogus"}).code, kExitUsage);
  EXPECT_EQ(Cli({"--bogus", "status"}).code, kExitUsage);
  EXPECT_EQ(Cli({"status", "a", "b"}).code, kExitUsage);
  EXPECT_EQ(Cli({"set-weight", "app"}).code, kExitUsage);
  auto r = Cli({"--agent", NoAgent(), "set-weight", "app", "12.345"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("more than two decimals"), std::string::npos) << r.err;
  EXPECT_EQ(Cli({"--agent", NoAgent(), "set-weight", "app", "101"}).code, kExitUsage);
  EXPECT_EQ(Cli({"--agent", NoAgent(), "history", "app", "--limit", "0"}).code, kExitUsage);
  EXPECT_EQ(Cli({"--agent", NoAgent(), "watch", "app", "--interval", "0s"}).code, kExitUsage);
  EXPECT_EQ(Cli({"--timeout", "soon", "status"}).code, kExitUsage);
  EXPECT_EQ(Cli({"sample", "ftp://example"}).code, kExitUsage);
  EXPECT_EQ(Cli({"sample", "http://127.0.0.1:1/", "--expect", "green"}).code, kExitUsage);
  EXPECT_EQ(Cli({"sample", "http://127.0.0.1:1/", "--requests", "lots"}).code, kExitUsage);
  EXPECT_EQ(Cli({"sample", "http://127.0.0.1:1/", "--tolerance", "1.234"}).code, kExitUsage);
  r = Cli({"--agent", NoAgent(), "sync", "start", "app", "--on-conflict", "maybe"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("--on-conflict: \"maybe\" is not pause, blue_wins or green_wins"),
            std::string::npos)
      << r.err;
  r = Cli({"--agent", NoAgent(), "sync", "start", "app", "--tables", "a,,b"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("--tables: an empty name"), std::string::npos) << r.err;
  EXPECT_EQ(Cli({"sync", "status"}).code, kExitUsage);  // no cutover
  EXPECT_EQ(Cli({"sync", "stop", "app", "--keep=yes"}).code, kExitUsage);
  r = Cli({"--token-file", dir_ / "no-token", "status"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("--token-file: cannot read"), std::string::npos) << r.err;
}

TEST_F(CliTest, NoAgentIsExitThreeOnEveryAgentVerb) {
  test::WriteFile(dir_ / "plan.yaml", "steps: [{percent: 50, hold: 1m}]\nanalysis: {window: 5s}\n");
  for (const std::vector<std::string>& args : {std::vector<std::string>{"status"},
                                               {"status", "app"},
                                               {"watch", "app"},
                                               {"set-weight", "app", "20"},
                                               {"rollout", "start", "app", dir_ / "plan.yaml"},
                                               {"rollout", "pause", "app"},
                                               {"rollout", "resume", "app"},
                                               {"rollout", "promote", "app"},
                                               {"rollout", "abort", "app"},
                                               {"history", "app"},
                                               {"preflight", dir_ / "plan.yaml"},
                                               {"sync", "start", "app", "--blue", "sqlite:///a.db"},
                                               {"sync", "status", "app"},
                                               {"sync", "stop", "app"}}) {
    std::vector<std::string> full = {"--agent", NoAgent()};
    full.insert(full.end(), args.begin(), args.end());
    const auto r = Cli(full);
    EXPECT_EQ(r.code, kExitUnreachable) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("cannot reach the agent at " + NoAgent()), std::string::npos) << r.err;
  }
}

TEST_F(CliTest, NoAgentOnTcpIsExitThreeToo) {
  const auto r = Cli({"--agent", "127.0.0.1:" + std::to_string(test::FreePort()), "status"});
  EXPECT_EQ(r.code, kExitUnreachable) << r.err;
}

TEST_F(CliTest, AgentAddressComesFromTheEnvironmentUnlessGiven) {
  env_.agent = NoAgent();
  auto r = Cli({"status"});
  EXPECT_EQ(r.code, kExitUnreachable);
  EXPECT_NE(r.err.find(NoAgent()), std::string::npos) << r.err;
  const std::string other = "unix:" + dir_ / "other.sock";
  r = Cli({"status", "--agent", other});
  EXPECT_NE(r.err.find(other), std::string::npos) << r.err;
  env_.agent.clear();
  r = Cli({"status"});
  EXPECT_NE(r.err.find("unix:/run/cutover/agent.sock"), std::string::npos) << r.err;
}

TEST_F(CliTest, JsonErrorsAreMachineReadable) {
  const auto r = Cli({"--json", "--agent", NoAgent(), "status"});
  EXPECT_EQ(r.code, kExitUnreachable);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["error"]["exit_code"], 3);
  EXPECT_NE(j["error"]["message"].get<std::string>().find("cannot reach the agent"),
            std::string::npos);
}

TEST_F(CliTest, BadPlanIsExitTwoNamingLineAndFieldBeforeAskingTheAgent) {
  test::WriteFile(dir_ / "bad.yaml",
                  "steps:\n  - {percent: 10, hold: 1m}\n  - {percent: 5, hold: 1m}\n"
                  "analysis: {window: 10s}\n");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"rollout", "start", "app", dir_ / "bad.yaml"},
        {"preflight", dir_ / "bad.yaml"}}) {
    std::vector<std::string> full = {"--agent", NoAgent()};
    full.insert(full.end(), args.begin(), args.end());
    const auto r = Cli(full);
    EXPECT_EQ(r.code, kExitUsage) << r.err;
    EXPECT_NE(r.err.find("bad.yaml:3: steps[1].percent: steps must rise"), std::string::npos)
        << r.err;
  }
}

TEST_F(CliTest, OfflinePreflightValidatesThePlan) {
  test::WriteFile(dir_ / "plan.json",
                  R"({"steps": [{"percent": 5, "hold": "1m"}, {"percent": 100, "hold": "0s"}],
                      "analysis": {"window": "10s", "min_requests": 50, "max_error_rate": "1%"}})");
  auto r = Cli({"preflight", dir_ / "plan.json", "--offline"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("steps: 5.00% for 1m -> 100.00% for 0s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("plan valid"), std::string::npos) << r.out;
  r = Cli({"--json", "preflight", dir_ / "plan.json", "--offline"});
  EXPECT_EQ(r.code, kExitOk);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["valid"], true);
  EXPECT_EQ(j["plan"]["steps"].size(), 2u);
  EXPECT_EQ(j["plan"]["analysis"]["window"], "10s");
  EXPECT_EQ(Cli({"preflight", dir_ / "absent.yaml", "--offline"}).code, kExitUsage);
}

}  // namespace
}  // namespace cutover::cli
