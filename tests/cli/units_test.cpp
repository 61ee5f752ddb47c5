#include "agent/cli/units.hpp"

#include <gtest/gtest.h>

namespace cutover::cli {
namespace {

using namespace std::chrono_literals;

TEST(ParsePercent, AcceptsWholeDecimalAndSignedForms) {
  EXPECT_DOUBLE_EQ(*ParsePercent("20"), 20.0);
  EXPECT_DOUBLE_EQ(*ParsePercent("12.5"), 12.5);
  EXPECT_DOUBLE_EQ(*ParsePercent("12.34%"), 12.34);
  EXPECT_DOUBLE_EQ(*ParsePercent("0"), 0.0);
  EXPECT_DOUBLE_EQ(*ParsePercent("100%"), 100.0);
}

TEST(ParsePercent, RefusesMoreThanTwoDecimalsAndSaysSo) {
  std::string why;
  EXPECT_FALSE(ParsePercent("12.345", &why));
  EXPECT_NE(why.find("more than two decimals"), std::string::npos) << why;
}

TEST(ParsePercent, RefusesOutOfRangeAndGarbage) {
  std::string why;
  EXPECT_FALSE(ParsePercent("100.01", &why));
  EXPECT_NE(why.find("above 100"), std::string::npos) << why;
  for (const char* bad : {"-1", "", "%", "abc", "5.", ".5", "1e2", "20 %", "2O"})
    EXPECT_FALSE(ParsePercent(bad)) << bad;
}

TEST(ParsePercentWithSign, RequiresTheSign) {
  std::string why;
  EXPECT_FALSE(ParsePercentWithSign("0.01", &why));
  EXPECT_NE(why.find("% sign"), std::string::npos) << why;
  EXPECT_DOUBLE_EQ(*ParsePercentWithSign("1%"), 1.0);
}

TEST(ParseDuration, ReadsUnitsAndCompounds) {
  EXPECT_EQ(*ParseDuration("10s"), 10s);
  EXPECT_EQ(*ParseDuration("5m"), 5min);
  EXPECT_EQ(*ParseDuration("24h"), 24h);
  EXPECT_EQ(*ParseDuration("200ms"), 200ms);
  EXPECT_EQ(*ParseDuration("1h30m"), 90min);
  EXPECT_EQ(*ParseDuration("1.5s"), 1500ms);
  EXPECT_EQ(*ParseDuration("2d"), 48h);
  EXPECT_EQ(*ParseDuration("0"), 0s);
  EXPECT_EQ(*ParseDuration("0s"), 0s);
}

TEST(ParseDuration, ExplainsWhatIsWrong) {
  std::string why;
  EXPECT_FALSE(ParseDuration("300", &why));
  EXPECT_NE(why.find("no unit"), std::string::npos) << why;
  EXPECT_FALSE(ParseDuration("5 minutes", &why));
  EXPECT_FALSE(ParseDuration("5w", &why));
  EXPECT_NE(why.find("unknown unit \"w\""), std::string::npos) << why;
  EXPECT_FALSE(ParseDuration("-5s", &why));
  EXPECT_FALSE(ParseDuration("", &why));
}

TEST(FormatDuration, SpellsDurationsForPeople) {
  EXPECT_EQ(FormatDuration(0s), "0s");
  EXPECT_EQ(FormatDuration(200ms), "200ms");
  EXPECT_EQ(FormatDuration(10s), "10s");
  EXPECT_EQ(FormatDuration(5min), "5m");
  EXPECT_EQ(FormatDuration(90min), "1h30m");
  EXPECT_EQ(FormatDuration(252s), "4m12s");
  EXPECT_EQ(FormatDuration(1500ms), "1.5s");
  EXPECT_EQ(FormatDuration(24h), "24h");
}

TEST(FormatPercent, TwoDecimals) {
  EXPECT_EQ(FormatPercent(20), "20.00%");
  EXPECT_EQ(FormatPercent(12.345), "12.35%");
}

}  // namespace
}  // namespace cutover::cli
