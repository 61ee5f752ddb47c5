#include "agent/cli/args.hpp"

#include <gtest/gtest.h>

#include "agent/cli/errors.hpp"

namespace cutover::cli {
namespace {

const std::vector<FlagSpec> kFlags = {
    {"json", "", "", false}, {"reason", "TEXT", "", false}, {"expect", "S=P", "", true}};

int UsageCode(const std::vector<std::string>& tokens) {
  try {
    ParseArgs(tokens, kFlags);
  } catch (const CliError& e) {
    return e.code();
  }
  return 0;
}

TEST(ParseArgs, SplitsFlagsAndPositionals) {
  const auto a = ParseArgs(
      {"app", "--reason", "slow p99", "20", "--json", "--expect=green=20", "--expect", "blue=80"},
      kFlags);
  EXPECT_EQ(a.positionals, (std::vector<std::string>{"app", "20"}));
  EXPECT_EQ(a.Get("reason"), "slow p99");
  EXPECT_TRUE(a.Has("json"));
  EXPECT_EQ(a.All("expect"), (std::vector<std::string>{"green=20", "blue=80"}));
  EXPECT_FALSE(a.Get("missing"));
}

TEST(ParseArgs, DoubleDashEndsFlags) {
  const auto a = ParseArgs({"--", "--json"}, kFlags);
  EXPECT_EQ(a.positionals, (std::vector<std::string>{"--json"}));
  EXPECT_FALSE(a.Has("json"));
}

TEST(ParseArgs, RefusesWhatItDoesNotKnow) {
  EXPECT_EQ(UsageCode({"--nope"}), kExitUsage);
  EXPECT_EQ(UsageCode({"-x"}), kExitUsage);
  EXPECT_EQ(UsageCode({"--reason"}), kExitUsage);                        // value missing
  EXPECT_EQ(UsageCode({"--json=yes"}), kExitUsage);                      // boolean with a value
  EXPECT_EQ(UsageCode({"--reason", "a", "--reason", "b"}), kExitUsage);  // twice
  EXPECT_EQ(UsageCode({"--expect", "a=1", "--expect", "b=2"}), 0);       // repeatable
}

TEST(ParseCount, IsStrict) {
  EXPECT_EQ(ParseCount("limit", "5", 1, 10), 5u);
  EXPECT_THROW(ParseCount("limit", "0", 1, 10), CliError);
  EXPECT_THROW(ParseCount("limit", "11", 1, 10), CliError);
  EXPECT_THROW(ParseCount("limit", "5x", 1, 10), CliError);
  EXPECT_THROW(ParseCount("limit", "", 1, 10), CliError);
  EXPECT_THROW(ParseCount("limit", "-1", 1, 10), CliError);
}

}  // namespace
}  // namespace cutover::cli
