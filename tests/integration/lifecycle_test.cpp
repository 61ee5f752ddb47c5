// The lifecycle verbs operators expect, as processes against the real agent
// on a real nginx with the module: a watch that follows rollout after
// rollout, the release each slot runs, `rollout retry`, `rollout promote
// --step`, and one peer of a slot drained, downed and put back up without a
// reload.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "support/agent.hpp"
#include "support/backend.hpp"
#include "support/cutoverctl.hpp"
#include "support/http.hpp"
#include "support/nginx.hpp"
#include "support/stack.hpp"

namespace cutover::test {
namespace {

using nlohmann::json;

class Lifecycle : public ::testing::Test {
 protected:
  void SetUp() override { WriteFile(stack_.dir() / "plan.yaml", kHoldingPlan); }
  std::string Plan() const { return stack_.dir() / "plan.yaml"; }
  json Status() {
    const auto r = stack_.Ctl({"--json", "status", "app"});
    EXPECT_EQ(r.exit_code, 0) << Said(r);
    return json::parse(r.out)["cutover"];
  }
  Stack stack_;
};

TEST_F(Lifecycle, WatchFollowsRolloutAfterRolloutUntilInterrupted) {
  Process watch(
      {CUTOVERCTL_BINARY, "--agent", stack_.agent(), "watch", "app", "--interval", "100ms"},
      stack_.dir() / "watch");
  ASSERT_TRUE(WaitFor([&] { return watch.Stdout().find("app split") != std::string::npos; }))
      << watch.Stderr();

  auto r = stack_.Ctl({"--json", "rollout", "start", "app", Plan(), "--release", "v1.3.0"});
  ASSERT_EQ(r.exit_code, 0) << Said(r);
  ASSERT_TRUE(WaitFor([&] { return watch.Stdout().find("running step 1/3") != std::string::npos; }))
      << watch.Stdout();
  ASSERT_EQ(stack_.Ctl({"rollout", "abort", "app"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return watch.Stdout().find("aborted") != std::string::npos; }))
      << watch.Stdout();
  // The rollout ended; the watch did not.
  r = stack_.Ctl({"--json", "rollout", "start", "app", Plan(), "--release", "v1.3.1"});
  ASSERT_EQ(r.exit_code, 0) << Said(r);
  ASSERT_TRUE(WaitFor([&] {
    const std::string out = watch.Stdout();
    return out.find("release v1.3.1", out.find("aborted")) != std::string::npos;
  })) << watch.Stdout();
  EXPECT_TRUE(watch.Running());
  // The judged window is shown beside the plan's thresholds (once a tick has judged it).
  EXPECT_TRUE(WaitFor([&] {
    const std::string out = watch.Stdout();
    return out.find("(max 5.00%)") != std::string::npos &&
           out.find("(min 1000000)") != std::string::npos;
  })) << watch.Stdout();
  watch.Signal(SIGINT);
  EXPECT_TRUE(watch.Wait(20s).has_value());
}

TEST_F(Lifecycle, WatchOnceEndsWithTheRolloutLikeCi) {
  ASSERT_EQ(stack_.Ctl({"rollout", "start", "app", Plan()}).exit_code, 0);
  Process watch({CUTOVERCTL_BINARY, "--agent", stack_.agent(), "watch", "app", "--interval",
                 "100ms", "--once"},
                stack_.dir() / "watch");
  ASSERT_TRUE(WaitFor([&] { return watch.Stdout().find("running") != std::string::npos; }))
      << watch.Stdout() << watch.Stderr();
  ASSERT_EQ(stack_.Ctl({"rollout", "abort", "app"}).exit_code, 0);
  EXPECT_EQ(watch.Wait(20s), std::optional<int>(1)) << watch.Stdout() << watch.Stderr();
}

TEST_F(Lifecycle, TheReleaseIsShownInStatusAndHistory) {
  ASSERT_EQ(stack_.Ctl({"rollout", "start", "app", Plan(), "--release", "v1.3.0"}).exit_code, 0);
  EXPECT_EQ(Status()["green"]["release"], "v1.3.0");
  EXPECT_EQ(Status()["rollout"]["release"], "v1.3.0");
  auto r = stack_.Ctl({"status", "app"});
  EXPECT_NE(r.out.find("green  app_green  v1.3.0"), std::string::npos) << r.out;
  r = stack_.Ctl({"history", "app"});
  EXPECT_NE(r.out.find("release v1.3.0"), std::string::npos) << r.out;
  // A bad name is the operator's mistake: exit 2, naming the field.
  ASSERT_EQ(stack_.Ctl({"rollout", "abort", "app"}).exit_code, 0);
  r = stack_.Ctl({"rollout", "start", "app", Plan(), "--release", " v1"});
  EXPECT_EQ(r.exit_code, 2) << Said(r);
  EXPECT_NE(r.err.find("release: must not begin or end with a blank"), std::string::npos) << r.err;
}

TEST_F(Lifecycle, RetryAndPromoteOneStep) {
  ASSERT_EQ(stack_.Ctl({"rollout", "start", "app", Plan(), "--release", "v2"}).exit_code, 0);
  auto r = stack_.Ctl({"rollout", "promote", "app", "--step", "--reason", "canary fine"});
  ASSERT_EQ(r.exit_code, 0) << Said(r);
  EXPECT_NE(r.out.find("step 2/3 (50.00% to green)"), std::string::npos) << r.out;
  EXPECT_DOUBLE_EQ(Status()["green_percent"].get<double>(), 50.0);
  ASSERT_EQ(stack_.Ctl({"rollout", "abort", "app"}).exit_code, 0);
  EXPECT_DOUBLE_EQ(Status()["green_percent"].get<double>(), 0.0);

  r = stack_.Ctl({"rollout", "retry", "app", "--reason", "second try"});
  ASSERT_EQ(r.exit_code, 0) << Said(r);
  EXPECT_NE(r.out.find("running, blue -> green (release v2), step 1/3"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("follow it with: cutoverctl watch app"), std::string::npos) << r.out;
  EXPECT_DOUBLE_EQ(Status()["green_percent"].get<double>(), 10.0);
  // Retrying a running rollout is refused by the agent: exit 1.
  r = stack_.Ctl({"rollout", "retry", "app"});
  EXPECT_EQ(r.exit_code, 1) << Said(r);
  EXPECT_NE(r.err.find("refused RetryRollout"), std::string::npos) << r.err;
}

// nginx whose green slot has two peers, the agent on its state file.
class PeerControl : public ::testing::Test {
 protected:
  PeerControl()
      : nginx_("upstream app_blue { server " + blue_.address() + "; }\n" +
               "upstream app_green { server " + green1_.address() + "; server " +
               green2_.address() + "; }\n" +
               "upstream app { cutover blue=app_blue green=app_green weight=100; }\n" +
               "server { listen 127.0.0.1:" + std::to_string(port_) +
               "; location / { proxy_pass http://app; } }\n") {
    nginx_.Start(port_);
    agent_ = std::make_unique<AgentProcess>(LocalAgent(dir_, nginx_.state_path()), dir_ / "agent");
    agent_->Start();
  }
  RunResult Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--agent", "unix:" + agent_->options().socket});
    return Cutoverctl(args);
  }
  void Send(int n) {
    for (int i = 0; i < n; ++i)
      ASSERT_EQ(http_.Get("http://127.0.0.1:" + std::to_string(port_) + "/").status, 200);
  }

  Backend blue_{"blue"}, green1_{"green1"}, green2_{"green2"};
  int port_ = FreePort();
  Nginx nginx_;
  TempDir dir_{"peer-control"};
  std::unique_ptr<AgentProcess> agent_;
  HttpClient http_;
};

TEST_F(PeerControl, DownDrainAndUpTakeOnePeerOutAndBackWithoutAReload) {
  const auto workers = nginx_.Workers();
  Send(20);
  ASSERT_GT(green2_.requests(), 0u);
  auto r = Ctl({"down", "app", "green", green2_.address(), "--reason", "bad disk"});
  ASSERT_EQ(r.exit_code, 0) << Said(r) << agent_->Log();
  EXPECT_NE(r.out.find("green peer " + green2_.address() + " up -> down"), std::string::npos)
      << r.out;
  const auto before = green2_.requests();
  Send(40);
  EXPECT_EQ(green2_.requests(), before) << "a downed peer got requests";
  r = Ctl({"status", "app"});
  EXPECT_NE(r.out.find(green2_.address() + "  green  down"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(green1_.address() + "  green  up"), std::string::npos) << r.out;

  // Drained while its sibling is up: still no new request.
  ASSERT_EQ(Ctl({"drain", "app", "green", green2_.address()}).exit_code, 0);
  Send(20);
  EXPECT_EQ(green2_.requests(), before);
  ASSERT_EQ(Ctl({"up", "app", "green", green2_.address()}).exit_code, 0);
  Send(20);
  EXPECT_GT(green2_.requests(), before);

  r = Ctl({"history", "app"});
  EXPECT_NE(r.out.find("peer_state_set"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("up -> down (bad disk)"), std::string::npos) << r.out;
  // No reload happened: the same workers served all along.
  EXPECT_EQ(nginx_.Workers(), workers);
}

TEST_F(PeerControl, UnknownPeersAndSlotsAreUsageErrors) {
  auto r = Ctl({"down", "app", "green", "127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 2) << Said(r);
  EXPECT_NE(r.err.find("has no green peer \"127.0.0.1:1\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(green1_.address()), std::string::npos) << r.err;
  r = Ctl({"down", "app", "purple", green1_.address()});
  EXPECT_EQ(r.exit_code, 2) << Said(r);
  EXPECT_NE(r.err.find("SLOT: \"purple\" is not blue or green"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cutover::test
