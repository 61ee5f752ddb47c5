// The state file under a real nginx: what survives reloads and restarts,
// what nginx -t leaves alone, and what a bad or damaged file does.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

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

}  // namespace
}  // namespace cutover::test
