#include "agent/core/units.hpp"

#include <gtest/gtest.h>

namespace cutover::agent {
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

// One grammar for flags and plans: "250us" and "1d" work in both (issue 9).
TEST(ParseDuration, ReadsEveryUnitFromNanosecondsToDays) {
  EXPECT_EQ(*ParseDuration("250us"), 250us);
  EXPECT_EQ(*ParseDuration("1500ns"), 1500ns);
  EXPECT_EQ(*ParseDuration("1d"), 24h);
  EXPECT_EQ(*ParseDuration("1d12h"), 36h);
  EXPECT_EQ(*ParseDuration("0.5ms"), 500us);
  std::string why;
  EXPECT_FALSE(ParseDuration("4000d", &why));
  EXPECT_NE(why.find("too long"), std::string::npos) << why;
  EXPECT_FALSE(ParseDuration(std::string(400, '9') + "s", &why));
  EXPECT_NE(why.find("too long"), std::string::npos) << why;
  EXPECT_FALSE(ParseDuration("1.s", &why));
  EXPECT_FALSE(ParseDuration("s", &why));
  EXPECT_FALSE(ParseDuration("1S", &why));
}

TEST(FormatDuration, ReadsBackThroughTheParser) {
  for (const Nanos d : {Nanos(0), Nanos(100us), Nanos(250us), Nanos(1500ns), Nanos(200ms),
                        Nanos(1500ms), Nanos(90min), Nanos(48h), Nanos(36h), Nanos(252s)}) {
    const auto back = ParseDuration(FormatDuration(d));
    ASSERT_TRUE(back) << FormatDuration(d);
    EXPECT_EQ(*back, d) << FormatDuration(d);
  }
  EXPECT_EQ(FormatDuration(100us), "100us");
  EXPECT_EQ(FormatDuration(12345us), "12.3ms");
  EXPECT_EQ(FormatDuration(48h), "2d");
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
  EXPECT_EQ(FormatFraction(0.0125), "1.25%");
  EXPECT_EQ(FormatBpPercent(2500), "25.00%");
}

TEST(Units, ParseAndConvert) {
  EXPECT_EQ(ParseDuration("100ms"), Nanos(100ms));
  EXPECT_EQ(ParseDuration("1.5s"), Nanos(1500ms));
  EXPECT_EQ(ParseDuration("2m"), Nanos(2min));
  EXPECT_EQ(ParseDuration("24h"), Nanos(24h));
  EXPECT_FALSE(ParseDuration("100"));
  EXPECT_FALSE(ParseDuration("fast"));
  EXPECT_FALSE(ParseDuration("1x"));
  EXPECT_EQ(PercentToBp(12.34), 1234u);
  EXPECT_EQ(GreenBpFor(state::Slot::kBlue, 2500), 7500u);
  EXPECT_EQ(SlotBp(state::Slot::kBlue, 7500), 2500u);
  EXPECT_EQ(LiveSlot(10000), state::Slot::kGreen);
  EXPECT_EQ(LiveSlot(5000), state::Slot::kBlue);
  EXPECT_EQ(FromProto(ToProtoDuration(1234567us)), Nanos(1234567us));
}

}  // namespace
}  // namespace cutover::agent
