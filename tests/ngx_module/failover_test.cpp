// Attempts, retries and failover between the slots, against real nginx, with
// what plain nginx does as the reference.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "gated_backend.hpp"
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

// ---------------------------------------------------------------- issue 15 #11, #13, #14

// nginx decides a status-based retry (proxy_next_upstream http_500) from
// u->peer.tries > 1 while the attempt is in flight: the module's count must
// still include that attempt, or `proxy_next_upstream_tries 2` never retries.
TEST_F(ModuleTest, NextUpstreamTriesTwoStillRetriesAGreen500OnBlue) {
  green_->SetStatus(500);
  StartNginx({.weight = "100",
              .location_extra =
                  "proxy_next_upstream error timeout http_500; proxy_next_upstream_tries 2;"});
  Tally t = Send(20);
  EXPECT_EQ(t.by_status[200], 20) << "the second try must go to blue";
  EXPECT_EQ(t.by_slot["blue"], 20);
  EXPECT_EQ(green_->requests(), 20u);
  json s = SettledStatus(20)["cutovers"]["app"]["slots"];
  EXPECT_EQ(s["green"]["failovers"], 20);
}

TEST_F(ModuleTest, NextUpstreamTriesOneMeansOneAttempt) {
  green_->SetStatus(500);
  StartNginx({.weight = "100",
              .location_extra =
                  "proxy_next_upstream error timeout http_500; proxy_next_upstream_tries 1;"});
  Tally t = Send(10);
  EXPECT_EQ(t.by_status[500], 10);
  EXPECT_EQ(t.by_slot["green"], 10);
  EXPECT_EQ(blue1_->requests() + blue2_->requests(), 0u);
}

// A 502 "no live upstreams" is a response of the slot that had no peer: with
// failover=off a green whose every peer is out must show 100% errors, not
// silence.
TEST_F(ModuleTest, NoLiveUpstreamsIsCountedAndTaggedOnItsSlot) {
  std::string body =
      std::regex_replace(Body({.weight = "100", .extra_params = "failover=off"}),
                         std::regex("(upstream app_green \\{ server [^;]*)"), "$1 down");
  StartNginxWith(body);
  Tally t = Send(12);
  EXPECT_EQ(t.by_status[502], 12);
  EXPECT_EQ(t.by_slot["green"], 12) << "the 502 names the slot that had no peer";
  auto snap = Settled(12);
  ASSERT_TRUE(snap);
  const auto& g = snap->slot(state::Slot::kGreen);
  EXPECT_EQ(g.requests, 12u);
  EXPECT_EQ(g.Responses5xx(), 12u);
  EXPECT_EQ(g.no_live_peer, 12u);
  EXPECT_EQ(g.failures, 0u) << "no attempt was made";
  EXPECT_EQ(g.waits_started, 0u);
  EXPECT_EQ(snap->slot(state::Slot::kBlue).requests, 0u);
}

// Green's attempt fails; blue, where a retry would go, has no live peer:
// nginx gives up with green's failure, as it would with green alone. The 502
// belongs to green, the slot that made the attempt (it used to be booked on
// blue, with a failover that made no attempt).
TEST_F(ModuleTest, ARetryToASlotWithNoLivePeerStaysBookedOnTheSlotThatTried) {
  std::string body = Body({.weight = "100", .green_down = true});
  for (const Backend* b : {blue1_.get(), blue2_.get()})
    body = std::regex_replace(body, std::regex("server " + b->address() + ";"),
                              "server " + b->address() + " down;");
  StartNginxWith(body);
  Tally t = Send(10);
  EXPECT_EQ(t.by_status[502], 10);
  EXPECT_EQ(t.by_slot["green"], 10);
  auto snap = Settled(10);
  ASSERT_TRUE(snap);
  const auto& g = snap->slot(state::Slot::kGreen);
  const auto& b = snap->slot(state::Slot::kBlue);
  EXPECT_EQ(g.requests, 10u);
  EXPECT_EQ(g.failures, 10u);
  EXPECT_EQ(g.failovers, 0u) << "a move that made no attempt is not a failover";
  EXPECT_EQ(b.requests, 0u);
  EXPECT_EQ(b.failures, 0u);
}

// Plain nginx retries a failed peer's request on the next peer of the same
// upstream. Behind a cutover at weight 0 it must do the same inside blue,
// not hand the retry to green while blue still has a peer to try.
TEST_F(ModuleTest, ARetryStaysInsideTheSlotWhileItHasPeersLeft) {
  std::string body = Body({.weight = "0"});
  body = std::regex_replace(body, std::regex("server " + blue1_->address() + ";"),
                            "server 127.0.0.1:" + std::to_string(dead_port_) + ";");
  StartNginxWith(body);
  Tally t = Send(40);
  EXPECT_EQ(t.by_status[200], 40);
  EXPECT_EQ(t.by_slot["blue"], 40) << "blue's live peer takes every retry";
  EXPECT_EQ(green_->requests(), 0u);
  auto snap = Settled(40);
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->slot(state::Slot::kBlue).failovers, 0u);
  EXPECT_GT(snap->slot(state::Slot::kBlue).failures, 0u) << "the dead peer was tried";
}

// Once the slot is exhausted, the retry moves to the other slot.
TEST_F(ModuleTest, AnExhaustedSlotFailsOverOnlyAfterEveryPeerWasTried) {
  std::string body = Body({.weight = "0"});
  body = std::regex_replace(body, std::regex("server " + blue1_->address() + ";"),
                            "server 127.0.0.1:" + std::to_string(dead_port_) + ";");
  body = std::regex_replace(body, std::regex("server " + blue2_->address() + ";"),
                            "server 127.0.0.1:" + std::to_string(FreePort()) + ";");
  StartNginxWith(body);
  Tally t = Send(10);
  EXPECT_EQ(t.by_status[200], 10);
  EXPECT_EQ(t.by_slot["green"], 10);
  auto snap = Settled(10);
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->slot(state::Slot::kBlue).failovers, 10u);
  // Every request tried blue's peers first (until max_fails ejects them,
  // each request tries both; afterwards, blue has no live peer).
  EXPECT_GE(snap->slot(state::Slot::kBlue).failures + snap->slot(state::Slot::kBlue).no_live_peer,
            10u);
}

// `keepalive` in the cutover block (or, from nginx 1.29.7, keepalive by
// default for every upstream) must not wrap the cutover's balancer: the
// connections belong to the slots' caches.
TEST_F(ModuleTest, KeepaliveInTheCutoverBlockIsTakenOffWithAWarning) {
  std::string body = std::regex_replace(
      Body({.weight = "50"}), std::regex("(cutover blue=app_blue[^;]*;)"), "$1 keepalive 16;");
  nginx_ = std::make_unique<Nginx>(body, kWorkers);
  auto test = nginx_->Test();
  EXPECT_EQ(test.exit_code, 0) << test.err;
  // From 1.29.7 every upstream has keepalive unless told otherwise: taking
  // it off a cutover block is then the rule, not worth a warning.
  const bool by_default = NginxVersion() >= 1029007;
  EXPECT_EQ(test.err.find("\"keepalive\" has no effect in \"cutover\" upstream \"app\"") !=
                std::string::npos,
            !by_default)
      << test.err;
  nginx_->Start(port_);
  Tally t = Send(40);
  EXPECT_EQ(t.by_status[200], 40);
  EXPECT_LE(std::abs(t.by_slot["green"] - 20), kWorkers);
}

// The connections belong to the slots: a slot with `keepalive 0` keeps none,
// even on nginx 1.29.7+, whose default keepalive would otherwise wrap the
// cutover's balancer and cache them at the cutover's level.
TEST_F(ModuleTest, ASlotWithoutKeepaliveGetsAConnectionPerRequest) {
  GatedBackend green("green-1", false, /*keep_alive=*/true);
  green.OpenHeaderGate();
  green.OpenBodyGate();
  std::string body =
      Body({.weight = "100",
            .location_extra = "proxy_http_version 1.1; proxy_set_header Connection \"\";",
            .green_extra = NginxVersion() >= 1029007 ? "keepalive 0;" : ""});
  body = std::regex_replace(body, std::regex("server " + green_->address() + ";"),
                            "server " + green.address() + ";");
  StartNginxWith(body);
  Tally t = Send(10, "GET", {}, 10);
  EXPECT_EQ(t.by_status[200], 10);
  EXPECT_EQ(green.connections(), 10) << "a connection cached outside the slot was reused";
}

// When the slot in use is exhausted and the other has no peer nginx could
// try, nginx must keep the last real response (here blue's 404s, retried on
// each blue peer) instead of giving it up for a retry that can only find no
// live peer (a 502). nginx-tests' proxy_next_upstream.t ("all tried with
// down") and proxy_next_upstream_tries.t ("tries zero") behind a cutover
// found it.
TEST_F(ModuleTest, ARetryNeverTradesARealResponseForASlotWithNoPeer) {
  blue1_->SetStatus(404);
  blue2_->SetStatus(404);
  std::string body = Body({.weight = "0",
                           .location_extra = "proxy_next_upstream error timeout http_404; "
                                             "proxy_next_upstream_tries 0;"});
  body = std::regex_replace(body, std::regex("server " + green_->address() + ";"),
                            "server " + green_->address() + " down;");
  StartNginxWith(body);
  HttpClient c;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(c.Get(Url()).status, 404);
  EXPECT_EQ(blue1_->requests() + blue2_->requests(), 20u) << "both blue peers, every time";
  EXPECT_EQ(green_->requests(), 0u);
}

// "no live upstreams" names the upstream the request was sent to, as round
// robin does: the cutover, not one of its slots (nginx-tests' upstream_zone.t).
TEST_F(ModuleTest, NoLiveUpstreamsNamesTheCutoverInUpstreamAddr) {
  std::string body = Body({.weight = "100",
                           .extra_params = "failover=off",
                           .location_extra = "add_header X-Addr $upstream_addr always;"});
  body = std::regex_replace(body, std::regex("server " + green_->address() + ";"),
                            "server " + green_->address() + " down;");
  StartNginxWith(body);
  HttpClient c;
  auto r = c.Get(Url());
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.Header("X-Addr"), "app");
}

}  // namespace
}  // namespace cutover::test
