// What the real cutover-agent does with input a client should not send:
// over-long and hostile text, unknown names. No nginx: a state file made
// the way nginx makes it is all these need.
#include <gtest/gtest.h>

#include "support/agent.hpp"

namespace cutover::test {
namespace {

using namespace std::chrono_literals;

class AgentInputTest : public ::testing::Test {
 protected:
  AgentInputTest() : agent_(LocalAgent(dir_, MakeAppStateFile(dir_)), dir_ / "agent") {
    agent_.Start();
    stub_ = agent_.UnixStub();
  }

  grpc::Status SetWeight(const std::string& reason, double percent = 5) {
    v1::SetWeightRequest req;
    req.set_cutover("app");
    req.set_percent(percent);
    req.set_reason(reason);
    v1::SetWeightResponse resp;
    return stub_->SetWeight(Context().get(), req, &resp);
  }

  TempDir dir_{"cutover-input"};
  AgentProcess agent_;
  std::unique_ptr<v1::CutoverService::Stub> stub_;
};

// Issue 15 #5: a newline in a reason forged a log line ("... FORGED"), and a
// 3 MB reason was accepted, journaled and re-read by every history call.
TEST_F(AgentInputTest, AReasonIsBoundedAndCannotForgeALogLine) {
  const auto big = SetWeight(std::string(3 << 20, 'r'));
  EXPECT_EQ(big.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(big.error_message(), "reason: at most 1024 bytes, got 3145728");
  v1::RolloutActionRequest abort;
  abort.set_cutover("app");
  abort.set_reason(std::string(1025, 'r'));
  v1::RolloutResponse resp;
  EXPECT_EQ(stub_->AbortRollout(Context().get(), abort, &resp).error_message(),
            "reason: at most 1024 bytes, got 1025");

  const std::string forged =
      "2026-01-01T00:00:00.000Z info app: reverted green 5.00% -> 0.00% FORGED";
  ASSERT_TRUE(SetWeight("by hand\n" + forged).ok());
  ASSERT_TRUE(WaitFor([&] { return agent_.Stderr().find("FORGED") != std::string::npos; }));
  const std::string log = agent_.Stderr();
  EXPECT_EQ(log.find("\n" + forged), std::string::npos) << log;
  EXPECT_NE(log.find("by hand\\n" + forged), std::string::npos) << log;
}

}  // namespace
}  // namespace cutover::test
