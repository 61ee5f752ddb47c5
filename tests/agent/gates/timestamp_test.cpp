#include "agent/gates/timestamp.hpp"

#include <gtest/gtest.h>

namespace cutover::gates {
namespace {

TEST(CanonicalTimestamp, SpellsOneInstantOneWay) {
  // SQLite text as apps write it, and PostgreSQL's timestamptz output in UTC.
  for (const char* spelling :
       {"2024-03-04T05:06:07Z", "2024-03-04 05:06:07+00", "2024-03-04 07:06:07+02:00",
        "2024-03-04T00:06:07-0500", "2024-03-04 05:06:07.000", "2024-03-04 05:06:07 +00:00"}) {
    EXPECT_EQ(CanonicalTimestamp(spelling, true), "2024-03-04 05:06:07Z") << spelling;
  }
}

TEST(CanonicalTimestamp, KeepsTheFractionWithoutTrailingZeros) {
  EXPECT_EQ(CanonicalTimestamp("2024-03-04 05:06:08.500", false), "2024-03-04 05:06:08.5");
  EXPECT_EQ(CanonicalTimestamp("2024-03-04T05:06:08.123456Z", true), "2024-03-04 05:06:08.123456Z");
}

TEST(CanonicalTimestamp, CrossesDaysMonthsAndYearsWhenApplyingTheZone) {
  EXPECT_EQ(CanonicalTimestamp("2024-01-01 01:30:00+02", true), "2023-12-31 23:30:00Z");
  EXPECT_EQ(CanonicalTimestamp("2024-02-28 23:00:00-01:30", true), "2024-02-29 00:30:00Z");
}

TEST(CanonicalTimestamp, WithoutTimeZoneIgnoresTheZoneLikePostgres) {
  EXPECT_EQ(CanonicalTimestamp("2024-03-04T05:06:07+02:00", false), "2024-03-04 05:06:07");
  EXPECT_EQ(CanonicalTimestamp("2024-03-04", false), "2024-03-04 00:00:00");
  EXPECT_EQ(CanonicalTimestamp("2024-03-04 05:06", false), "2024-03-04 05:06:00");
}

TEST(CanonicalTimestamp, RefusesWhatIsNoTimestamp) {
  for (const char* text : {"", "infinity", "yesterday", "2024-13-01", "2024-03-04X05:06:07",
                           "2024-03-04 05:06:07 BC", "2024-03-04 05:06:07.", "12345"}) {
    EXPECT_FALSE(CanonicalTimestamp(text, true).has_value()) << text;
  }
}

}  // namespace
}  // namespace cutover::gates
