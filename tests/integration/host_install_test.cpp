// What the packaged unit promises on a host. Who may use cutoverctl: the
// members of the state file's group (nginx's workers' group), without sudo,
// because the agent gives its unix socket that group; anyone else is told
// "permission denied", with the group to join, not "agent unreachable". And
// the order of starts does not matter: an agent started before nginx has
// made the state file waits for it.
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "support/agent.hpp"
#include "support/cutoverctl.hpp"

namespace cutover::test {
namespace {

namespace fs = std::filesystem;

gid_t GroupId(const char* name) {
  const group* g = ::getgrnam(name);
  if (g == nullptr) throw std::runtime_error(std::string("no group ") + name);
  return g->gr_gid;
}

class SocketAccess : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to run cutoverctl as other users";
    // Other users must reach the socket through the temporary directory.
    fs::permissions(dir_.path(), fs::perms::owner_all | fs::perms::group_read |
                                     fs::perms::group_exec | fs::perms::others_read |
                                     fs::perms::others_exec);
    state_ = MakeAppStateFile(dir_);
    // As nginx makes it: mode 0660, the group of its workers.
    ASSERT_EQ(::chown(state_.c_str(), 0, GroupId("www-data")), 0);
    ASSERT_EQ(::chmod(state_.c_str(), 0660), 0);
  }

  // cutoverctl as `user`.
  RunResult CtlAs(const std::string& user, const std::string& socket) {
    return test::Run({"runuser", "-u", user, "--", CUTOVERCTL_BINARY, "--agent", "unix:" + socket,
                      "status", "app"});
  }

  TempDir dir_{"socket-access"};
  std::string state_;
};

TEST_F(SocketAccess, MembersOfTheStateFilesGroupUseCutoverctlWithoutSudo) {
  AgentProcess agent(LocalAgent(dir_, state_), dir_ / "agent");
  agent.Start();
  struct stat st {};
  ASSERT_EQ(::stat(agent.options().socket.c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, GroupId("www-data")) << "the socket has the state file's group";
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  // www-data is in its own group: it may steer.
  const auto member = CtlAs("www-data", agent.options().socket);
  EXPECT_EQ(member.exit_code, 0) << Said(member) << agent.Log();
  EXPECT_NE(member.out.find("cutover app"), std::string::npos) << member.out;

  // nobody is not: it is told so, with the group to join, and exit 2.
  const auto stranger = CtlAs("nobody", agent.options().socket);
  EXPECT_EQ(stranger.exit_code, 2) << Said(stranger);
  EXPECT_NE(stranger.err.find("permission denied on the agent's socket"), std::string::npos)
      << stranger.err;
  EXPECT_NE(stranger.err.find("group www-data"), std::string::npos) << stranger.err;
  EXPECT_EQ(stranger.err.find("is cutover-agent running"), std::string::npos) << stranger.err;
}

TEST_F(SocketAccess, SocketGroupFlagChoosesTheGroup) {
  AgentOptions options = LocalAgent(dir_, state_);
  options.socket_group = "nogroup";
  AgentProcess agent(options, dir_ / "agent");
  agent.Start();
  // gRPC makes the socket as it starts serving; the agent gives it the group
  // just after. Until then it has the agent's own group: it only ever denies.
  struct stat st {};
  EXPECT_TRUE(WaitFor([&] {
    return ::stat(agent.options().socket.c_str(), &st) == 0 && st.st_gid == GroupId("nogroup");
  })) << "group "
      << st.st_gid;
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  // www-data is no longer let in.
  const auto r = CtlAs("www-data", agent.options().socket);
  EXPECT_EQ(r.exit_code, 2) << Said(r);
  EXPECT_NE(r.err.find("group nogroup"), std::string::npos) << r.err;
}

TEST_F(SocketAccess, AnUnknownSocketGroupIsAUsageError) {
  auto r = test::Run({CUTOVER_AGENT_BINARY, "--state-file", state_, "--listen",
                      "unix:" + (dir_ / "agent.sock"), "--journal", dir_ / "journal",
                      "--socket-group", "no-such-group-here"});
  EXPECT_EQ(r.exit_code, 2) << Said(r);
  EXPECT_NE(r.err.find("--socket-group"), std::string::npos) << r.err;
  EXPECT_FALSE(FileExists(dir_ / "agent.sock"));
}

TEST_F(SocketAccess, AnAgentStartedBeforeNginxWaitsForTheStateFile) {
  const std::string later = dir_ / "later.state";
  AgentProcess agent(LocalAgent(dir_, later), dir_ / "agent");
  agent.Start();
  // The agent answers, and says what it waits for.
  auto r = Cutoverctl({"--agent", "unix:" + agent.options().socket, "status", "app"});
  EXPECT_EQ(r.exit_code, 3) << Said(r);
  EXPECT_NE(r.err.find(later), std::string::npos) << Said(r);
  // nginx makes the file: the same agent, untouched, serves it.
  ASSERT_EQ(::rename(state_.c_str(), later.c_str()), 0);
  EXPECT_TRUE(WaitFor([&] {
    r = Cutoverctl({"--agent", "unix:" + agent.options().socket, "status", "app"});
    return r.exit_code == 0;
  })) << Said(r)
      << agent.Log();
  EXPECT_TRUE(agent.Running());
}

}  // namespace
}  // namespace cutover::test
