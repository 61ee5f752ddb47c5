// The real cutover-agent over real gRPC (unix socket and TCP), in front of
// a real nginx with the module and real backends.
#include "support/agent.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cmath>

#include "cutover/state_file.hpp"
#include "support/http.hpp"
#include "support/site.hpp"

namespace cutover::test {
namespace {

using namespace std::chrono_literals;

v1::Plan MakePlan(std::vector<double> steps, int hold_ms, int window_ms = 1000,
                  std::uint64_t min_requests = 20, double max_error_rate = 0.05) {
  v1::Plan plan;
  for (double p : steps) {
    auto* s = plan.add_steps();
    s->set_percent(p);
    s->mutable_hold()->set_seconds(hold_ms / 1000);
    s->mutable_hold()->set_nanos((hold_ms % 1000) * 1'000'000);
  }
  auto* a = plan.mutable_analysis();
  a->mutable_window()->set_seconds(window_ms / 1000);
  a->mutable_window()->set_nanos((window_ms % 1000) * 1'000'000);
  a->set_min_requests(min_requests);
  a->set_max_error_rate(max_error_rate);
  return plan;
}

class AgentTest : public ::testing::Test {
 protected:
  AgentOptions Options() { return LocalAgent(dir_, site_.nginx().state_path()); }

  void StartAgent(AgentOptions o) {
    agent_ = std::make_unique<AgentProcess>(o, dir_ / ("agent" + std::to_string(++starts_)));
    agent_->Start();
    stub_ = agent_->UnixStub();
  }

  v1::Cutover Status() { return StatusOf(*stub_, "app"); }

  std::uint32_t WeightInFile() {
    return state::StateFile::Open(site_.nginx().state_path(), state::StateFile::Access::kReadOnly)
        .ReadControl("app")
        ->weight_bp;
  }

  grpc::Status SetWeight(double percent, v1::SetWeightResponse* resp = nullptr) {
    v1::SetWeightRequest req;
    req.set_cutover("app");
    req.set_percent(percent);
    req.set_reason("test");
    v1::SetWeightResponse ignored;
    return stub_->SetWeight(Context().get(), req, resp ? resp : &ignored);
  }

  grpc::Status Start(const v1::Plan& plan, v1::RolloutResponse* resp = nullptr) {
    v1::StartRolloutRequest req;
    req.set_cutover("app");
    *req.mutable_plan() = plan;
    v1::RolloutResponse ignored;
    return stub_->StartRollout(Context().get(), req, resp ? resp : &ignored);
  }

  std::vector<v1::Event> History() {
    v1::GetHistoryRequest req;
    req.set_cutover("app");
    v1::GetHistoryResponse resp;
    auto status = stub_->GetHistory(Context().get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {resp.events().begin(), resp.events().end()};
  }

  bool RolloutIs(v1::RolloutState state) { return Status().rollout().state() == state; }

  TempDir dir_{"agent-it"};
  Site site_;
  std::unique_ptr<AgentProcess> agent_;
  std::unique_ptr<v1::CutoverService::Stub> stub_;
  int starts_ = 0;
};

TEST_F(AgentTest, UnixSocketIs0660AndServesHealthAndTheCutoverList) {
  StartAgent(Options());
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "agent.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  v1::ListCutoversResponse list;
  ASSERT_TRUE(stub_->ListCutovers(Context().get(), {}, &list).ok());
  ASSERT_EQ(list.cutovers_size(), 1);
  EXPECT_EQ(list.cutovers(0).name(), "app");
  EXPECT_EQ(list.cutovers(0).blue_upstream(), "app_blue");
  EXPECT_EQ(list.cutovers(0).green_upstream(), "app_green");
  EXPECT_EQ(agent_->StopWith(SIGTERM), 0);  // clean shutdown
  EXPECT_FALSE(FileExists(dir_ / "agent.sock"));
}

TEST_F(AgentTest, SetWeightMovesTheObservedSplit) {
  StartAgent(Options());
  v1::SetWeightResponse resp;
  auto status = SetWeight(30, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_DOUBLE_EQ(resp.cutover().green_percent(), 30);
  EXPECT_EQ(resp.event().kind(), "weight_set");
  EXPECT_EQ(WeightInFile(), 3000u);
  HttpClient client;
  int green = 0;
  const int n = 400;
  for (int i = 0; i < n; ++i)
    if (client.Get(site_.Url()).Header("X-Backend-Server") == "green") ++green;
  EXPECT_LE(std::abs(green - 120), 2) << green;  // exact within one request per worker

  ASSERT_TRUE(SetWeight(100).ok());
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(client.Get(site_.Url()).Header("X-Backend-Server"), "green");
  // The counters the agent reads show the traffic too.
  EXPECT_TRUE(WaitFor([&] { return Status().green().requests() >= 170; }));

  auto bad = SetWeight(101);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(bad.error_message().rfind("percent:", 0), 0u) << bad.error_message();
  v1::SetWeightRequest unknown;
  unknown.set_cutover("nope");
  unknown.set_percent(1);
  v1::SetWeightResponse ignored;
  auto s = stub_->SetWeight(Context().get(), unknown, &ignored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("cutover"), std::string::npos);
}

TEST_F(AgentTest, RolloutWithShortHoldsReachesHundredPercent) {
  StartAgent(Options());
  Load load(site_.Url(), 200, 60s, 12000);
  v1::RolloutResponse resp;
  auto status = Start(MakePlan({10, 50, 100}, 1000), &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.rollout().state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_EQ(resp.rollout().from_slot(), v1::SLOT_BLUE);
  ASSERT_TRUE(WaitFor([&] { return !RolloutIs(v1::ROLLOUT_STATE_RUNNING); }, 45s))
      << agent_->Stderr();
  EXPECT_EQ(Status().rollout().state(), v1::ROLLOUT_STATE_COMPLETED) << agent_->Stderr();
  EXPECT_EQ(WeightInFile(), 10000u);
  EXPECT_EQ(Status().live_slot(), v1::SLOT_GREEN);
  const std::uint64_t blue_before = load.blue(), green_before = load.green();
  ASSERT_TRUE(WaitFor([&] { return load.green() >= green_before + 50; }));
  load.Stop();
  EXPECT_LE(load.blue() - blue_before, 1u);  // all on green now (one may have been in flight)
  EXPECT_EQ(load.non_200(), 0u);
  std::vector<std::string> kinds;
  // At 10% of 200 rps a 1 s window is near min_requests: an "inconclusive"
  // report on the way is legitimate; the moves themselves must be these.
  for (const auto& e : History())
    if (e.kind() != "inconclusive") kinds.insert(kinds.begin(), e.kind());
  EXPECT_EQ(kinds, (std::vector<std::string>{"rollout_started", "step_advanced", "step_advanced",
                                             "step_advanced", "completed"}));
}

TEST_F(AgentTest, GreenFailingUnderLoadIsRevertedWithTheNumbersJournaled) {
  StartAgent(Options());
  Load load(site_.Url(), 300, 60s, 18000);
  ASSERT_TRUE(Start(MakePlan({50, 100}, 600000, 2000)).ok());
  ASSERT_TRUE(WaitFor([&] { return load.green() >= 100; }));
  site_.green().SetStatus(500);
  ASSERT_TRUE(WaitFor([&] { return WeightInFile() == 0; }, 20s)) << agent_->Stderr();
  EXPECT_EQ(Status().rollout().state(), v1::ROLLOUT_STATE_REVERTED);
  // From now on every request is blue.
  const std::uint64_t green_after_revert = load.green();
  const std::uint64_t total_after_revert = load.total();
  ASSERT_TRUE(WaitFor([&] { return load.total() >= total_after_revert + 100; }));
  load.Stop();
  // Requests already in flight at the store may still come back green.
  EXPECT_LE(load.green() - green_after_revert, 2u);

  auto history = History();
  ASSERT_FALSE(history.empty());
  const v1::Event& reverted = history.front();
  ASSERT_EQ(reverted.kind(), "reverted");
  EXPECT_DOUBLE_EQ(reverted.weight_before(), 50);
  EXPECT_DOUBLE_EQ(reverted.weight_after(), 0);
  EXPECT_EQ(reverted.actor(), "agent");
  EXPECT_GT(reverted.epoch(), 0u);
  const v1::Measurement& m = reverted.measurement();
  EXPECT_EQ(m.window().seconds(), 2);
  EXPECT_GE(m.requests(), 20u);
  EXPECT_GT(m.errors(), 0u);
  EXPECT_GT(m.error_rate(), 0.05);
  EXPECT_DOUBLE_EQ(m.max_error_rate(), 0.05);
  EXPECT_EQ(m.min_requests(), 20u);
  EXPECT_NE(reverted.reason().find("error rate"), std::string::npos);
  // The file journal has the same entry, fsynced, as one JSON line.
  const std::string journal = ReadFile(dir_ / "journal/journal.jsonl");
  EXPECT_NE(journal.find("\"kind\":\"reverted\""), std::string::npos);
}

// Green refuses connections: clients never see it (nginx fails over to
// blue), but the failed attempts count against green and it is reverted.
class AgentGreenDownTest : public AgentTest {
 protected:
  Site down_site_{2, /*green_down=*/true};
};

TEST_F(AgentGreenDownTest, FailedAttemptsOnGreenRevertThoughClientsSawNoError) {
  AgentOptions o = Options();
  o.state_file = down_site_.nginx().state_path();
  StartAgent(o);
  Load load(down_site_.Url(), 200, 60s, 12000);
  ASSERT_TRUE(Start(MakePlan({50, 100}, 600000)).ok());
  auto file = state::StateFile::Open(o.state_file, state::StateFile::Access::kReadOnly);
  ASSERT_TRUE(WaitFor([&] { return file.ReadControl("app")->weight_bp == 0; }, 20s))
      << agent_->Stderr();
  load.Stop();
  EXPECT_EQ(load.non_200(), 0u);  // failover hid the dead slot from clients
  EXPECT_EQ(load.green(), 0u);
  auto history = History();
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.front().kind(), "reverted");
  EXPECT_GT(history.front().measurement().errors(), 0u);
  EXPECT_GT(history.front().measurement().error_rate(), 0.05);
  EXPECT_GT(Status().green().failures(), 0u);
}

TEST_F(AgentTest, SigkillMidHoldKeepsTheWeightAndARestartFinishes) {
  StartAgent(Options());
  Load load(site_.Url(), 200, 90s, 18000);
  ASSERT_TRUE(Start(MakePlan({30, 100}, 4000)).ok());
  ASSERT_TRUE(WaitFor([&] { return Status().rollout().step_healthy_requests() > 0; }));
  EXPECT_EQ(agent_->StopWith(SIGKILL), 128 + SIGKILL);
  // nginx keeps the last weight while the agent is down.
  EXPECT_EQ(WeightInFile(), 3000u);
  const std::uint64_t green_while_down = load.green();
  ASSERT_TRUE(WaitFor([&] { return load.green() >= green_while_down + 20; }));
  EXPECT_EQ(WeightInFile(), 3000u);

  StartAgent(Options());
  auto rollout = Status().rollout();
  EXPECT_EQ(rollout.state(), v1::ROLLOUT_STATE_RUNNING);
  EXPECT_EQ(rollout.step(), 0);
  ASSERT_TRUE(WaitFor([&] { return RolloutIs(v1::ROLLOUT_STATE_COMPLETED); }, 45s))
      << agent_->Stderr();
  EXPECT_EQ(WeightInFile(), 10000u);
  EXPECT_NE(agent_->Stderr().find("restored rollout"), std::string::npos);
}

TEST_F(AgentTest, SetWeightIsRefusedWhileARolloutRunsButNotWhenPaused) {
  StartAgent(Options());
  ASSERT_TRUE(Start(MakePlan({5, 100}, 600000)).ok());
  auto refused = SetWeight(50);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  v1::RolloutActionRequest action;
  action.set_cutover("app");
  v1::RolloutResponse resp;
  ASSERT_TRUE(stub_->PauseRollout(Context().get(), action, &resp).ok());
  EXPECT_EQ(resp.rollout().state(), v1::ROLLOUT_STATE_PAUSED);
  EXPECT_TRUE(SetWeight(50).ok());
  EXPECT_EQ(WeightInFile(), 5000u);
  ASSERT_TRUE(stub_->AbortRollout(Context().get(), action, &resp).ok());
  EXPECT_EQ(resp.rollout().state(), v1::ROLLOUT_STATE_ABORTED);
  EXPECT_EQ(WeightInFile(), 0u);

  v1::Plan bad = MakePlan({5, 100}, 1000);
  bad.mutable_analysis()->clear_window();
  auto invalid = Start(bad);
  EXPECT_EQ(invalid.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(invalid.error_message(), "plan.analysis.window: must be positive");
}

TEST_F(AgentTest, WatchEventsStreamsDecisions) {
  StartAgent(Options());
  ASSERT_TRUE(SetWeight(10).ok());
  auto ctx = Context();
  v1::WatchEventsRequest req;
  req.set_cutover("app");
  req.set_since_sequence(1);  // replay from the journal, then live
  auto reader = stub_->WatchEvents(ctx.get(), req);
  v1::Event first;
  ASSERT_TRUE(reader->Read(&first));
  EXPECT_EQ(first.kind(), "weight_set");
  ASSERT_TRUE(SetWeight(20).ok());
  v1::Event second;
  ASSERT_TRUE(reader->Read(&second));
  EXPECT_EQ(second.kind(), "weight_set");
  EXPECT_DOUBLE_EQ(second.weight_after(), 20);
  EXPECT_GT(second.sequence(), first.sequence());
  ctx->TryCancel();
}

TEST_F(AgentTest, MetricsExposeCountersWeightsAndDecisions) {
  AgentOptions o = Options();
  const int metrics_port = FreePort();
  o.metrics = "127.0.0.1:" + std::to_string(metrics_port);
  StartAgent(o);
  ASSERT_TRUE(WaitFor([&] { return TcpPortAnswers(metrics_port); }));
  ASSERT_TRUE(SetWeight(30).ok());
  HttpClient client;
  for (int i = 0; i < 100; ++i) ASSERT_EQ(client.Get(site_.Url()).status, 200);
  const std::string url = "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics";
  std::string text;
  // The agent exports what it sampled: wait for a tick that saw all 100.
  ASSERT_TRUE(WaitFor([&] {
    text = client.Get(url).body;
    return text.find("cutover_requests_total{cutover=\"app\",slot=\"green\"} 30") !=
           std::string::npos;
  })) << text;
  EXPECT_NE(text.find("cutover_requests_total{cutover=\"app\",slot=\"blue\"} 70"),
            std::string::npos);
  EXPECT_NE(text.find("cutover_responses_total{class=\"2xx\",cutover=\"app\",slot=\"green\"} 30"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("cutover_weight_percent{cutover=\"app\",slot=\"green\"} 30"),
            std::string::npos);
  EXPECT_NE(text.find("cutover_upstream_latency_seconds_count{cutover=\"app\",slot=\"green\"} 30"),
            std::string::npos);
  EXPECT_NE(text.find("cutover_decisions_total{cutover=\"app\",kind=\"weight_set\"} 1"),
            std::string::npos);
}

// ---------------------------------------------------------------- TCP

class AgentTcpTest : public AgentTest {
 protected:
  void SetUp() override {
    WriteFile(dir_ / "token", "s3cret-token\n");
    AgentOptions o = Options();
    o.socket.clear();
    o.tcp_port = FreePort();
    o.token_file = dir_ / "token";
    agent_ = std::make_unique<AgentProcess>(o, dir_ / "agent-tcp");
    agent_->Start();
    stub_ = agent_->TcpStub();
  }
};

TEST_F(AgentTcpTest, MutatingCallsNeedTheBearerToken) {
  v1::SetWeightRequest req;
  req.set_cutover("app");
  req.set_percent(40);
  v1::SetWeightResponse resp;
  auto no_token = stub_->SetWeight(Context().get(), req, &resp);
  EXPECT_EQ(no_token.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  auto wrong = stub_->SetWeight(Context("guess").get(), req, &resp);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  v1::StartRolloutRequest start;
  start.set_cutover("app");
  *start.mutable_plan() = MakePlan({5, 100}, 1000);
  v1::RolloutResponse rollout;
  EXPECT_EQ(stub_->StartRollout(Context().get(), start, &rollout).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(WeightInFile(), 0u);  // nothing moved

  auto ok = stub_->SetWeight(Context("s3cret-token").get(), req, &resp);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(WeightInFile(), 4000u);
  // Reading needs no token.
  EXPECT_DOUBLE_EQ(Status().green_percent(), 40);
}

// Issue 15 #1: an anonymous TCP client ran SQL with the agent's database
// identity through a Preflight's gates. Without gates, Preflight stays a read.
TEST_F(AgentTcpTest, APreflightWithGatesNeedsTheBearerToken) {
  v1::PreflightRequest req;
  *req.mutable_plan() = MakePlan({5, 100}, 1000);
  v1::PreflightResponse resp;
  const auto no_gates = stub_->Preflight(Context().get(), req, &resp);
  EXPECT_TRUE(no_gates.ok()) << no_gates.error_message();
  auto* gate = req.mutable_plan()->add_gates()->mutable_reversibility();
  gate->set_policy(v1::REVERSIBILITY_POLICY_ALLOW);
  const auto anonymous = stub_->Preflight(Context().get(), req, &resp);
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAUTHENTICATED) << anonymous.error_message();
  const auto with_token = stub_->Preflight(Context("s3cret-token").get(), req, &resp);
  EXPECT_TRUE(with_token.ok()) << with_token.error_message();
  EXPECT_TRUE(resp.go());
}

}  // namespace
}  // namespace cutover::test

namespace cutover::test {
namespace {

// TLS with a certificate made for the test by openssl.
class AgentTlsTest : public AgentTest {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(MakeCertificate(dir_, "DNS:localhost,IP:127.0.0.1", &error)) << error;
    WriteFile(dir_ / "token", "tls-token");
    AgentOptions o = Options();
    o.socket.clear();
    o.tcp_port = FreePort();
    o.token_file = dir_ / "token";
    o.tls_cert = dir_ / "cert.pem";
    o.tls_key = dir_ / "key.pem";
    agent_ = std::make_unique<AgentProcess>(o, dir_ / "agent-tls");
    agent_->Start();
  }
};

TEST_F(AgentTest, ABadTlsCertificateOrKeyIsAUsageErrorNamingTheFlag) {
  std::string error;
  TempDir other("agent-tls-other");
  ASSERT_TRUE(MakeCertificate(dir_, "DNS:localhost", &error)) << error;
  ASSERT_TRUE(MakeCertificate(other, "DNS:localhost", &error)) << error;
  WriteFile(dir_ / "not-a-cert.pem", "hello\n");
  const auto start = [&](const std::string& cert, const std::string& key) {
    return test::Run({CUTOVER_AGENT_BINARY, "--state-file", site_.nginx().state_path(), "--listen",
                      "127.0.0.1:" + std::to_string(FreePort()), "--journal", dir_ / "journal-tls",
                      "--tls-cert", cert, "--tls-key", key});
  };
  // Before, all three exited 1 with "cannot listen on every --listen address".
  auto r = start(dir_ / "not-a-cert.pem", dir_ / "key.pem");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--tls-cert: not a PEM certificate"), std::string::npos) << r.err;
  r = start(dir_ / "cert.pem", dir_ / "not-a-cert.pem");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--tls-key: not a PEM private key"), std::string::npos) << r.err;
  r = start(dir_ / "cert.pem", other / "key.pem");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--tls-key: not the private key of --tls-cert's certificate"),
            std::string::npos)
      << r.err;
}

TEST_F(AgentTlsTest, ServesTlsAndRefusesPlaintext) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFile(dir_ / "cert.pem");
  auto tls = agent_->TcpStub(grpc::SslCredentials(ssl));
  v1::SetWeightRequest req;
  req.set_cutover("app");
  req.set_percent(15);
  v1::SetWeightResponse resp;
  auto ok = tls->SetWeight(Context("tls-token").get(), req, &resp);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(WeightInFile(), 1500u);

  auto plaintext = agent_->TcpStub();
  v1::GetStatusRequest status_req;
  status_req.set_cutover("app");
  v1::GetStatusResponse status_resp;
  auto ctx = Context();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  EXPECT_FALSE(plaintext->GetStatus(ctx.get(), status_req, &status_resp).ok());
}

}  // namespace
}  // namespace cutover::test
