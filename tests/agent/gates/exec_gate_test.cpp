// The exec gate running real processes: exit codes, a clean environment,
// bounded output, and a command that hangs killed with its whole group.
#include "agent/gates/exec_gate.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <fstream>

#include "support/gate_specs.hpp"
#include "support/process.hpp"

namespace cutover::test {
namespace {

pid_t PidIn(const std::string& path) {
  pid_t pid = 0;
  WaitFor([&] { return !ReadFile(path).empty(); });
  std::ifstream(path) >> pid;
  return pid;
}

TEST(ExecGate, PassesOnExitZeroAndFailsOtherwiseWithItsOutput) {
  auto ok = EvaluateOnce(ExecSpec({"/bin/true"}));
  EXPECT_TRUE(ok.passed) << ok.detail;
  EXPECT_EQ(ok.name, "exec");
  EXPECT_EQ(ok.detail.rfind("\"/bin/true\" exited 0 after ", 0), 0u) << ok.detail;

  auto failed = EvaluateOnce(
      ExecSpec({"/bin/sh", "-c", "echo checking orders; echo 'orders: 3 missing' >&2; exit 1"}));
  EXPECT_FALSE(failed.passed);
  EXPECT_EQ(failed.detail.rfind("\"/bin/sh\" (+2 args) exited 1 after ", 0), 0u) << failed.detail;
  EXPECT_NE(failed.detail.find(": orders: 3 missing"), std::string::npos) << failed.detail;
  EXPECT_EQ(failed.output, "checking orders\norders: 3 missing\n");  // both streams, in order
}

TEST(ExecGate, RunsWithACleanEnvironmentThatSaysWhatIsRolledOut) {
  ::setenv("CUTOVER_TEST_AGENT_SECRET", "must-not-leak", 1);
  gates::GateContext context;
  context.cutover = "app";
  context.step = 2;
  context.new_slot = "green";
  context.green_peers = {"10.0.0.2:8000", "10.0.0.3:8000"};
  context.blue_peers = {"10.0.0.1:8000"};
  auto env = EvaluateOnce(ExecSpec({"env"}), context);  // found in the gate's own PATH
  ::unsetenv("CUTOVER_TEST_AGENT_SECRET");
  ASSERT_TRUE(env.passed) << env.detail;
  EXPECT_EQ(env.output.find("must-not-leak"), std::string::npos) << env.output;
  EXPECT_EQ(env.output.find("HOME="), std::string::npos) << env.output;
  for (const std::string& line :
       {std::string("PATH=") + gates::kExecPath, std::string("CUTOVER_CUTOVER=app"),
        std::string("CUTOVER_STAGE=step"), std::string("CUTOVER_STEP=2"),
        std::string("CUTOVER_NEW_SLOT=green"),
        std::string("CUTOVER_GREEN_PEERS=10.0.0.2:8000 10.0.0.3:8000"),
        std::string("CUTOVER_BLUE_PEERS=10.0.0.1:8000")})
    EXPECT_NE(env.output.find(line + "\n"), std::string::npos) << line << "\n" << env.output;
}

TEST(ExecGate, RunsInItsDirectoryAndSaysWhenTheCommandCannotStart) {
  TempDir dir("exec-gate");
  WriteFile(dir / "smoke.sh", "#!/bin/sh\necho \"smoke in $(pwd) for $CUTOVER_STAGE\"\n");
  ::chmod((dir / "smoke.sh").c_str(), 0755);
  auto smoke = EvaluateOnce(ExecSpec({"./smoke.sh"}, dir.path()));
  EXPECT_TRUE(smoke.passed) << smoke.detail;
  EXPECT_EQ(smoke.output, "smoke in " + dir.path() + " for preflight\n");

  auto missing = EvaluateOnce(ExecSpec({"no-such-smoke-test"}));
  EXPECT_FALSE(missing.passed);
  EXPECT_EQ(missing.detail, "\"no-such-smoke-test\" is not in PATH");
  auto not_here = EvaluateOnce(ExecSpec({"./smoke.sh"}, dir / "nowhere"));
  EXPECT_FALSE(not_here.passed);
  EXPECT_EQ(not_here.detail.rfind("cannot run \"./smoke.sh\" in " + dir / "nowhere" + ": ", 0), 0u)
      << not_here.detail;
}

TEST(ExecGate, KeepsOnlyTheTailOfALongOutput) {
  auto chatty = EvaluateOnce(ExecSpec(
      {"/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x; echo; echo last words; exit 3"}));
  EXPECT_FALSE(chatty.passed);
  EXPECT_LE(chatty.output.size(), gates::kExecOutputLimit + 40);
  EXPECT_EQ(chatty.output.rfind("[... ", 0), 0u);
  EXPECT_NE(chatty.output.find(" bytes cut]\n"), std::string::npos);
  EXPECT_EQ(chatty.output.substr(chatty.output.size() - 11), "last words\n");
  EXPECT_NE(chatty.detail.find("exited 3 after"), std::string::npos) << chatty.detail;
  EXPECT_NE(chatty.detail.find(": last words"), std::string::npos) << chatty.detail;
}

TEST(ExecGate, AHangingCommandIsKilledAtItsTimeoutWithItsChildren) {
  TempDir dir("exec-gate");
  const std::string child = dir / "child.pid";
  auto hung = EvaluateOnce(WithTimeout(
      ExecSpec({"/bin/sh", "-c", "sleep 1000 & echo $! > " + child + "; echo started; sleep 1000"}),
      500ms));
  EXPECT_FALSE(hung.passed);
  EXPECT_NE(hung.detail.find("timed out after 500ms: killed with its process group "),
            std::string::npos)
      << hung.detail;
  EXPECT_NE(hung.detail.find(": started"), std::string::npos) << hung.detail;
  const pid_t pid = PidIn(child);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(pid); }))
      << "the command's child " << pid << " lives on";
}

TEST(ExecGate, WhatACommandLeavesRunningIsKilledWhenItExits) {
  TempDir dir("exec-gate");
  const std::string child = dir / "child.pid";
  // The child keeps the output pipe open: the gate must not wait for it.
  auto quick = EvaluateOnce(WithTimeout(
      ExecSpec({"/bin/sh", "-c", "sleep 1000 & echo $! > " + child + "; exit 0"}), 60s));
  EXPECT_TRUE(quick.passed) << quick.detail;
  const pid_t pid = PidIn(child);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(pid); }))
      << "left-over child " << pid << " lives on";
}

}  // namespace
}  // namespace cutover::test
