// The one percentage rule (include/cutover/percent.hpp), as the module's
// weight=, cutoverctl and the agent's API apply it.
#include "cutover/percent.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cutover {
namespace {

std::string Text(std::uint32_t bp, PercentStyle style) {
  char buf[kPercentTextMax];
  return std::string(buf, FormatBp(bp, buf, style));
}

TEST(ParsePercentText, AcceptsWholeAndUpToTwoDecimals) {
  EXPECT_EQ(ParsePercentText("0").bp, 0u);
  EXPECT_EQ(ParsePercentText("20").bp, 2000u);
  EXPECT_EQ(ParsePercentText("12.5").bp, 1250u);
  EXPECT_EQ(ParsePercentText("12.34").bp, 1234u);
  EXPECT_EQ(ParsePercentText("012.34").bp, 1234u);
  EXPECT_EQ(ParsePercentText("100").bp, 10000u);
  EXPECT_EQ(ParsePercentText("100.00").bp, 10000u);
  EXPECT_EQ(ParsePercentText("12.34%").bp, 1234u);
}

TEST(ParsePercentText, NamesWhatIsWrong) {
  EXPECT_EQ(ParsePercentText("").problem, PercentProblem::kEmpty);
  EXPECT_EQ(ParsePercentText("12.345").problem, PercentProblem::kTooManyDecimals);
  EXPECT_EQ(ParsePercentText("100.01").problem, PercentProblem::kAboveHundred);
  EXPECT_EQ(ParsePercentText("1000").problem, PercentProblem::kAboveHundred);
  EXPECT_EQ(ParsePercentText("99999999999999999999").problem, PercentProblem::kAboveHundred);
  for (const char* bad : {"abc", "-1", "5.", ".5", "1e2", " 5", "5 ", "1000x", "%", "5%%"})
    EXPECT_EQ(ParsePercentText(bad).problem, PercentProblem::kNotANumber) << bad;
}

TEST(ParsePercentText, AppliesTheSignRule) {
  EXPECT_EQ(ParsePercentText("1", PercentSign::kRequired).problem, PercentProblem::kSignMissing);
  EXPECT_EQ(ParsePercentText("1%", PercentSign::kRequired).bp, 100u);
  EXPECT_EQ(ParsePercentText("1%", PercentSign::kForbidden).problem,
            PercentProblem::kSignForbidden);
  EXPECT_EQ(ParsePercentText("1", PercentSign::kForbidden).bp, 100u);
}

TEST(PercentFromDouble, AcceptsTwoDecimalValuesExactly) {
  for (std::uint32_t bp = 0; bp <= 10000; ++bp) {
    const double percent = std::stod(Text(bp, PercentStyle::kFixed));
    const PercentBp parsed = PercentFromDouble(percent);
    ASSERT_TRUE(parsed.ok()) << percent;
    ASSERT_EQ(parsed.bp, bp) << percent;
  }
}

TEST(PercentFromDouble, RefusesWhatWouldBeRounded) {
  EXPECT_EQ(PercentFromDouble(12.345).problem, PercentProblem::kTooManyDecimals);
  EXPECT_EQ(PercentFromDouble(10.0000001).problem, PercentProblem::kTooManyDecimals);
  EXPECT_EQ(PercentFromDouble(1e-9).problem, PercentProblem::kTooManyDecimals);
  EXPECT_EQ(PercentFromDouble(100.0001).problem, PercentProblem::kAboveHundred);
  EXPECT_EQ(PercentFromDouble(-0.5).problem, PercentProblem::kNotANumber);
  EXPECT_EQ(PercentFromDouble(0.0 / 0.0).problem, PercentProblem::kNotFinite);
  EXPECT_EQ(PercentFromDouble(1.0 / 0.0).problem, PercentProblem::kNotFinite);
}

TEST(FormatBp, FixedAndShortest) {
  EXPECT_EQ(Text(0, PercentStyle::kFixed), "0.00");
  EXPECT_EQ(Text(1250, PercentStyle::kFixed), "12.50");
  EXPECT_EQ(Text(10000, PercentStyle::kFixed), "100.00");
  EXPECT_EQ(Text(5, PercentStyle::kFixed), "0.05");
  EXPECT_EQ(Text(0, PercentStyle::kShortest), "0");
  EXPECT_EQ(Text(1250, PercentStyle::kShortest), "12.5");
  EXPECT_EQ(Text(1234, PercentStyle::kShortest), "12.34");
  EXPECT_EQ(Text(10000, PercentStyle::kShortest), "100");
  EXPECT_EQ(Text(42949, PercentStyle::kFixed), "100.00");  // clamped, never "429.49"
}

TEST(FormatBp, RoundTripsThroughTheParser) {
  for (std::uint32_t bp = 0; bp <= 10000; ++bp) {
    ASSERT_EQ(ParsePercentText(Text(bp, PercentStyle::kShortest)).bp, bp);
    ASSERT_EQ(ParsePercentText(Text(bp, PercentStyle::kFixed)).bp, bp);
  }
}

static_assert(ParsePercentText("12.34").bp == 1234, "usable at compile time");

}  // namespace
}  // namespace cutover
