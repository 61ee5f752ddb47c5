// What the module counts while an upstream makes a request wait: attempts
// waiting for the response header (the agent's stall signal), requests the
// client abandoned meanwhile, and latency as the time to the response header
// with the full duration apart. A gated backend holds green exactly where a
// test needs it, so nothing here sleeps or reads a clock.
#include <gtest/gtest.h>

#include <regex>
#include <thread>

#include "gated_backend.hpp"
#include "module_fixture.hpp"

namespace cutover::test {
namespace {

class WaitsTest : public ModuleTest {
 protected:
  // Green's only peer is `gated`; weight 100, failover off, so every request
  // waits on it.
  void StartBehind(GatedBackend& gated, const std::string& location_extra = "") {
    std::string body =
        Body({.weight = "100", .extra_params = "failover=off", .location_extra = location_extra});
    body = std::regex_replace(body, std::regex("server " + green_->address() + ";"),
                              "server " + gated.address() + ";");
    StartNginxWith(body);
  }

  state::SlotSnapshot Green() { return File().Snapshot("app")->slot(state::Slot::kGreen); }
};

// A green that stops answering shows up as attempts waiting, not as silence.
TEST_F(WaitsTest, AttemptsWaitingForTheResponseHeaderAreVisibleUntilItComes) {
  GatedBackend gated("green-1");
  StartBehind(gated);
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i)
    clients.emplace_back([&] {
      HttpClient c;
      EXPECT_EQ(c.Get(Url()).status, 200);
    });
  const bool waiting = WaitFor([&] { return Green().Waiting() == 3; });
  const auto held = Green();
  gated.OpenHeaderGate();
  gated.OpenBodyGate();
  for (auto& t : clients) t.join();
  ASSERT_TRUE(waiting) << "waits_started " << held.waits_started << ", ended " << held.waits_ended;
  EXPECT_EQ(held.waits_started, 3u);
  EXPECT_EQ(held.waits_ended, 0u);
  EXPECT_EQ(held.requests, 0u) << "nothing is counted as served while it waits";
  auto done = Settled(3);
  ASSERT_TRUE(done);
  const auto& g = done->slot(state::Slot::kGreen);
  EXPECT_EQ(g.waits_started, 3u);
  EXPECT_EQ(g.waits_ended, 3u);
  EXPECT_EQ(g.Waiting(), 0u);
  EXPECT_EQ(g.abandoned, 0u);
  json s = Status()["cutovers"]["app"]["slots"]["green"];
  EXPECT_EQ(s["waiting"], 0);
  EXPECT_EQ(s["waits"]["started"], 3);
}

// A client that gives up while green holds the header abandoned a wait for
// green: green's failure, counted on its own, and not a served request.
TEST_F(WaitsTest, AClientThatHangsUpWhileGreenHoldsTheHeaderIsGreensFailure) {
  GatedBackend gated("green-1");
  StartBehind(gated);
  {
    RawClient client(port_);
    client.Send("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
    const bool waiting = WaitFor([&] { return Green().Waiting() == 1; });
    ASSERT_TRUE(waiting);
  }  // hangs up
  const bool abandoned = WaitFor([&] { return Green().abandoned == 1; });
  gated.OpenHeaderGate();
  gated.OpenBodyGate();
  ASSERT_TRUE(abandoned) << "abandoned " << Green().abandoned;
  const auto g = Green();
  EXPECT_EQ(g.failures, 1u);
  EXPECT_EQ(g.requests, 0u);
  EXPECT_EQ(g.responses[3], 0u) << "not a 4xx response: nobody got one";
  EXPECT_EQ(g.Waiting(), 0u);
  json s = Status()["cutovers"]["app"]["slots"]["green"];
  EXPECT_EQ(s["abandoned"], 1);
  EXPECT_EQ(s["failures"], 1);
}

// Latency is the time to the response header: a slow body (a download, a
// long poll) stays out of it and shows in the full duration instead.
TEST_F(WaitsTest, LatencyIsTheTimeToTheResponseHeaderAndTheFullDurationIsApart) {
  GatedBackend gated("green-1");
  gated.OpenHeaderGate();
  StartBehind(gated);
  std::thread client([&] {
    HttpClient c;
    auto r = c.Get(Url());
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "green-1\n");
  });
  // The header has arrived (the wait ended) while the body is still held.
  const bool header_in = WaitFor([&] {
    const auto g = Green();
    return g.waits_started == 1 && g.waits_ended == 1;
  });
  const auto mid = Green();
  gated.OpenBodyGate();
  client.join();
  ASSERT_TRUE(header_in);
  EXPECT_EQ(mid.requests, 0u) << "the request is not done while its body is held";
  auto done = Settled(1);
  ASSERT_TRUE(done);
  const auto& g = done->slot(state::Slot::kGreen);
  std::uint64_t in_histogram = 0;
  for (auto c : g.latency) in_histogram += c;
  EXPECT_EQ(in_histogram, 1u);
  EXPECT_GT(g.duration_sum_us, g.latency_sum_us)
      << "the body was held after the header came: the duration is longer";
}

// An upgraded connection (101) lasts as long as its session: it is a request
// with a 1xx response, and stays out of the latency and the duration.
TEST_F(WaitsTest, AnUpgradedConnectionStaysOutOfLatencyAndDuration) {
  GatedBackend gated("green-1", /*upgrade=*/true);
  gated.OpenHeaderGate();
  StartBehind(gated,
              "proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; "
              "proxy_set_header Connection \"upgrade\";");
  {
    RawClient client(port_);
    client.Send(
        "GET / HTTP/1.1\r\nHost: test\r\nUpgrade: cutover-test\r\nConnection: Upgrade\r\n\r\n");
    const std::string head = client.ReadUntil("\r\n\r\n");
    EXPECT_NE(head.find(" 101 "), std::string::npos) << head;
    EXPECT_NE(head.find("X-Backend-Server: green"), std::string::npos) << head;
    gated.OpenBodyGate();  // the backend ends the session
    client.ReadUntil("never");
  }
  auto done = Settled(1);
  ASSERT_TRUE(done);
  const auto& g = done->slot(state::Slot::kGreen);
  EXPECT_EQ(g.responses[0], 1u);
  std::uint64_t in_histogram = 0;
  for (auto c : g.latency) in_histogram += c;
  EXPECT_EQ(in_histogram, 0u);
  EXPECT_EQ(g.latency_sum_us, 0u);
  EXPECT_EQ(g.duration_sum_us, 0u);
}

}  // namespace
}  // namespace cutover::test
