#include "agent/gates/factory.hpp"

#include <gtest/gtest.h>

#include "support/gate_specs.hpp"

namespace cutover::test {
namespace {

// The message ValidateGates throws for these specs, or "" when they pass.
std::string ProblemWith(const std::vector<v1::Gate>& list) {
  google::protobuf::RepeatedPtrField<v1::Gate> specs;
  for (const auto& spec : list) *specs.Add() = spec;
  try {
    gates::ValidateGates(specs);
    return "";
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
}

const std::string kDsn = "postgresql://app@127.0.0.1:5432/app";

TEST(ValidateGates, AcceptsAGoodPlan) {
  EXPECT_EQ(ProblemWith({LagSpec(kDsn, 5s), SqlSpec(kDsn, "select true"),
                         ParitySpec("sqlite:///var/lib/app/app.db", kDsn, {"orders"}, true),
                         ParitySpec(kDsn, kDsn, {}, false),
                         ReversibilitySpec(v1::REVERSIBILITY_POLICY_BLOCK, 0)}),
            "");
}

TEST(ValidateGates, NamesTheFieldAtFault) {
  EXPECT_EQ(ProblemWith({SqlSpec(kDsn, "select true"), SqlSpec(kDsn, "")}),
            "gates[1].sql.query: must not be empty");
  EXPECT_EQ(ProblemWith({SqlSpec("", "select true")}), "gates[0].sql.dsn: must not be empty");
  EXPECT_EQ(ProblemWith({LagSpec(kDsn, 0ms)}), "gates[0].replication_lag.max: must be positive");
  v1::Gate no_max = LagSpec(kDsn, 1s);
  no_max.mutable_replication_lag()->clear_max();
  EXPECT_EQ(ProblemWith({no_max}), "gates[0].replication_lag.max: must be set");
  EXPECT_EQ(ProblemWith({WithTimeout(SqlSpec(kDsn, "select true"), 0ms)}),
            "gates[0].timeout: must be positive");
  EXPECT_EQ(ProblemWith({v1::Gate{}}),
            "gates[0]: must be one of replication_lag, sql, parity, reversibility, sync");
}

TEST(ValidateGates, ChecksParitySpecs) {
  EXPECT_EQ(ProblemWith({ParitySpec("sqlite:///a.db", kDsn, {"orders", "orders"}, false)}),
            "gates[0].parity.tables[1]: \"orders\" is listed twice");
  EXPECT_EQ(ProblemWith({ParitySpec("sqlite:///a.db", kDsn, {"bad name"}, false)}),
            "gates[0].parity.tables[0]: \"bad name\" is not a table name");
  v1::Gate both = ParitySpec("sqlite:///a.db", kDsn, {"orders"}, false);
  both.mutable_parity()->set_all_tables(true);
  EXPECT_EQ(ProblemWith({both}), "gates[0].parity.tables: list tables or say all, not both");
  v1::Gate neither = ParitySpec("sqlite:///a.db", kDsn, {"orders"}, false);
  neither.mutable_parity()->clear_tables();
  EXPECT_EQ(ProblemWith({neither}),
            "gates[0].parity.tables: must list at least one table, or be all");
  EXPECT_EQ(ProblemWith({ParitySpec("sqlite:///a.db", "sqlite:///b.db", {"orders"}, false)}),
            "gates[0].parity.target: must be a PostgreSQL DSN (postgresql://...)");
  EXPECT_EQ(ProblemWith({ParitySpec("mysql://db/app", kDsn, {"orders"}, false)}),
            "gates[0].parity.source: must be sqlite:///PATH or a PostgreSQL DSN");
  EXPECT_EQ(ProblemWith({ParitySpec("sqlite:///a.db", kDsn, {"public.orders"}, false)}), "");
}

TEST(ValidateGates, RejectsAnUnparsableDsnWithoutQuotingItsPassword) {
  const std::string problem = ProblemWith({SqlSpec("host=db password=my s3cret", "select true")});
  EXPECT_EQ(problem.rfind("gates[0].sql.dsn: ", 0), 0u) << problem;
  EXPECT_EQ(problem.find("s3cret"), std::string::npos) << problem;
}

TEST(RedactGateSpecs, MasksEveryDsnOfAPlan) {
  google::protobuf::RepeatedPtrField<v1::Gate> specs;
  *specs.Add() = LagSpec("postgresql://m:Lag-Secret@db/app", 5s);
  *specs.Add() = SqlSpec("host=db password=Sql-Secret dbname=app", "select true");
  *specs.Add() = ParitySpec("postgresql://a:Src-Secret@old/app",
                            "postgresql://a@new/app?password=Dst-Secret", {"orders"}, true);
  *specs.Add() = ReversibilitySpec(v1::REVERSIBILITY_POLICY_BLOCK, 3);
  gates::RedactGateSpecs(&specs);
  std::string text;
  for (const auto& spec : specs) text += spec.DebugString();
  EXPECT_EQ(text.find("Secret"), std::string::npos) << text;
  EXPECT_EQ(specs.Get(0).replication_lag().dsn(), "postgresql://m:***@db/app");
  EXPECT_EQ(specs.Get(1).sql().dsn(), "host=db password=*** dbname=app");
  EXPECT_EQ(specs.Get(2).parity().target(), "postgresql://a@new/app?password=***");
  EXPECT_EQ(specs.Get(3).reversibility().max_writes(), 3u);
  EXPECT_EQ(specs.Get(1).sql().query(), "select true");
}

TEST(MakeGates, BuildsOneGateOfEachKindInOrder) {
  google::protobuf::RepeatedPtrField<v1::Gate> specs;
  *specs.Add() = LagSpec(kDsn, 5s);
  *specs.Add() = SqlSpec(kDsn, "select true");
  *specs.Add() = ParitySpec("sqlite:///a.db", kDsn, {"orders"}, false);
  *specs.Add() = ReversibilitySpec(v1::REVERSIBILITY_POLICY_WARN, 10);
  const auto built = gates::MakeGates(specs);
  ASSERT_EQ(built.size(), 4u);
  EXPECT_EQ(built[0]->name(), "replication_lag");
  EXPECT_EQ(built[1]->name(), "sql");
  EXPECT_EQ(built[2]->name(), "parity");
  EXPECT_EQ(built[3]->name(), "reversibility");
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(built[i]->checks_steps());
    EXPECT_FALSE(built[i]->checks_reverts());
  }
  EXPECT_FALSE(built[3]->checks_steps());
  EXPECT_TRUE(built[3]->checks_reverts());
}

}  // namespace
}  // namespace cutover::test
