#include "agent/core/log.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "support/stderr_capture.hpp"

namespace cutover::agent {
namespace {

// Issue 15 #5: a newline in a caller's reason forged a log line of its own
// ("... reverted ...\n... FORGED").
TEST(Log, EscapesControlCharactersSoAMessageIsOneLine) {
  const std::string out = test::CapturedStderr([] {
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
  const std::string out =
      test::CapturedStderr([] { LogWarning("plain text, UTF-8 \xc3\xa9 and 100%"); });
  EXPECT_NE(out.find(" warn plain text, UTF-8 \xc3\xa9 and 100%\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace cutover::agent
