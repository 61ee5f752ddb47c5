// scripts/demo.sh end to end, as a newcomer runs it (minus the build, which
// ctest has done): the whole story must reach its summary, exit 0 and leave
// nothing running behind it. The script itself fails unless every order the
// reverted release took on PostgreSQL is in SQLite.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "support/process.hpp"

namespace cutover::test {
namespace {

// Live processes whose command line mentions `text`.
std::vector<std::string> ProcessesMentioning(const std::string& text) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = ReadFile(entry.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(text) != std::string::npos) found.push_back(name + ": " + cmdline);
  }
  return found;
}

TEST(DemoScript, TellsTheWholeStoryAndCleansUp) {
  TempDir tmp("demo-script");
  ::chmod(tmp.path().c_str(), 0755);  // PostgreSQL runs as its own user below it
  Process demo({"bash", std::string(CUTOVER_SOURCE_DIR) + "/scripts/demo.sh"}, tmp / "demo",
               {{"DEMO_NO_BUILD", "1"}, {"BUILD_DIR", CUTOVER_BINARY_DIR}, {"TMPDIR", tmp.path()}});
  const auto code = demo.Wait(std::chrono::minutes(4));
  if (!code) demo.Stop();  // SIGTERM: the script's own trap stops what it started
  const std::string out = demo.Stdout();
  ASSERT_EQ(code, 0) << out << demo.Stderr();

  // The acts, in order.
  std::size_t at = 0;
  for (const char* milestone :
       {"migrate: orders: 2000 rows copied", "orders: SQLite's next id is now 1000000000",
        "verdict: GO", "sync app: running", "reverted by the agent", "in flight at the revert",
        "0 lost", "orders green took before the revert:", "verdict: GO",
        "green (PostgreSQL) is live", "sync app: stopped", "== Summary",
        "fault injected -> first answer routed under the reverted weight:",
        "orders release 2.0 took on PostgreSQL before the revert:", "all of them in SQLite"}) {
    const auto next = out.find(milestone, at);
    ASSERT_NE(next, std::string::npos) << "missing or out of order: " << milestone << "\n" << out;
    at = next;
  }
  // nginx answered every request of the load, the revert included.
  EXPECT_NE(out.find("no answer at all: 0"), std::string::npos) << out;

  // Everything it started is gone, its temporary directory included.
  EXPECT_EQ(ProcessesMentioning(tmp.path() + "/cutover-demo."), std::vector<std::string>{});
  for (const auto& entry : std::filesystem::directory_iterator(tmp.path()))
    EXPECT_FALSE(entry.path().filename().string().starts_with("cutover-demo."))
        << entry.path() << " was left behind";
}

}  // namespace
}  // namespace cutover::test
