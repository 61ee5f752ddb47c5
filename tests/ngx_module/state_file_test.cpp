// The state file under a real nginx: what survives reloads and restarts,
// what nginx -t leaves alone, and what a bad or damaged file does.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <vector>

#include "module_fixture.hpp"

namespace cutover::test {
namespace {

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

// ---------------------------------------------------------------- where the file is

// The directory nginx was built to keep its state in (its client body temp
// path's parent, from `nginx -V`), or "" when that path is relative.
std::string NginxStateDirectory() {
  const RunResult v = Run({NginxBinary(), "-V"});
  std::smatch m;
  const std::string text = v.out + v.err;
  if (std::regex_search(text, m, std::regex(R"(--http-client-body-temp-path=(/\S*)/[^/\s]+)")))
    return m[1].str();
  return "";
}

TEST_F(ModuleTest, WithoutCutoverStateFileTheFileIsInNginxsStateDirectory) {
  const std::string home = NginxStateDirectory();
  if (home.empty()) {
    // nginx built from source with its defaults: logs/ under the prefix.
    StartNginxWith(std::string(Nginx::kModuleDefaultStateFile) + Body({.weight = "20"}));
    Send(10);
    ASSERT_TRUE(Settled(10)) << nginx_->ErrorLog();
    EXPECT_EQ(File().Snapshot("app")->control.weight_bp, 2000u);
    return;
  }
  // Debian's nginx: /var/lib/nginx. This nginx runs in a mount namespace of
  // its own in which an empty directory stands for it, so the test neither
  // reads nor writes the machine's.
  TempDir stand_in("cutover-nginx-home");
  const std::string wrapper = stand_in / "nginx-in-namespace";
  WriteFile(wrapper, "#!/bin/sh\nexec unshare -m --propagation private sh -c 'mount --bind " +
                         stand_in.path() + " " + home + " && exec \"$0\" \"$@\"' " + NginxBinary() +
                         " \"$@\"\n");
  std::filesystem::permissions(wrapper, std::filesystem::perms::owner_all);
  const char* before = std::getenv("CUTOVER_NGINX_BINARY");
  const std::string saved = before != nullptr ? before : "";
  ::setenv("CUTOVER_NGINX_BINARY", wrapper.c_str(), 1);
  {
    Nginx nginx(std::string(Nginx::kModuleDefaultStateFile) + Body({.weight = "20"}), 1);
    const RunResult test = nginx.Test();
    EXPECT_EQ(test.exit_code, 0) << test.err;
    EXPECT_EQ(test.err.find("[warn]"), std::string::npos) << test.err;
    EXPECT_FALSE(FileExists(stand_in / "cutover.state")) << "nginx -t created the state file";
    nginx.Start(port_);
    HttpClient client;
    EXPECT_EQ(client.Get(Url()).status, 200);
    ASSERT_TRUE(FileExists(stand_in / "cutover.state")) << nginx.ErrorLog();
    EXPECT_EQ(StateFile::Open(stand_in / "cutover.state").Snapshot("app")->control.weight_bp,
              2000u);
    EXPECT_FALSE(FileExists(nginx.state_path())) << "the default is not logs/ under the prefix";
  }
  if (saved.empty()) {
    ::unsetenv("CUTOVER_NGINX_BINARY");
  } else {
    ::setenv("CUTOVER_NGINX_BINARY", saved.c_str(), 1);
  }
}

TEST(StateFileDirectory, NginxDashTWarnsWhenItIsMissingAndOnlyWithACutover) {
  const std::string missing =
      "/nonexistent-cutover-" + std::to_string(::getpid()) + "/cutover.state";
  const std::string slots =
      "  upstream b { server 127.0.0.1:1; }\n  upstream g { server 127.0.0.1:2; }\n"
      "  cutover_state_file " +
      missing + ";\n";
  Nginx with_cutover(slots + "  upstream app { cutover blue=b green=g; }\n", 1);
  const RunResult warned = with_cutover.Test();
  EXPECT_EQ(warned.exit_code, 0) << warned.err;
  EXPECT_NE(warned.err.find("[warn]"), std::string::npos) << warned.err;
  EXPECT_NE(warned.err.find("\"" + missing + "\" does not exist"), std::string::npos) << warned.err;
  EXPECT_TRUE(std::regex_search(warned.err, std::regex("nginx\\.conf:[0-9]+"))) << warned.err;

  Nginx without_cutover(slots, 1);  // the module loaded, no upstream uses it
  const RunResult quiet = without_cutover.Test();
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("[warn]"), std::string::npos) << quiet.err;
}

// ---------------------------------------------------------------- issue 15 #10, #15, #16, #18

// 64 cutovers fill the file. A reload that adds one new name (listed first)
// and drops one must reuse only the dropped one's record: the 63 others keep
// their weight and counters (one-pass binding retired them one by one).
TEST_F(ModuleTest, AReloadWithAFullFileKeepsEveryCutoverStillConfigured) {
  auto cutovers = [](const std::vector<std::string>& names) {
    std::string list;
    for (const auto& n : names)
      list += "  upstream " + n + " { cutover blue=app_blue green=app_green weight=0; }\n";
    return list;
  };
  std::vector<std::string> names;  // with `app`, 64 records
  for (std::uint32_t i = 1; i < state::kMaxRecords; ++i) names.push_back("c" + std::to_string(i));
  StartNginxWith(Body({}) + cutovers(names));
  {
    StateFile file = File();
    ASSERT_EQ(file.Names().size(), state::kMaxRecords);
    file.StoreWeight("app", 10000);
    for (const auto& n : names) file.StoreWeight(n, 10000);
    file.MutableRecord("c5")->slots[1][0].scalar[state::kRequests].store(77);
  }
  const std::vector<std::string> kept_names(names.begin(), names.end() - 1);  // c63 dropped
  nginx_->WriteConfig(cutovers({"fresh"}) + Body({}) + cutovers(kept_names));
  nginx_->Reload();
  StateFile file = File();
  int kept = file.ReadControl("app")->weight_bp == 10000;
  for (const auto& n : kept_names) kept += file.ReadControl(n)->weight_bp == 10000;
  EXPECT_EQ(kept, 63) << "every cutover still configured keeps its weight";
  EXPECT_EQ(file.ReadControl("fresh")->weight_bp, 0u);
  EXPECT_FALSE(file.ReadControl("c63").has_value());
  EXPECT_EQ(file.Snapshot("c5")->slot(state::Slot::kGreen).requests, 77u);
}

// The peer table likewise: 64 peers, a reload with one new server first and
// one dropped: the 63 others keep their counters.
TEST_F(ModuleTest, AReloadWithAFullPeerTableKeepsEveryPeerStillConfigured) {
  auto servers = [](int from, int to) {
    std::string list;
    for (int p = from; p < to; ++p) list += "server 127.0.0.2:" + std::to_string(20000 + p) + "; ";
    return list;
  };
  std::string body = Body({.blue_extra = servers(0, 61)});  // 2 + 61 blue, 1 green: 64
  StartNginxWith(body);
  {
    StateFile file = File();
    state::Record* r = file.MutableRecord("app");
    for (std::uint32_t i = 0; i < state::kMaxPeers; ++i)
      r->peer_counters[i][0].value[state::kPeerRequests].store(1000 + i);
  }
  const auto before = File().Snapshot("app");
  std::string next = std::regex_replace(body, std::regex("upstream app_blue \\{ "),
                                        "upstream app_blue { server 127.0.0.3:1; ");
  next = std::regex_replace(next, std::regex("server 127\\.0\\.0\\.2:20000; "), "");
  nginx_->WriteConfig(next);
  nginx_->Reload();
  const auto after = File().Snapshot("app");
  std::map<std::string, std::uint64_t> was;
  for (const auto& p : before->peers) was[p.address] = p.requests;
  int kept = 0;
  for (const auto& p : after->peers)
    if (was.count(p.address) && p.address != "127.0.0.3:1") kept += p.requests == was[p.address];
  EXPECT_EQ(kept, 63) << "every peer still configured keeps its counters";
}

// Truncating the live file (or `cp` over it) used to kill every worker with
// SIGBUS, and every respawned one. Now the workers go on at the weight they
// last read, with one [alert] each, and never crash.
TEST_F(ModuleTest, ATruncatedLiveFileFreezesTheWeightInsteadOfKillingWorkers) {
  StartNginx();
  File().StoreWeight("app", 10000);
  Tally before = Send(20);
  ASSERT_EQ(before.by_slot["green"], 20);
  nginx_->ExpectAlert("was truncated or overwritten in place under nginx (SIGBUS)");
  ASSERT_EQ(::truncate(nginx_->state_path().c_str(), 0), 0);
  Tally after = Send(60);
  EXPECT_EQ(after.by_status[200], 60);
  EXPECT_EQ(after.by_slot["green"], 60) << "the weight stays where it was";
  EXPECT_EQ(Status()["cutovers"]["app"]["weight"]["green"], 100.0);
  // A reload puts a valid file back (the truncated one is moved aside) and
  // the workers on it count where readers see.
  nginx_->ExpectAlert("is unusable (truncated: shorter than the header): moved aside");
  nginx_->Reload();
  EXPECT_EQ(Send(10).by_status[200], 10);
  EXPECT_TRUE(Settled(10).has_value());
}

// One damaged record is the unit of damage: its weight goes back to its
// configuration at the next reload, with an [alert]; the other cutovers keep
// theirs, and until then the weight reads clamped (100%), never 42949672.95.
TEST_F(ModuleTest, AnOutOfRangeWeightDamagesOnlyItsOwnRecord) {
  std::string body =
      Body({.weight = "10"}) + "  upstream other { cutover blue=app_blue green=app_green; }\n";
  StartNginxWith(body);
  {
    StateFile file = File();
    file.StoreWeight("other", 3300);
    state::Record* r = file.MutableRecord("app");
    const std::uint64_t epoch = state::Control::Unpack(r->control.word.load()).epoch;
    r->control.word.store((epoch << state::Control::kEpochShift) | 20000);
  }
  json w = Status()["cutovers"]["app"]["weight"];
  EXPECT_EQ(w["green"], 100.0);
  EXPECT_EQ(w["blue"], 0.0);
  nginx_->ExpectAlert("(\"app\") of state file");
  nginx_->Reload();
  const std::string log = nginx_->ErrorLog();
  EXPECT_NE(log.find("is damaged (weight out of range): its weight is reset"), std::string::npos)
      << log;
  EXPECT_EQ(log.find("moved aside"), std::string::npos) << "the file is not quarantined";
  StateFile file = File();
  EXPECT_EQ(file.ReadControl("app")->weight_bp, 1000u) << "back to weight=10";
  EXPECT_EQ(file.ReadControl("other")->weight_bp, 3300u) << "untouched";
}

// Something at the path that the master cannot open is moved aside like a
// bad file, not silently replaced (here a symlink loop).
TEST_F(ModuleTest, AStateFileTheMasterCannotOpenIsMovedAside) {
  auto nginx = std::make_unique<Nginx>(Body({}), kWorkers);
  std::filesystem::create_symlink(nginx->state_path(), nginx->state_path());
  nginx_ = std::move(nginx);
  nginx_->ExpectAlert("is unusable (cannot be opened): moved aside");
  nginx_->Start(port_);
  bool aside = false;
  for (const auto& e : std::filesystem::directory_iterator(nginx_->prefix() + "/logs"))
    aside |= e.path().filename().string().rfind("cutover.state.corrupt-", 0) == 0 && e.is_symlink();
  EXPECT_TRUE(aside) << "the symlink was not kept aside";
  EXPECT_EQ(Send(10).by_status[200], 10);
  EXPECT_TRUE(File().Snapshot("app").has_value());
}

// A file replaced by rename is what nginx maps at the next reload.
TEST_F(ModuleTest, AFileReplacedByRenameIsMappedAtTheNextReload) {
  StartNginx();
  File().StoreWeight("app", 2500);
  const std::string copy = nginx_->state_path() + ".new";
  std::filesystem::copy_file(nginx_->state_path(), copy);
  StateFile::Open(copy).StoreWeight("app", 10000);
  std::filesystem::rename(copy, nginx_->state_path());
  nginx_->Reload();
  Tally t = Send(20);
  EXPECT_EQ(t.by_slot["green"], 20);
  EXPECT_NE(nginx_->ErrorLog().find("was replaced: mapping the new one"), std::string::npos);
}

// init_module must never fail during a reload: nginx's master exits when it
// does. With too little address space left to map the state file (the
// master's RLIMIT_AS set just above what it uses), the reload goes on, with
// an [alert], and nginx keeps serving.
TEST_F(ModuleTest, AReloadWithoutMemoryForTheStateFileKeepsNginxRunning) {
  StartNginx({.weight = "30"});
  const pid_t master = nginx_->master_pid();
  const std::string status = ReadFile("/proc/" + std::to_string(master) + "/status");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(status, m, std::regex("VmSize:\\s+([0-9]+) kB")));
  const long vm_kb = std::stol(m[1]);
  // Room for parsing the configuration again, not for 2 x 5.3 MiB mappings.
  const auto limit = std::to_string((vm_kb + 3 * 1024) * 1024);
  auto set = test::Run({"prlimit", "--pid", std::to_string(master), "--as=" + limit + ":" + limit});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  nginx_->ExpectAlert("cutover:");
  EXPECT_NO_THROW(nginx_->Reload()) << "the reload did not complete";
  EXPECT_EQ(::kill(master, 0), 0) << "the master exited:\n" << nginx_->ErrorLog();
  const std::string log = nginx_->ErrorLog();
  EXPECT_NE(log.find("left as it is"), std::string::npos) << log;
  EXPECT_EQ(log.find("moved aside"), std::string::npos) << "a good file is not a bad one";
  test::Run({"prlimit", "--pid", std::to_string(master), "--as=unlimited:unlimited"});
  EXPECT_EQ(Send(10).by_status[200], 10);
  nginx_->Reload();
  EXPECT_EQ(File().ReadControl("app")->weight_bp, 3000u) << "the file kept its weight";
}

}  // namespace
}  // namespace cutover::test
