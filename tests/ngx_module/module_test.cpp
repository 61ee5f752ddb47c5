// The module in a real nginx: the split, key= and force=, the slot header,
// and the counters, against what the client saw.
#include <gtest/gtest.h>
#include <signal.h>

#include <cmath>
#include <filesystem>
#include <regex>

#include "module_fixture.hpp"
#include "ngx_http_cutover_split.hpp"

namespace cutover::test {
namespace {

// ---------------------------------------------------------------- split

TEST_F(ModuleTest, SplitMatchesTheWeightWithinOneRequestPerWorker) {
  StartNginx();
  StateFile file = File();
  const int n = 1000;
  for (std::uint32_t bp : {0u, 100u, 2000u, 5000u, 10000u}) {
    file.StoreWeight("app", bp);
    Tally t = Send(n);
    const double expected = n * bp / 10000.0;
    EXPECT_LE(std::fabs(t.by_slot["green"] - expected), kWorkers)
        << "weight " << bp << " bp: green " << t.by_slot["green"];
    EXPECT_EQ(t.by_slot["green"] + t.by_slot["blue"], n);
    EXPECT_EQ(t.by_status[200], n);
  }
}

TEST_F(ModuleTest, ConfigWeightSeedsANewRecord) {
  StartNginx({.weight = "20"});
  Tally t = Send(500);
  EXPECT_LE(std::abs(t.by_slot["green"] - 100), kWorkers);
  auto snap = File().Snapshot("app");
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->control.weight_bp, 2000u);
  EXPECT_EQ(snap->control.epoch, 1u);
}

TEST_F(ModuleTest, ABackendCannotSpoofTheSlotHeader) {
  green_->SetSpoofHeader(true);
  blue1_->SetSpoofHeader(true);
  blue2_->SetSpoofHeader(true);
  StartNginx({.weight = "50"});
  Tally t = Send(200);  // Send() asserts one header naming the real slot
  EXPECT_EQ(t.by_slot.count("spoofed"), 0u);
  EXPECT_EQ(t.by_slot["green"] + t.by_slot["blue"], 200);
}

TEST_F(ModuleTest, CutoverHeaderCanBeRenamedGivenAValueOrTurnedOff) {
  StartNginx({.weight = "100",
              .http_extra =
                  "  cutover_header X-Slot \"$cutover_slot@$cutover_weight#$cutover_epoch\";\n"});
  HttpClient c;
  auto r = c.Get(Url());
  EXPECT_EQ(r.Header("X-Slot"), "green@100#1");
  EXPECT_TRUE(r.All("X-Backend-Server").empty());
  nginx_->Stop();

  StartNginx({.weight = "100", .http_extra = "  cutover_header off;\n"});
  r = c.Get(Url());
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.All("X-Backend-Server").empty());
}

TEST_F(ModuleTest, AStoredWeightIsUsedByTheVeryNextRequestInEveryWorker) {
  StartNginx();
  StateFile file = File();
  Tally before = Send(40);
  ASSERT_EQ(before.by_slot["blue"], 40);
  file.StoreWeight("app", 10000);
  // From the store on, no worker may serve blue: fresh connections until
  // both workers have answered, each one's first request included.
  std::set<std::string> workers;
  for (int i = 0; i < 400 && workers.size() < static_cast<std::size_t>(kWorkers); ++i) {
    Tally t = Send(1, "GET", {}, 1);
    ASSERT_EQ(t.by_slot["green"], 1) << "request " << i << " after the store went blue";
    workers.insert(t.workers.begin(), t.workers.end());
  }
  EXPECT_EQ(workers.size(), static_cast<std::size_t>(kWorkers));
}

// ---------------------------------------------------------------- key= and force=

TEST_F(ModuleTest, KeyPinsEachKeyAndRaisingTheWeightOnlyMovesKeysToGreen) {
  StartNginx({.weight = "20", .extra_params = "key=$http_x_user"});
  StateFile file = File();
  HttpClient c;
  auto slot_of = [&](const std::string& user) {
    return c.Get(Url(), {{"X-User", user}}).Header("X-Backend-Server");
  };
  std::map<std::string, std::string> at20;
  for (int i = 0; i < 300; ++i) {
    const std::string user = "user-" + std::to_string(i);
    at20[user] = slot_of(user);
    const bool green = module::KeyGoesGreen(module::KeyBucket(user), 2000);
    EXPECT_EQ(at20[user], green ? "green" : "blue") << user << " is not where its bucket says";
  }
  for (const auto& [user, slot] : at20) EXPECT_EQ(slot_of(user), slot) << user << " moved";

  file.StoreWeight("app", 5000);
  int moved_to_green = 0;
  for (const auto& [user, slot] : at20) {
    const std::string now = slot_of(user);
    if (slot == "green") {
      EXPECT_EQ(now, "green") << user << " went back to blue";
    }
    if (slot == "blue" && now == "green") ++moved_to_green;
  }
  EXPECT_GT(moved_to_green, 0);
  // An empty key falls back to the interleave: at 50%, half and half.
  Tally t = Send(100);
  EXPECT_LE(std::abs(t.by_slot["green"] - 50), kWorkers);
}

TEST_F(ModuleTest, ForceOverridesTheWeightAndIsIgnoredWhenEmptyOrUnknown) {
  StartNginx({.weight = "0", .extra_params = "force=$http_x_force key=$http_x_user"});
  HttpClient c;
  EXPECT_EQ(c.Get(Url(), {{"X-Force", "green"}}).Header("X-Backend-Server"), "green");
  EXPECT_EQ(c.Get(Url(), {{"X-Force", "GREEN"}, {"X-User", "u1"}}).Header("X-Backend-Server"),
            "green");
  EXPECT_EQ(c.Get(Url()).Header("X-Backend-Server"), "blue");
  EXPECT_EQ(c.Get(Url(), {{"X-Force", ""}}).Header("X-Backend-Server"), "blue");
  EXPECT_EQ(c.Get(Url(), {{"X-Force", "purple"}}).Header("X-Backend-Server"), "blue");
  File().StoreWeight("app", 10000);
  EXPECT_EQ(c.Get(Url(), {{"X-Force", "blue"}}).Header("X-Backend-Server"), "blue");
  EXPECT_EQ(c.Get(Url()).Header("X-Backend-Server"), "green");
}

// ---------------------------------------------------------------- counters

TEST_F(ModuleTest, CountersEqualWhatTheClientSaw) {
  StartNginx({.weight = "30"});
  Tally gets = Send(300);
  Tally posts = Send(100, "POST");
  Tally puts = Send(20, "PUT");
  green_->SetStatus(503);
  Tally failing = Send(100);
  EXPECT_GT(failing.by_status[503], 0);

  json s = SettledStatus(520)["cutovers"]["app"];
  EXPECT_EQ(s["blue"], "app_blue");
  EXPECT_EQ(s["green"], "app_green");
  EXPECT_DOUBLE_EQ(s["weight"]["green"].get<double>(), 30.0);
  EXPECT_DOUBLE_EQ(s["weight"]["blue"].get<double>(), 70.0);
  EXPECT_EQ(s["epoch"], 1);
  for (const char* slot : {"blue", "green"}) {
    const int seen =
        gets.by_slot[slot] + posts.by_slot[slot] + puts.by_slot[slot] + failing.by_slot[slot];
    EXPECT_EQ(s["slots"][slot]["requests"], seen) << slot;
    EXPECT_EQ(s["slots"][slot]["latency"]["count"], seen) << slot;
    EXPECT_EQ(s["slots"][slot]["writes"], posts.by_slot[slot] + puts.by_slot[slot]) << slot;
    EXPECT_EQ(s["slots"][slot]["failures"], 0) << slot;
    EXPECT_EQ(s["slots"][slot]["failovers"], 0) << slot;
  }
  EXPECT_EQ(s["slots"]["green"]["responses"]["5xx"], failing.by_slot["green"]);
  EXPECT_EQ(s["slots"]["blue"]["responses"]["5xx"], 0) << "green's 5xx counted on green only";
  EXPECT_EQ(s["slots"]["blue"]["responses"]["2xx"], s["slots"]["blue"]["requests"]);

  // Per peer: requests equal what each backend answered.
  std::map<std::string, json> peers;
  for (const auto& p : s["peers"]) peers[p["address"].get<std::string>()] = p;
  ASSERT_EQ(peers.size(), 3u);
  EXPECT_EQ(peers[green_->address()]["slot"], "green");
  EXPECT_EQ(peers[blue1_->address()]["slot"], "blue");
  EXPECT_EQ(peers[blue1_->address()]["requests"], blue1_->requests());
  EXPECT_EQ(peers[blue2_->address()]["requests"], blue2_->requests());
  EXPECT_EQ(peers[green_->address()]["requests"], green_->requests());
  EXPECT_EQ(peers[green_->address()]["5xx"], failing.by_slot["green"]);
  EXPECT_EQ(peers[blue1_->address()]["5xx"], 0);

  // The API reads the same numbers.
  auto snap = Settled(520);
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->slot(state::Slot::kGreen).Responses5xx(),
            static_cast<std::uint64_t>(failing.by_slot["green"]));
  EXPECT_EQ(snap->slot(state::Slot::kBlue).writes,
            static_cast<std::uint64_t>(posts.by_slot["blue"] + puts.by_slot["blue"]));
}

// ---------------------------------------------------------------- failover

// ---------------------------------------------------------------- issue 15 #18

TEST_F(ModuleTest, AddHeaderOfTheSameNameIsReplacedNotDoubled) {
  StartNginx({.weight = "50", .location_extra = "add_header X-Backend-Server config-says always;"});
  Tally t = Send(40);  // asserts one header naming the slot that answered
  EXPECT_EQ(t.by_slot.count("config-says"), 0u);
  EXPECT_EQ(t.by_slot["blue"] + t.by_slot["green"], 40);
}

TEST_F(ModuleTest, AnEmptyCutoverHeaderValueSendsNoHeader) {
  StartNginx({.weight = "100", .http_extra = "  cutover_header X-Slot $http_x_label;\n"});
  HttpClient c;
  auto with = c.Get(Url(), {{"X-Label", "canary"}});
  EXPECT_EQ(with.Header("X-Slot"), "canary");
  auto without = c.Get(Url());
  EXPECT_EQ(without.status, 200);
  EXPECT_TRUE(without.All("X-Slot").empty()) << "an empty value is no header, as with add_header";
}

TEST_F(ModuleTest, SlotUpstreamsAreMatchedCaseInsensitivelyAsNginxDoes) {
  std::string body =
      std::regex_replace(Body({.weight = "100"}), std::regex("blue=app_blue green=app_green"),
                         "blue=App_Blue green=APP_GREEN");
  StartNginxWith(body);
  Tally t = Send(10);
  EXPECT_EQ(t.by_slot["green"], 10);
  EXPECT_EQ(Status()["cutovers"]["app"]["green"], "APP_GREEN");
}

TEST_F(ModuleTest, APeerListedTwiceIsOnePeerInTheStatus) {
  StartNginx({.blue_extra = "server " + blue1_->address() + ";"});
  Tally t = Send(30);
  json peers = SettledStatus(30)["cutovers"]["app"]["peers"];
  int listed = 0;
  std::uint64_t requests = 0;
  for (const auto& p : peers)
    if (p["address"] == blue1_->address()) {
      ++listed;
      requests = p["requests"].get<std::uint64_t>();
    }
  EXPECT_EQ(listed, 1) << peers.dump();
  EXPECT_EQ(requests, blue1_->requests());
}

// A unix socket path of 48 bytes or more is counted per peer too (its
// state-file key is a prefix and a hash).
TEST_F(ModuleTest, ALongUnixSocketPeerIsCountedPerPeer) {
  const std::string sock = "/tmp/cutover-module-test-" + std::to_string(port_) +
                           "-a-rather-long-green-backend-name.sock";
  ASSERT_GE(("unix:" + sock).size(), state::kAddressSize);
  std::string body =
      std::regex_replace(Body({.weight = "100"}), std::regex("server " + green_->address() + ";"),
                         "server unix:" + sock + ";");
  body += "  server { listen unix:" + sock + "; location / { return 200 \"green-unix\\n\"; } }\n";
  StartNginxWith(body);
  Tally t = Send(15);
  EXPECT_EQ(t.by_backend["green-unix"], 15);
  json peers = SettledStatus(15)["cutovers"]["app"]["peers"];
  bool found = false;
  for (const auto& p : peers)
    if (p["address"] == "unix:" + sock) {
      found = true;
      EXPECT_EQ(p["requests"], 15);
    }
  EXPECT_TRUE(found) << peers.dump();
  auto snap = File().Snapshot("app");
  bool keyed = false;
  for (const auto& p : snap->peers)
    keyed |= p.address == std::string(state::PeerKey("unix:" + sock).view()) && p.requests == 15;
  EXPECT_TRUE(keyed);
  EXPECT_EQ(nginx_->ErrorLog().find("room for"), std::string::npos) << nginx_->ErrorLog();
}

// ---------------------------------------------------------------- the fixture itself

TEST_F(ModuleTest, TheNginxFixtureFlagsAlertsAndWorkerCrashesUnlessExpected) {
  StartNginx();
  EXPECT_TRUE(nginx_->UnexpectedLogLines().empty());
  nginx_->Stop();
  ::truncate(nginx_->state_path().c_str(), 1000);  // an [alert] at the next start
  nginx_->Start(port_);
  const pid_t worker = nginx_->Workers().at(0);
  ::kill(worker, SIGSEGV);
  ASSERT_TRUE(WaitFor([&] { return nginx_->UnexpectedLogLines().size() >= 2; }));
  const auto lines = nginx_->UnexpectedLogLines();
  EXPECT_NE(lines[0].find("[alert]"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("worker process " + std::to_string(worker) + " exited on signal 11"),
            std::string::npos)
      << lines[1];
  nginx_->ExpectAlert("truncated");
  nginx_->ExpectAlert("exited on signal 11");
  EXPECT_TRUE(nginx_->UnexpectedLogLines().empty());
}

}  // namespace
}  // namespace cutover::test
