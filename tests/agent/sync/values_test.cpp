#include "agent/sync/values.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace cutover::sync {
namespace {

using agent::PgValueClass;

TEST(ToPostgresText, NumbersByTheCanonicalRule) {
  EXPECT_EQ(ToPostgresText(Value::Integer(-42), PgValueClass::kInteger), "-42");
  EXPECT_EQ(ToPostgresText(Value::Real(5.0), PgValueClass::kInteger),
            "5");  // 5.0 fits an integer column
  EXPECT_EQ(ToPostgresText(Value::Real(0.1), PgValueClass::kNumber), "0.1");
  EXPECT_EQ(ToPostgresText(Value::Real(std::nan("")), PgValueClass::kNumber), "NaN");
  EXPECT_EQ(ToPostgresText(Value::Real(-INFINITY), PgValueClass::kNumber), "-Infinity");
}

TEST(ToPostgresText, BooleansBytesAndNull) {
  EXPECT_EQ(ToPostgresText(Value::Integer(1), PgValueClass::kBool), "t");
  EXPECT_EQ(ToPostgresText(Value::Integer(0), PgValueClass::kBool), "f");
  EXPECT_EQ(ToPostgresText(Value::Blob(std::string("\x00\xff", 2)), PgValueClass::kBytes),
            "\\x00ff");
  EXPECT_EQ(ToPostgresText(Value::Text("ab"), PgValueClass::kBytes), "\\x6162");
  EXPECT_EQ(ToPostgresText(Value::Null(), PgValueClass::kText), std::nullopt);
  // Text goes as it is, for PostgreSQL's input function to judge (timestamps included).
  EXPECT_EQ(ToPostgresText(Value::Text("2024-03-04T05:06:07Z"), PgValueClass::kTimestampTz),
            "2024-03-04T05:06:07Z");
}

TEST(FromPostgresText, IntegersStayExactAndNumbersBecomeReals) {
  EXPECT_EQ(FromPostgresText("9223372036854775807", PgValueClass::kInteger),
            Value::Integer(9223372036854775807));
  EXPECT_EQ(FromPostgresText("5", PgValueClass::kNumber), Value::Integer(5));
  EXPECT_EQ(FromPostgresText("5.25", PgValueClass::kNumber), Value::Real(5.25));
  EXPECT_EQ(FromPostgresText("5.00", PgValueClass::kNumber), Value::Real(5.0));
  const Value nan = FromPostgresText("NaN", PgValueClass::kNumber);
  EXPECT_TRUE(nan.type == Value::Type::kReal && std::isnan(nan.real));
  EXPECT_EQ(FromPostgresText("Infinity", PgValueClass::kNumber), Value::Real(INFINITY));
}

TEST(FromPostgresText, BooleansBytesPaddingAndInstants) {
  EXPECT_EQ(FromPostgresText("t", PgValueClass::kBool), Value::Integer(1));
  EXPECT_EQ(FromPostgresText("f", PgValueClass::kBool), Value::Integer(0));
  EXPECT_EQ(FromPostgresText("\\x00ff", PgValueClass::kBytes),
            Value::Blob(std::string("\x00\xff", 2)));
  EXPECT_EQ(FromPostgresText("ab   ", PgValueClass::kPaddedText), Value::Text("ab"));
  EXPECT_EQ(FromPostgresText("2024-03-04 07:06:07.5+02", PgValueClass::kTimestampTz),
            Value::Text("2024-03-04T05:06:07.5Z"));
  EXPECT_EQ(FromPostgresText("2024-03-04 05:06:07", PgValueClass::kTimestamp),
            Value::Text("2024-03-04 05:06:07"));
  EXPECT_EQ(FromPostgresText("infinity", PgValueClass::kTimestampTz), Value::Text("infinity"));
  EXPECT_EQ(FromPostgresText("{1,2}", PgValueClass::kText), Value::Text("{1,2}"));
}

TEST(Describe, ShowsValuesAsAPersonReadsThem) {
  EXPECT_EQ(Describe(Value::Integer(42)), "42");
  EXPECT_EQ(Describe(Value::Text("o'brien")), "'o''brien'");
  EXPECT_EQ(Describe(Value::Blob(std::string("\x01\xab", 2))), "x'01ab'");
  EXPECT_EQ(Describe(Value::Null()), "NULL");
}

}  // namespace
}  // namespace cutover::sync
