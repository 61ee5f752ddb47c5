#include "agent/core/canonical.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace cutover::agent {
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

// Issue 15 #24: "0000-01-01 00:30+01" rendered "-001-12-31 23:30:00Z", which
// did not read back. A canonical spelling reads back as itself.
TEST(CanonicalTimestamp, HasNoSpellingForInstantsAZoneMovesOutOfTheFourDigitYears) {
  EXPECT_FALSE(CanonicalTimestamp("0000-01-01 00:30:00+01", true).has_value());
  EXPECT_FALSE(CanonicalTimestamp("9999-12-31 23:30:00-01:00", true).has_value());
  EXPECT_EQ(CanonicalTimestamp("0000-01-01 01:30:00+01", true), "0000-01-01 00:30:00Z");
  EXPECT_EQ(CanonicalTimestamp("9999-12-31 22:30:00-01:00", true), "9999-12-31 23:30:00Z");
  for (const char* text : {"0000-01-01 01:30:00+01", "9999-12-31 22:30:00-01:00",
                           "2024-03-04 24:00", "2024-03-04T05:06:07.50+02:00"}) {
    for (const bool utc : {false, true}) {
      const auto canonical = CanonicalTimestamp(text, utc);
      ASSERT_TRUE(canonical.has_value()) << text;
      EXPECT_EQ(CanonicalTimestamp(*canonical, utc), canonical) << text;
    }
  }
}

TEST(Rfc3339FromCanonical, PutsTheTBetweenDateAndTimeOfAnInstantInUtc) {
  EXPECT_EQ(Rfc3339FromCanonical("2024-03-04 05:06:07.5Z"), "2024-03-04T05:06:07.5Z");
  EXPECT_EQ(Rfc3339FromCanonical("2024-03-04 05:06:07"), "2024-03-04 05:06:07");  // no zone
  EXPECT_EQ(Rfc3339FromCanonical("infinity"), "infinity");
}

TEST(CanonicalNumber, WritesExactIntegersAsIntegersAndOtherwiseTheShortestRoundTrip) {
  EXPECT_EQ(CanonicalNumber(5.0), "5");
  EXPECT_EQ(CanonicalNumber(-42.0), "-42");
  EXPECT_EQ(CanonicalNumber(0.1), "0.1");
  EXPECT_EQ(CanonicalNumber(99.99), "99.99");
  EXPECT_EQ(CanonicalNumber(1e-7), "1e-07");
  EXPECT_EQ(CanonicalNumber(1e300), "1e+300");  // integral, but beyond int64
  EXPECT_EQ(CanonicalNumber(std::nan("")), "nan");
  EXPECT_EQ(CanonicalNumber(-std::numeric_limits<double>::infinity()), "-inf");
}

TEST(ExactInteger, ReadsOnlyWholeInt64Texts) {
  EXPECT_EQ(ExactInteger("-42"), -42);
  EXPECT_EQ(ExactInteger("9223372036854775807"), std::numeric_limits<std::int64_t>::max());
  for (const char* text : {"", "4.0", "1e3", "9223372036854775808", " 1", "1 ", "0x10"})
    EXPECT_FALSE(ExactInteger(text).has_value()) << text;
}

TEST(ClassifyPgType, SaysWhatEachTypeIsToSqlite) {
  EXPECT_EQ(ClassifyPgType(20), PgValueClass::kInteger);       // bigint
  EXPECT_EQ(ClassifyPgType(1700), PgValueClass::kNumber);      // numeric
  EXPECT_EQ(ClassifyPgType(16), PgValueClass::kBool);          // boolean
  EXPECT_EQ(ClassifyPgType(17), PgValueClass::kBytes);         // bytea
  EXPECT_EQ(ClassifyPgType(1042), PgValueClass::kPaddedText);  // char(n)
  EXPECT_EQ(ClassifyPgType(1114), PgValueClass::kTimestamp);
  EXPECT_EQ(ClassifyPgType(1184), PgValueClass::kTimestampTz);
  EXPECT_EQ(ClassifyPgType(25), PgValueClass::kText);    // text
  EXPECT_EQ(ClassifyPgType(2950), PgValueClass::kText);  // uuid: by its text output
  EXPECT_EQ(WithoutPadding("ab  "), "ab");
}

}  // namespace
}  // namespace cutover::agent
