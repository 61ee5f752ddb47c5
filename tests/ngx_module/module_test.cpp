// The module in a real nginx (2 workers) in front of real loopback backends.
// Every number asserted is what the client saw or what the state file must
// then say.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "cutover/state_file.hpp"
#include "ngx_http_cutover_split.hpp"
#include "support/backend.hpp"
#include "support/http.hpp"
#include "support/nginx.hpp"
#include "support/process.hpp"

namespace cutover::test {
namespace {

using json = nlohmann::json;
using state::StateFile;

constexpr int kWorkers = 2;

struct Options {
  std::string weight = "0";
  std::string extra_params;    // appended to the cutover directive
  std::string location_extra;  // inside location /
  std::string http_extra;      // inside http
  bool green_down = false;     // green's only peer refuses connections
  std::string cutover_name = "app";
};

class ModuleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    blue1_ = std::make_unique<Backend>("blue-1");
    blue2_ = std::make_unique<Backend>("blue-2");
    green_ = std::make_unique<Backend>("green-1");
    port_ = FreePort();
    dead_port_ = FreePort();
  }

  std::string Body(const Options& o) const {
    const std::string green_addr =
        o.green_down ? "127.0.0.1:" + std::to_string(dead_port_) : green_->address();
    return "  upstream " + o.cutover_name +
           " {\n    cutover blue=app_blue green=app_green weight=" + o.weight + " " +
           o.extra_params + ";\n  }\n" + "  upstream app_blue { server " + blue1_->address() +
           "; server " + blue2_->address() + "; }\n" + "  upstream app_green { server " +
           green_addr + "; }\n" + o.http_extra +
           "  server {\n    listen 127.0.0.1:" + std::to_string(port_) + ";\n" +
           "    location / { proxy_pass http://" + o.cutover_name +
           "; add_header X-Worker $pid always; " + o.location_extra + " }\n" +
           "    location = /cutover/status { cutover_status; }\n  }\n";
  }

  void StartNginx(const Options& o = {}) {
    nginx_ = std::make_unique<Nginx>(Body(o), kWorkers);
    nginx_->Start(port_);
  }

  std::string Url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  json Status() {
    HttpClient c;
    auto r = c.Get(Url("/cutover/status"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.Header("content-type"), "application/json");
    return json::parse(r.body);
  }

  StateFile File() { return StateFile::Open(nginx_->state_path()); }

  // The log phase counts a request just after its last byte reaches the
  // client: wait until the counters have caught up with `total` requests.
  std::optional<state::RecordSnapshot> Settled(std::uint64_t total,
                                               const std::string& name = "app") {
    std::optional<state::RecordSnapshot> snap;
    const bool caught_up = WaitFor([&] {
      snap = File().Snapshot(name);
      return snap &&
             snap->slot(state::Slot::kBlue).requests + snap->slot(state::Slot::kGreen).requests ==
                 total;
    });
    EXPECT_TRUE(caught_up) << "counters never reached " << total << " requests";
    return snap;
  }

  json SettledStatus(std::uint64_t total) {
    Settled(total);
    return Status();
  }

  struct Tally {
    std::map<std::string, int> by_slot;  // X-Backend-Server value
    std::map<long, int> by_status;
    std::map<std::string, int> by_backend;  // body: which backend answered
    std::set<std::string> workers;
    int total = 0;
  };

  // Sends n requests, a fresh connection every `per_connection` requests so
  // that both workers take a share. Checks on every response that the
  // header is there exactly once and names the slot whose backend answered.
  Tally Send(int n, const std::string& method = "GET",
             const std::map<std::string, std::string>& headers = {}, int per_connection = 10) {
    Tally t;
    std::unique_ptr<HttpClient> client;
    for (int i = 0; i < n; ++i) {
      if (i % per_connection == 0) client = std::make_unique<HttpClient>();
      auto r = client->Request(method, Url("/"), method == "GET" ? "" : "x=1", headers);
      EXPECT_NE(r.status, 0) << r.error;
      auto tags = r.All("X-Backend-Server");
      EXPECT_EQ(tags.size(), 1u) << "X-Backend-Server must appear exactly once";
      const std::string tag = tags.empty() ? "" : tags[0];
      if (r.status == 200) {
        const std::string served = r.body.substr(0, r.body.find('-'));
        EXPECT_EQ(tag, served) << "header names " << tag << " but " << r.body << " answered";
        ++t.by_backend[r.body.substr(0, r.body.find('\n'))];
      }
      ++t.by_slot[tag];
      ++t.by_status[r.status];
      t.workers.insert(r.Header("X-Worker"));
      ++t.total;
    }
    return t;
  }

  std::unique_ptr<Backend> blue1_, blue2_, green_;
  std::unique_ptr<Nginx> nginx_;
  int port_ = 0;
  int dead_port_ = 0;
};

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
    if (slot == "green") EXPECT_EQ(now, "green") << user << " went back to blue";
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
  for (const std::string& slot : {"blue", "green"}) {
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

// ---------------------------------------------------------------- persistence

TEST_F(ModuleTest, ReloadKeepsWeightAndCountersAndTheConfigWeightDoesNotWin) {
  StartNginx({.weight = "10"});
  File().StoreWeight("app", 3300);
  Tally t = Send(100);
  auto before = Settled(100);
  nginx_->WriteConfig(Body({.weight = "90"}));
  nginx_->Reload();
  auto after = File().Snapshot("app");
  ASSERT_TRUE(before && after);
  EXPECT_EQ(after->control.weight_bp, 3300u);
  EXPECT_EQ(after->control.epoch, before->control.epoch);
  EXPECT_EQ(after->slot(state::Slot::kBlue).requests, before->slot(state::Slot::kBlue).requests);
  EXPECT_EQ(after->slot(state::Slot::kGreen).requests,
            static_cast<std::uint64_t>(t.by_slot["green"]));
  Tally more = Send(100);
  EXPECT_LE(std::abs(more.by_slot["green"] - 33), kWorkers);
  EXPECT_EQ(Settled(200)->slot(state::Slot::kGreen).requests,
            static_cast<std::uint64_t>(t.by_slot["green"] + more.by_slot["green"]));
}

TEST_F(ModuleTest, RestartKeepsWeightAndCounters) {
  StartNginx({.weight = "10"});
  File().StoreWeight("app", 4200);
  Tally t = Send(50);
  Settled(50);
  nginx_->Stop();
  nginx_->Start(port_);
  auto snap = File().Snapshot("app");
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->control.weight_bp, 4200u);
  EXPECT_EQ(snap->slot(state::Slot::kBlue).requests + snap->slot(state::Slot::kGreen).requests,
            50u);
  EXPECT_EQ(Status()["cutovers"]["app"]["weight"]["green"].get<double>(), 42.0);
}

TEST_F(ModuleTest, NginxDashTLeavesALiveFileAlone) {
  StartNginx({.weight = "10"});
  File().StoreWeight("app", 1234);
  Send(20);
  Settled(20);
  const std::string before = ReadFile(nginx_->state_path());
  struct stat st_before {};
  ::stat(nginx_->state_path().c_str(), &st_before);
  nginx_->WriteConfig(Body({.weight = "75", .cutover_name = "other"}));  // a new record, too
  auto r = nginx_->Test();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  struct stat st_after {};
  ::stat(nginx_->state_path().c_str(), &st_after);
  EXPECT_EQ(st_after.st_ino, st_before.st_ino);
  EXPECT_TRUE(ReadFile(nginx_->state_path()) == before) << "nginx -t changed the state file";
}

TEST_F(ModuleTest, ACorruptFileIsQuarantinedWithAnAlertAndNginxServes) {
  StartNginx({.weight = "25"});
  File().StoreWeight("app", 9000);
  nginx_->Stop();
  {
    std::string bytes = ReadFile(nginx_->state_path());
    bytes.replace(0, 8, "GARBAGE!");
    WriteFile(nginx_->state_path(), bytes);
  }
  // nginx -t only warns and leaves the bad file where it is.
  auto test = nginx_->Test();
  EXPECT_EQ(test.exit_code, 0) << test.err;
  EXPECT_NE(test.err.find("[warn]"), std::string::npos) << test.err;
  EXPECT_NE(test.err.find("will move it aside"), std::string::npos) << test.err;
  EXPECT_EQ(ReadFile(nginx_->state_path()).substr(0, 8), "GARBAGE!");
  nginx_->ExpectAlert("is unusable (foreign file: bad magic): moved aside");
  nginx_->Start(port_);
  const std::string log = nginx_->ErrorLog();
  EXPECT_NE(log.find("[alert]"), std::string::npos) << log;
  EXPECT_NE(log.find(nginx_->state_path()), std::string::npos) << log;
  EXPECT_NE(log.find("foreign file: bad magic"), std::string::npos) << log;
  EXPECT_EQ(log.find("[emerg]"), std::string::npos) << log;
  bool aside = false;
  for (const auto& e : std::filesystem::directory_iterator(nginx_->prefix() + "/logs"))
    aside |= e.path().filename().string().rfind("cutover.state.corrupt-", 0) == 0;
  EXPECT_TRUE(aside) << "the bad file was not kept aside";
  // Records start again from the config: 25%.
  EXPECT_EQ(File().Snapshot("app")->control.weight_bp, 2500u);
  Tally t = Send(100);
  EXPECT_EQ(t.by_status[200], 100);
  EXPECT_LE(std::abs(t.by_slot["green"] - 25), kWorkers);
}

TEST_F(ModuleTest, ATruncatedFileIsQuarantinedToo) {
  StartNginx();
  nginx_->Stop();
  ::truncate(nginx_->state_path().c_str(), 1000);
  nginx_->ExpectAlert("is unusable (truncated: shorter than the header): moved aside");
  nginx_->Start(port_);
  EXPECT_NE(nginx_->ErrorLog().find("truncated"), std::string::npos) << nginx_->ErrorLog();
  EXPECT_EQ(Send(10).by_status[200], 10);
}

TEST_F(ModuleTest, AnOlderLayoutIsQuarantined) {
  StartNginx();
  nginx_->Stop();
  {
    std::string bytes = ReadFile(nginx_->state_path());
    bytes[8] = 0;  // layout_version 0
    WriteFile(nginx_->state_path(), bytes);
  }
  nginx_->ExpectAlert("is unusable (older layout version): moved aside");
  nginx_->Start(port_);
  EXPECT_NE(nginx_->ErrorLog().find("older layout version"), std::string::npos);
  EXPECT_EQ(Send(10).by_status[200], 10);
}

TEST_F(ModuleTest, TheStateFileIsGroupReadableAndWritableOnly) {
  StartNginx();
  struct stat st {};
  ASSERT_EQ(::stat(nginx_->state_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660);
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

// ---------------------------------------------------------------- bad directives

struct BadConfig {
  std::string name;
  std::string http_body;
  std::string message;
};

void PrintTo(const BadConfig& c, std::ostream* os) { *os << c.name; }

class BadDirectiveTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadDirectiveTest, FailsNginxDashTWithFileAndLine) {
  const BadConfig& c = GetParam();
  Nginx nginx(c.http_body, 1);
  auto r = nginx.Test();
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("[emerg]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(c.message), std::string::npos) << "expected: " << c.message << "\n" << r.err;
  // nginx names the file and line: "... in /path/nginx.conf:NN"
  EXPECT_TRUE(std::regex_search(r.err, std::regex("nginx\\.conf:[0-9]+"))) << r.err;
  EXPECT_FALSE(FileExists(nginx.state_path())) << "a failed test must not create the state file";
}

const std::string kSlots =
    "  upstream b { server 127.0.0.1:1; }\n  upstream g { server 127.0.0.1:2; }\n";

INSTANTIATE_TEST_SUITE_P(
    Module, BadDirectiveTest,
    ::testing::Values(
        BadConfig{"UnknownUpstream", kSlots + "  upstream app { cutover blue=b green=nope; }\n",
                  "unknown upstream \"nope\""},
        BadConfig{"WeightAbove100",
                  kSlots + "  upstream app { cutover blue=b green=g weight=101; }\n",
                  "invalid weight \"101\""},
        BadConfig{"NegativeWeight",
                  kSlots + "  upstream app { cutover blue=b green=g weight=-1; }\n",
                  "invalid weight \"-1\""},
        BadConfig{"ThreeDecimals",
                  kSlots + "  upstream app { cutover blue=b green=g weight=1.234; }\n",
                  "invalid weight \"1.234\""},
        BadConfig{"SameUpstreamTwice", kSlots + "  upstream app { cutover blue=b green=b; }\n",
                  "blue= and green= name the same upstream \"b\""},
        BadConfig{"CutoverAsSlot",
                  kSlots + "  upstream inner { cutover blue=b green=g; }\n"
                           "  upstream app { cutover blue=inner green=g; }\n",
                  "upstream \"inner\" is itself a cutover and cannot be a slot"},
        BadConfig{"UnknownParameter",
                  kSlots + "  upstream app { cutover blue=b green=g colour=red; }\n",
                  "invalid parameter \"colour=red\""},
        BadConfig{"MissingGreen", kSlots + "  upstream app { cutover blue=b; }\n",
                  "\"cutover\" needs both blue= and green="},
        BadConfig{"BadFailover",
                  kSlots + "  upstream app { cutover blue=b green=g failover=maybe; }\n",
                  "invalid value \"failover=maybe\""},
        BadConfig{"ServersInside",
                  kSlots + "  upstream app { server 127.0.0.1:3; cutover blue=b green=g; }\n",
                  "cannot have \"server\" directives"},
        BadConfig{"ServersAfter",
                  kSlots + "  upstream app { cutover blue=b green=g; server 127.0.0.1:3; }\n",
                  "cannot have \"server\" directives"},
        BadConfig{"DuplicateCutover",
                  kSlots + "  upstream app { cutover blue=b green=g; cutover blue=b green=g; }\n",
                  "\"cutover\" directive is duplicate"},
        BadConfig{"CutoverOutsideUpstream", kSlots + "  server { cutover blue=b green=g; }\n",
                  "\"cutover\" directive is not allowed here"},
        BadConfig{"BadHeaderName", kSlots + "  cutover_header \"X Bad\";\n",
                  "invalid header name \"X Bad\""}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace cutover::test
