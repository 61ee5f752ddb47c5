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
  EXPECT_EQ(
      ProblemWith({v1::Gate{}}),
      "gates[0]: must be one of replication_lag, sql, parity, reversibility, sync, http, exec");
}

TEST(ValidateGates, ChecksHttpAndExecSpecs) {
  EXPECT_EQ(ProblemWith({HttpSpec("http://127.0.0.1:8000/health", 200, "ok"),
                         HttpSpec("https://{green}/health"), HttpSpec("http://{new}"),
                         ExecSpec({"scripts/smoke_test.py", "--env", "green"}),
                         ExecSpec({"/bin/true"}, "/srv/app")}),
            "");
  EXPECT_EQ(ProblemWith({HttpSpec("")}), "gates[0].http.url: must not be empty");
  EXPECT_EQ(ProblemWith({HttpSpec("ftp://x/")}),
            "gates[0].http.url: must be an http:// or https:// URL with a host");
  EXPECT_EQ(ProblemWith({HttpSpec("http://{purple}/health")}),
            "gates[0].http.url: \"{purple}\" is not a slot (expected {green}, {blue}, {new} or "
            "{live})");
  EXPECT_EQ(ProblemWith({HttpSpec("http://{green}:80/health")}).rfind("gates[0].http.url: ", 0),
            0u);
  EXPECT_EQ(ProblemWith({HttpSpec("http://h/{green}")}).rfind("gates[0].http.url: ", 0), 0u);
  EXPECT_EQ(ProblemWith({HttpSpec("http://h/", 700)}),
            "gates[0].http.expect_status: must be an HTTP status from 100 to 599 (or 0: any 2xx), "
            "got 700");
  EXPECT_EQ(ProblemWith({HttpSpec("http://h/", 200, "(unclosed")})
                .rfind("gates[0].http.expect_body: not a valid regex: ", 0),
            0u);
  EXPECT_EQ(ProblemWith({ExecSpec({})}),
            "gates[0].exec.command: must not be empty (a program and its arguments)");
  EXPECT_EQ(ProblemWith({ExecSpec({""})}), "gates[0].exec.command[0]: must not be empty");
  EXPECT_EQ(ProblemWith({ExecSpec({"/bin/true"}, "relative/dir")}),
            "gates[0].exec.dir: must be an absolute path, got \"relative/dir\"");
  EXPECT_EQ(ProblemWith({WithTimeout(ExecSpec({"/bin/true"}), 0ms)}),
            "gates[0].timeout: must be positive");
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

TEST(RedactGateSpecs, MasksAnHttpGatesPasswordAndQueryValues) {
  google::protobuf::RepeatedPtrField<v1::Gate> specs;
  *specs.Add() = HttpSpec("https://probe:Url-Secret@green/health?key=Key-Secret");
  *specs.Add() = ExecSpec({"/bin/true"});
  gates::RedactGateSpecs(&specs);
  EXPECT_EQ(specs.Get(0).http().url(), "https://probe:***@green/health?key=***");
  EXPECT_EQ(specs.Get(1).exec().command(0), "/bin/true");
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

TEST(MakeGates, HttpAndExecGuardStepsAndPromotionWhenAsked) {
  google::protobuf::RepeatedPtrField<v1::Gate> specs;
  *specs.Add() = HttpSpec("http://h/");
  *specs.Add() = HttpSpec("http://h/", 0, "", /*before_promotion=*/true);
  *specs.Add() = ExecSpec({"/bin/true"}, "", /*before_promotion=*/true);
  const auto built = gates::MakeGates(specs);
  EXPECT_EQ(built[0]->name(), "http");
  EXPECT_EQ(built[2]->name(), "exec");
  for (const auto& g : built) {
    EXPECT_TRUE(g->checks_steps());
    EXPECT_FALSE(g->checks_reverts());
  }
  EXPECT_FALSE(built[0]->checks_promotion());
  EXPECT_TRUE(built[1]->checks_promotion());
  EXPECT_TRUE(built[2]->checks_promotion());
}

}  // namespace
}  // namespace cutover::test
