// Attempts, retries and failover between the slots, against real nginx, with
// what plain nginx does as the reference.
#include <gtest/gtest.h>

#include <regex>

#include "module_fixture.hpp"

namespace cutover::test {
namespace {

// ---------------------------------------------------------------- failover

TEST_F(ModuleTest, GreensOnlyPeerDownFailsOverToBlueWithoutAFailedRequest) {
  StartNginx({.weight = "50", .green_down = true});
  const int n = 200;
  Tally t = Send(n);
  EXPECT_EQ(t.by_status[200], n) << "no client request may fail";
  EXPECT_EQ(t.by_slot["blue"], n);
  json s = SettledStatus(n)["cutovers"]["app"]["slots"];
  const int green_picks = s["green"]["failures"].get<int>();
  EXPECT_LE(std::abs(green_picks - n / 2), kWorkers) << "every green pick failed once";
  EXPECT_EQ(s["green"]["failovers"], green_picks);
  EXPECT_EQ(s["green"]["requests"], 0);
  EXPECT_EQ(s["blue"]["requests"], n);
  EXPECT_EQ(s["blue"]["failures"], 0);
}

TEST_F(ModuleTest, FailoverOffLetsTheFailureThroughTaggedWithItsSlot) {
  StartNginx({.weight = "100", .extra_params = "failover=off", .green_down = true});
  Tally t = Send(20);
  EXPECT_EQ(t.by_status[502], 20);
  EXPECT_EQ(t.by_slot["green"], 20);
  json s = SettledStatus(20)["cutovers"]["app"]["slots"];
  EXPECT_EQ(s["green"]["failures"], 20);
  EXPECT_EQ(s["green"]["failovers"], 0);
  EXPECT_EQ(s["green"]["responses"]["5xx"], 20);
}

TEST_F(ModuleTest, ASlotWithNoLivePeerHandsTheRequestToTheOtherSlot) {
  std::string body = std::regex_replace(
      Body({.weight = "100"}), std::regex("(upstream app_green \\{ server [^;]*)"), "$1 down");
  ASSERT_NE(body.find(" down;"), std::string::npos);
  nginx_ = std::make_unique<Nginx>(body, kWorkers);
  nginx_->Start(port_);
  Tally t = Send(25);
  EXPECT_EQ(t.by_status[200], 25);
  EXPECT_EQ(t.by_slot["blue"], 25);
  json s = SettledStatus(25)["cutovers"]["app"]["slots"];
  EXPECT_EQ(s["green"]["failovers"], 25);
  EXPECT_EQ(s["green"]["failures"], 0) << "nothing was attempted on green";
  EXPECT_EQ(green_->requests(), 0u);
}

TEST_F(ModuleTest, NoRetryMeansNoFailover) {
  StartNginx({.weight = "100", .location_extra = "proxy_next_upstream off;", .green_down = true});
  Tally t = Send(10);
  EXPECT_EQ(t.by_status[502], 10);
  json s = SettledStatus(10)["cutovers"]["app"]["slots"];
  EXPECT_EQ(s["green"]["failures"], 10);
  EXPECT_EQ(s["green"]["failovers"], 0) << "nginx did not retry, so nothing failed over";
  EXPECT_EQ(s["blue"]["requests"], 0);
}

TEST_F(ModuleTest, AFailingGreenPeerWithNextUpstreamHttp500RetriesOnBlue) {
  green_->SetStatus(500);
  StartNginx({.weight = "100", .location_extra = "proxy_next_upstream error timeout http_500;"});
  Tally t = Send(30);
  EXPECT_EQ(t.by_status[200], 30);
  EXPECT_EQ(t.by_slot["blue"], 30);
  json s = SettledStatus(30)["cutovers"]["app"]["slots"];
  EXPECT_EQ(s["green"]["failures"], 30);
  EXPECT_EQ(s["green"]["failovers"], 30);
}

TEST_F(ModuleTest, SlotBalancersKeepWorkingInsideASlot) {
  // least_conn and keepalive in the blue block: both blue peers serve.
  std::string body = std::regex_replace(Body({}), std::regex("upstream app_blue \\{"),
                                        "upstream app_blue { least_conn; keepalive 8;");
  body = std::regex_replace(
      body, std::regex("proxy_pass http://app;"),
      "proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection \"\";");
  nginx_ = std::make_unique<Nginx>(body, kWorkers);
  nginx_->Start(port_);
  Tally t = Send(100);
  EXPECT_EQ(t.by_status[200], 100);
  EXPECT_GT(t.by_backend["blue-1"], 0);
  EXPECT_GT(t.by_backend["blue-2"], 0);
}

TEST_F(ModuleTest, APassThatErrorPageHidesIsStillCountedOnItsSlot) {
  // green answers 500; error_page sends the request through the cutover a
  // second time, forced blue. The client sees blue's 200, and green's 500
  // must still count against green, or error_page would hide a bad canary.
  green_->SetStatus(500);
  std::string body = Body({.weight = "100",
                           .extra_params = "force=$force_slot",
                           .location_extra = "set $force_slot \"\"; proxy_intercept_errors on; "
                                             "error_page 500 = @again;"});
  body = std::regex_replace(body, std::regex("    location = /cutover/status"),
                            "    location @again { set $force_slot blue; proxy_pass http://app; }\n"
                            "    location = /cutover/status");
  nginx_ = std::make_unique<Nginx>(body, kWorkers);
  nginx_->Start(port_);
  for (int round = 0; round < 3; ++round) {  // states are recycled between rounds
    Tally t = Send(40);
    EXPECT_EQ(t.by_status[200], 40) << "the second pass answers";
    EXPECT_EQ(t.by_slot["blue"], 40) << "tagged with the slot that answered";
  }
  EXPECT_EQ(green_->requests(), 120u) << "every request went to green first";
  json s;
  EXPECT_TRUE(WaitFor([&] {
    s = Status()["cutovers"]["app"]["slots"];
    return s["blue"]["requests"] == 120 && s["green"]["requests"] == 120;
  })) << s.dump();
  EXPECT_EQ(s["green"]["responses"]["5xx"], 120);
  EXPECT_EQ(s["blue"]["responses"]["2xx"], 120);
  EXPECT_EQ(s["blue"]["responses"]["5xx"], 0);
}

}  // namespace
}  // namespace cutover::test
