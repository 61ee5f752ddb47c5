#include "agent/core/log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>

#include "support/process.hpp"

namespace cutover::agent {
namespace {

// What `log` wrote to stderr (fd 2, where Log writes), captured in a file.
std::string Captured(const std::function<void()>& log) {
  test::TempDir dir("cutover-log");
  std::FILE* file = std::fopen((dir / "stderr").c_str(), "w+");
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(::fileno(file), STDERR_FILENO);
  log();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::fclose(file);
  return test::ReadFile(dir / "stderr");
}

// Issue 15 #5: a newline in a caller's reason forged a log line of its own
// ("... reverted ...\n... FORGED").
TEST(Log, EscapesControlCharactersSoAMessageIsOneLine) {
  const std::string out = Captured([] {
    LogInfo(
        "app: weight_set - by hand\n2026-01-01T00:00:00.000Z info app: reverted "
        "FORGED\r\t\x1b[31m\\");
  });
  ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_NE(
      out.find("by hand\\n2026-01-01T00:00:00.000Z info app: reverted FORGED\\r\\t\\x1b[31m\\\\"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find(" info app: weight_set"), std::string::npos) << out;
}

TEST(Log, LeavesPrintableTextAlone) {
  const std::string out = Captured([] { LogWarning("plain text, UTF-8 \xc3\xa9 and 100%"); });
  EXPECT_NE(out.find(" warn plain text, UTF-8 \xc3\xa9 and 100%\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace cutover::agent
