#include "agent/cli/split_stats.hpp"

#include <gtest/gtest.h>

namespace cutover::cli {
namespace {

TEST(WilsonInterval, MatchesAWorkedExample) {
  // 20 of 100: the Wilson 95% interval is 13.34% .. 28.88%.
  const Interval i = WilsonInterval(20, 100);
  EXPECT_NEAR(i.low, 13.34, 0.01);
  EXPECT_NEAR(i.high, 28.88, 0.01);
}

TEST(WilsonInterval, StaysInsideZeroToHundredAtTheEdges) {
  const Interval none = WilsonInterval(0, 1000);
  EXPECT_DOUBLE_EQ(none.low, 0.0);
  EXPECT_GT(none.high, 0.0);
  EXPECT_LT(none.high, 0.5);
  const Interval all = WilsonInterval(1000, 1000);
  EXPECT_DOUBLE_EQ(all.high, 100.0);
  EXPECT_GT(all.low, 99.5);
  const Interval empty = WilsonInterval(0, 0);
  EXPECT_DOUBLE_EQ(empty.low, 0.0);
  EXPECT_DOUBLE_EQ(empty.high, 100.0);
}

TEST(WilsonInterval, NarrowsWithMoreRequests) {
  const Interval small = WilsonInterval(20, 100);
  const Interval large = WilsonInterval(2000, 10000);
  EXPECT_LT(large.high - large.low, (small.high - small.low) / 5);
}

TEST(ParseExpectation, ReadsSlotAndPercent) {
  std::string why;
  const auto e = ParseExpectation("green=20", &why);
  ASSERT_TRUE(e) << why;
  EXPECT_EQ(e->slot, "green");
  EXPECT_DOUBLE_EQ(e->percent, 20.0);
  EXPECT_DOUBLE_EQ(ParseExpectation("blue=80.5%", &why)->percent, 80.5);
  EXPECT_FALSE(ParseExpectation("green", &why));
  EXPECT_FALSE(ParseExpectation("=20", &why));
  EXPECT_FALSE(ParseExpectation("green=20.125", &why));
  EXPECT_NE(why.find("two decimals"), std::string::npos);
}

TEST(JudgeSplit, PassesWithinToleranceAndFailsOutside) {
  const std::map<std::string, std::uint64_t> counts{{"blue", 790}, {"green", 210}};
  auto r = JudgeSplit(counts, {{"green", 20}}, 2);
  EXPECT_TRUE(r.passed);
  ASSERT_EQ(r.expectations.size(), 1u);
  EXPECT_DOUBLE_EQ(r.expectations[0].observed, 21.0);
  EXPECT_TRUE(r.expectations[0].within_tolerance);
  EXPECT_TRUE(r.expectations[0].expected_in_ci);

  r = JudgeSplit(counts, {{"green", 18.5}}, 2);
  EXPECT_FALSE(r.passed);  // 21 - 18.5 = 2.5 points
  r = JudgeSplit(counts, {{"green", 20}}, 0.5);
  EXPECT_FALSE(r.passed);
}

TEST(JudgeSplit, BoundaryIsInclusive) {
  const std::map<std::string, std::uint64_t> counts{{"blue", 78}, {"green", 22}};
  EXPECT_TRUE(JudgeSplit(counts, {{"green", 20}}, 2).passed);
}

TEST(JudgeSplit, AnAbsentSlotIsZeroPercent) {
  const std::map<std::string, std::uint64_t> counts{{"blue", 1000}};
  EXPECT_TRUE(JudgeSplit(counts, {{"green", 0}}, 1).passed);
  EXPECT_FALSE(JudgeSplit(counts, {{"green", 5}}, 1).passed);
}

TEST(JudgeSplit, NothingAnsweredNeverPasses) {
  EXPECT_FALSE(JudgeSplit({}, {{"green", 0}}, 100).passed);
}

TEST(JudgeSplit, SharesAreOrderedAndIncludeMissingAndRepeated) {
  const std::map<std::string, std::uint64_t> counts{
      {"blue", 700}, {"green", 200}, {kMissing, 60}, {kRepeated, 40}};
  const auto r = JudgeSplit(counts, {}, 2);
  EXPECT_EQ(r.answered, 1000u);
  ASSERT_EQ(r.shares.size(), 4u);
  EXPECT_EQ(r.shares[0].value, "blue");
  EXPECT_EQ(r.shares[2].value, kMissing);
  EXPECT_DOUBLE_EQ(r.shares[2].percent, 6.0);
  EXPECT_DOUBLE_EQ(r.shares[3].percent, 4.0);
}

TEST(JudgeSplit, WarnsWhenTheSampleCannotResolveTheTolerance) {
  const std::map<std::string, std::uint64_t> counts{{"blue", 80}, {"green", 20}};
  const auto r = JudgeSplit(counts, {{"green", 20}}, 2);
  ASSERT_EQ(r.expectations.size(), 1u);
  EXPECT_TRUE(r.expectations[0].sample_too_small);
  // p = 0.2, half-width 2 points: 1.96^2 * 0.16 / 0.0004 = 1537 requests.
  EXPECT_NEAR(static_cast<double>(r.expectations[0].suggested_requests), 1537, 2);
}

TEST(JudgeSplit, GivesNoSampleSizeAdviceForZeroTolerance) {
  const std::map<std::string, std::uint64_t> counts{{"blue", 100}};
  const auto r = JudgeSplit(counts, {{"blue", 100}}, 0);
  EXPECT_TRUE(r.passed);
  EXPECT_FALSE(r.expectations[0].sample_too_small);
}

}  // namespace
}  // namespace cutover::cli
