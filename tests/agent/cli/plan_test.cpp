#include "agent/cli/plan.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <tuple>

#include "support/process.hpp"

namespace cutover::cli {
namespace {

namespace v1 = cutover::v1;

const char* kDesignPlan = R"(steps:
  - {percent: 1,   hold: 5m}
  - {percent: 5,   hold: 10m}
  - {percent: 25,  hold: 15m}
  - {percent: 50,  hold: 30m}
  - {percent: 75,  hold: 15m}
  - {percent: 100, hold: 24h}
analysis:
  window: 10s
  min_requests: 50
  max_error_rate: 1%
  max_p99: 200ms
  max_error_ratio_vs_blue: 2
  failure_threshold: 1
on_breach: revert
gates: []
)";

// The error a plan produces, or a failure when it parses.
PlanError ErrorOf(const std::string& text) {
  try {
    ParsePlan(text, "plan.yaml");
  } catch (const PlanError& e) {
    return e;
  }
  ADD_FAILURE() << "the plan parsed:\n" << text;
  return PlanError("", 0, "", "");
}

TEST(Plan, ReadsTheDesignExample) {
  const v1::Plan plan = ParsePlan(kDesignPlan);
  ASSERT_EQ(plan.steps_size(), 6);
  EXPECT_DOUBLE_EQ(plan.steps(0).percent(), 1);
  EXPECT_EQ(plan.steps(0).hold().seconds(), 300);
  EXPECT_DOUBLE_EQ(plan.steps(5).percent(), 100);
  EXPECT_EQ(plan.steps(5).hold().seconds(), 86400);
  EXPECT_EQ(plan.analysis().window().seconds(), 10);
  EXPECT_EQ(plan.analysis().min_requests(), 50u);
  EXPECT_DOUBLE_EQ(plan.analysis().max_error_rate(), 0.01);
  EXPECT_EQ(plan.analysis().max_p99().nanos(), 200'000'000);
  EXPECT_EQ(plan.analysis().max_p99().seconds(), 0);
  EXPECT_DOUBLE_EQ(plan.analysis().max_error_ratio_vs_blue(), 2);
  EXPECT_EQ(plan.analysis().failure_threshold(), 1u);
  EXPECT_EQ(plan.on_breach(), v1::BREACH_ACTION_REVERT);
  EXPECT_EQ(plan.gates_size(), 0);
}

TEST(Plan, ReadsTheSamePlanAsJson) {
  const v1::Plan plan = ParsePlan(R"({
    "steps": [{"percent": 10, "hold": "1m"}, {"percent": "100%", "hold": "0s"}],
    "analysis": {"window": "5s", "min_requests": 20, "max_error_rate": "0.5%"},
    "on_breach": "pause"
  })");
  ASSERT_EQ(plan.steps_size(), 2);
  EXPECT_DOUBLE_EQ(plan.steps(1).percent(), 100);
  EXPECT_DOUBLE_EQ(plan.analysis().max_error_rate(), 0.005);
  EXPECT_EQ(plan.on_breach(), v1::BREACH_ACTION_PAUSE);
}

TEST(Plan, MapsEveryGateKindOntoTheOneof) {
  const v1::Plan plan = ParsePlan(R"(steps: [{percent: 50, hold: 1m}]
analysis: {window: 10s}
gates:
  - replication_lag: {dsn: "postgresql://app@db/app", max: 5s}
  - sql: {dsn: "postgresql://app@db/app", query: "select count(*) = 0 from pending_jobs", timeout: 2s}
  - parity:
      source: "sqlite:///var/lib/app/app.db"
      target: "postgresql://app@db/app"
      tables: [orders, customers]
      checksum: true
  - parity: {source: "sqlite:///a.db", target: "postgresql://db/app", tables: all}
  - reversibility: {policy: block, max_writes: 0}
  - sync: {max_lag: 500ms, max_conflicts: 2}
  - sync: {}
)");
  ASSERT_EQ(plan.gates_size(), 7);
  EXPECT_EQ(plan.gates(0).replication_lag().max().seconds(), 5);
  EXPECT_EQ(plan.gates(1).sql().query(), "select count(*) = 0 from pending_jobs");
  EXPECT_EQ(plan.gates(1).timeout().seconds(), 2);
  ASSERT_EQ(plan.gates(2).parity().tables_size(), 2);
  EXPECT_EQ(plan.gates(2).parity().tables(1), "customers");
  EXPECT_TRUE(plan.gates(2).parity().checksum());
  EXPECT_FALSE(plan.gates(2).parity().all_tables());
  EXPECT_TRUE(plan.gates(3).parity().all_tables());
  EXPECT_EQ(plan.gates(3).parity().tables_size(), 0);
  EXPECT_EQ(plan.gates(4).reversibility().policy(), v1::REVERSIBILITY_POLICY_BLOCK);
  EXPECT_EQ(plan.gates(5).sync().max_lag().nanos(), 500'000'000);
  EXPECT_EQ(plan.gates(5).sync().max_conflicts(), 2u);
  EXPECT_TRUE(plan.gates(6).has_sync());
  EXPECT_FALSE(plan.gates(6).sync().has_max_lag());  // the agent's default, 1s
}

TEST(Plan, ReadsTheRunbooksGatesAndNotify) {
  const v1::Plan plan = ParsePlan(R"(steps: [{percent: 50, hold: 1m}]
analysis: {window: 10s}
gates:
  - http: {url: "http://{green}/health", expect_status: 200, expect_body: "ok", timeout: 2s}
  - exec: {command: ["scripts/smoke_test.py", "--env", "green"], dir: /srv/app, timeout: 60s,
           before_promotion: true}
notify: ["https://hooks.slack.com/services/T/B/X", "http://127.0.0.1:9000/hook"]
)");
  ASSERT_EQ(plan.gates_size(), 2);
  EXPECT_EQ(plan.gates(0).http().url(), "http://{green}/health");
  EXPECT_EQ(plan.gates(0).http().expect_status(), 200u);
  EXPECT_EQ(plan.gates(0).http().expect_body(), "ok");
  EXPECT_FALSE(plan.gates(0).http().before_promotion());
  EXPECT_EQ(plan.gates(0).timeout().seconds(), 2);
  ASSERT_EQ(plan.gates(1).exec().command_size(), 3);
  EXPECT_EQ(plan.gates(1).exec().command(2), "green");
  EXPECT_EQ(plan.gates(1).exec().dir(), "/srv/app");
  EXPECT_TRUE(plan.gates(1).exec().before_promotion());
  EXPECT_EQ(plan.gates(1).timeout().seconds(), 60);
  ASSERT_EQ(plan.notify_size(), 2);
  EXPECT_EQ(plan.notify(1), "http://127.0.0.1:9000/hook");
}

TEST(PlanErrors, StepsThatDoNotRiseNameLineAndField) {
  const auto e = ErrorOf(R"(steps:
  - {percent: 10, hold: 1m}
  - {percent: 50, hold: 1m}
  - {percent: 25, hold: 1m}
analysis: {window: 10s}
)");
  EXPECT_EQ(e.line(), 4);
  EXPECT_EQ(e.field(), "steps[2].percent");
  EXPECT_NE(std::string(e.what()).find("plan.yaml:4: steps[2].percent: steps must rise"),
            std::string::npos)
      << e.what();
}

TEST(PlanErrors, TooManyDecimals) {
  const auto e = ErrorOf("steps:\n  - {percent: 12.345, hold: 1m}\nanalysis: {window: 10s}\n");
  EXPECT_EQ(e.line(), 2);
  EXPECT_EQ(e.field(), "steps[0].percent");
  EXPECT_NE(e.problem().find("two decimals"), std::string::npos);
}

TEST(PlanErrors, EachBadFieldIsNamed) {
  struct Case {
    std::string text;
    int line;
    std::string field;
    std::string says;
  };
  const std::string steps = "steps: [{percent: 50, hold: 1m}]\n";
  const std::vector<Case> cases = {
      {"steps: []\nanalysis: {window: 10s}\n", 1, "steps", "non-empty"},
      {steps, 1, "analysis", "is required"},
      {"analysis: {window: 10s}\n", 1, "steps", "is required"},
      {steps + "analysis:\n  window: 0s\n", 3, "analysis.window", "must be positive"},
      {steps + "analysis:\n  window: 10\n", 3, "analysis.window", "no unit"},
      {steps + "analysis:\n  window: 10s\n  max_error_rate: 0.01\n", 4, "analysis.max_error_rate",
       "% sign"},
      {steps + "analysis:\n  window: 10s\n  min_requests: many\n", 4, "analysis.min_requests",
       "whole number"},
      {steps + "analysis:\n  window: 10s\n  max_p99: fast\n", 4, "analysis.max_p99",
       "not a duration"},
      {steps + "analysis:\n  window: 10s\n  windw: 5s\n", 4, "analysis.windw", "unknown field"},
      {steps + "analysis: {window: 10s}\non_breach: panic\n", 3, "on_breach", "revert or pause"},
      {"steps:\n  - {percent: 50, hodl: 1m}\nanalysis: {window: 10s}\n", 2, "steps[0].hodl",
       "unknown field"},
      {"steps:\n  - {percent: 50}\nanalysis: {window: 10s}\n", 2, "steps[0].hold", "is required"},
      {"steps:\n  - {percent: 0, hold: 1m}\nanalysis: {window: 10s}\n", 2, "steps[0].percent",
       "above 0"},
      {"steps:\n  - {percent: 101, hold: 1m}\nanalysis: {window: 10s}\n", 2, "steps[0].percent",
       "above 100"},
      {steps + "analysis: {window: 10s}\ngates:\n  - canary: {}\n", 4, "gates[0].canary",
       "unknown gate"},
      {steps + "analysis: {window: 10s}\ngates:\n  - sql: {dsn: \"postgresql://x\"}\n", 4,
       "gates[0].sql.query", "is required"},
      {steps +
           "analysis: {window: 10s}\ngates:\n  - parity: {source: a, target: b, tables: some}\n",
       4, "gates[0].parity.tables", "or: all"},
      {steps + "analysis: {window: 10s}\ngates:\n  - reversibility: {policy: maybe}\n", 4,
       "gates[0].reversibility.policy", "allow, warn or block"},
      {steps +
           "analysis: {window: 10s}\ngates:\n  - replication_lag: {dsn: x, max: 5s, timeout: 0s}\n",
       4, "gates[0].replication_lag.timeout", "must be positive"},
      {steps + "analysis: {window: 10s}\ngates:\n  - sync: {max_lag: 0s}\n", 4,
       "gates[0].sync.max_lag", "above zero"},
      {steps + "analysis: {window: 10s}\ngates:\n  - sync: {max_lag: 1s, lag: 2s}\n", 4,
       "gates[0].sync.lag", "unknown field"},
      // timeout written as the gate's sibling (the runbook's old mistake) names where it goes.
      {steps + "analysis: {window: 10s}\ngates:\n  - sql: {dsn: x, query: y}\n    timeout: 3s\n", 5,
       "gates[0].timeout", "belongs in the sql mapping"},
      {steps + "analysis: {window: 10s}\ngates:\n  - http: {expect_status: 200}\n", 4,
       "gates[0].http.url", "is required"},
      {steps + "analysis: {window: 10s}\ngates:\n  - http: {url: \"http://h/\", status: 200}\n", 4,
       "gates[0].http.status", "unknown field"},
      {steps +
           "analysis: {window: 10s}\ngates:\n  - http: {url: \"http://h/\", expect_status: 2000}\n",
       4, "gates[0].http.expect_status", "from 100 to 599"},
      {steps + "analysis: {window: 10s}\ngates:\n  - exec: {command: \"scripts/smoke_test.py --env "
               "green\"}\n",
       4, "gates[0].exec.command", "without a shell"},
      {steps + "analysis: {window: 10s}\ngates:\n  - exec: {command: [x], before_promotion: yes}\n",
       4, "gates[0].exec.before_promotion", "true or false"},
      {steps + "analysis: {window: 10s}\nnotify: https://hooks.example/x\n", 3, "notify",
       "list of webhook URLs"},
      {steps + "analysis: {window: 10s}\nanalysys: {}\n", 3, "analysys", "unknown field"},
      {steps + "analysis: {window: 10s}\nanalysis: {window: 20s}\n", 3, "analysis", "given twice"},
      {"steps:\n  - {percent: 50, hold: 1m, hold: 2m}\nanalysis: {window: 10s}\n", 2,
       "steps[0].hold", "given twice"},
  };
  for (const auto& c : cases) {
    const auto e = ErrorOf(c.text);
    EXPECT_EQ(e.line(), c.line) << c.text << "\n" << e.what();
    EXPECT_EQ(e.field(), c.field) << c.text << "\n" << e.what();
    EXPECT_NE(e.problem().find(c.says), std::string::npos) << c.text << "\n" << e.what();
  }
}

// Issue 15 #23: plans cutoverctl accepted and the agent refused. The plan
// reader now applies the agent's own rules (agent/core/validation.hpp) and
// says where, so each of these is a bad plan with its line.
TEST(PlanErrors, WhatTheAgentRefusesIsABadPlanWithItsLine) {
  struct Case {
    std::string text;
    int line;
    std::string field;
    std::string says;
  };
  const std::string head = "steps: [{percent: 50, hold: 1m}]\nanalysis: {window: 10s}\ngates:\n";
  const std::string dsn = "postgresql://m@db/app";
  std::string many_steps = "steps:\n";
  for (int i = 1; i <= 101; ++i)
    many_steps += "  - {percent: " + std::to_string(i * 0.99).substr(0, 4) + ", hold: 1s}\n";
  const std::vector<Case> cases = {
      {head + "  - sql: {dsn: \"" + dsn + "\", query: \"select true\", timeout: 100us}\n", 4,
       "gates[0].sql.timeout", "at least 1ms"},
      {head + "  - sql: {dsn: \"" + dsn + "\", query: \"select true\", timeout: 2d}\n", 4,
       "gates[0].sql.timeout", "at most 10m"},
      {head + "  - replication_lag: {dsn: \"" + dsn + "\", max: 0s}\n", 4,
       "gates[0].replication_lag.max", "must be positive"},
      {head + "  - replication_lag: {dsn: \"" + dsn + "\", max: 2d}\n", 4,
       "gates[0].replication_lag.max", "at most 24h"},
      {head + "  - sql: {dsn: \"postgresql://[::1\", query: \"select true\"}\n", 4,
       "gates[0].sql.dsn", ""},
      {head + "  - parity: {source: \"not a dsn\", target: \"" + dsn + "\", tables: [a]}\n", 4,
       "gates[0].parity.source", "sqlite:///PATH or a PostgreSQL DSN"},
      {head + "  - parity:\n      source: \"sqlite:///a.db\"\n      target: \"" + dsn +
           "\"\n      tables: [orders, \"bad name\"]\n",
       7, "gates[0].parity.tables[1]", "not a table name"},
      {head + "  - parity: {source: \"sqlite:///a.db\", target: \"" + dsn + "\", tables: [a, a]}\n",
       4, "gates[0].parity.tables[1]", "listed twice"},
      {head + "  - sql: {dsn: \"" + dsn + "\", query: \"" + std::string(20000, 'x') + "\"}\n", 4,
       "gates[0].sql.query", "at most 16384 bytes"},
      {many_steps + "analysis: {window: 10s}\n", 2, "steps", "at most 100 steps"},
      {"steps:\n  - {percent: 50, hold: 4000d}\nanalysis: {window: 10s}\n", 2, "steps[0].hold",
       "at most 3650d"},
      {"steps: [{percent: 50, hold: 1m}]\nanalysis:\n  window: 10s\n  failure_threshold: 5000\n", 4,
       "analysis.failure_threshold", "at most 1000"},
  };
  for (const auto& c : cases) {
    const auto e = ErrorOf(c.text);
    EXPECT_EQ(e.line(), c.line) << c.text.substr(0, 300) << "\n" << e.what();
    EXPECT_EQ(e.field(), c.field) << c.text.substr(0, 300) << "\n" << e.what();
    EXPECT_NE(e.problem().find(c.says), std::string::npos) << c.text.substr(0, 300) << "\n"
                                                           << e.what();
  }
}

// Issue 15 #22: a number with hundreds of digits escaped ParsePlan as
// std::out_of_range (cutoverctl: stod); it is a bad plan with its line.
TEST(PlanErrors, ANumberWithHundredsOfDigitsIsABadValueWithItsLine) {
  const std::string huge(400, '9');
  const std::string steps = "steps: [{percent: 50, hold: 1m}]\n";
  for (const auto& [text, line, field] : std::vector<std::tuple<std::string, int, std::string>>{
           {steps + "analysis:\n  window: 10s\n  min_requests: " + huge + "\n", 4,
            "analysis.min_requests"},
           {steps + "analysis:\n  window: 10s\n  max_error_ratio_vs_blue: " + huge + "\n", 4,
            "analysis.max_error_ratio_vs_blue"},
           {steps + "analysis:\n  window: 10s\n  failure_threshold: " + huge + "\n", 4,
            "analysis.failure_threshold"},
           {"steps: [{percent: " + huge + ", hold: 1m}]\nanalysis: {window: 10s}\n", 1,
            "steps[0].percent"},
           {"steps: [{percent: 50, hold: " + huge + "s}]\nanalysis: {window: 10s}\n", 1,
            "steps[0].hold"},
       }) {
    const auto e = ErrorOf(text);
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_EQ(e.field(), field) << e.what();
  }
}

TEST(PlanErrors, BrokenSyntaxNamesTheLine) {
  const auto e = ErrorOf("steps:\n  - {percent: 50, hold: 1m\nanalysis: {window: 10s}\n");
  EXPECT_GT(e.line(), 0);
  EXPECT_NE(e.problem().find("not valid YAML or JSON"), std::string::npos) << e.what();
}

TEST(PlanErrors, JsonErrorsNameTheLineToo) {
  const auto e = ErrorOf(R"({
  "steps": [{"percent": 10, "hold": "1m"}],
  "analysis": {"window": "10s",
               "failure_threshold": -1}
})");
  EXPECT_EQ(e.line(), 4);
  EXPECT_EQ(e.field(), "analysis.failure_threshold");
}

TEST(PlanFile, ReadsAFileAndNamesItInErrors) {
  test::TempDir dir("cutover-plan");
  test::WriteFile(dir / "good.yaml", kDesignPlan);
  EXPECT_EQ(LoadPlanFile(dir / "good.yaml").steps_size(), 6);
  test::WriteFile(dir / "bad.json", "{\"steps\": 5}");
  try {
    LoadPlanFile(dir / "bad.json");
    FAIL() << "a bad plan loaded";
  } catch (const PlanError& e) {
    EXPECT_NE(std::string(e.what()).find(dir / "bad.json:1: steps:"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(LoadPlanFile(dir / "absent.yaml"), PlanError);
}

const char* kJudgePlan = R"(steps:
  - {percent: 5,   hold: 10m}
  - {percent: 100, hold: 1h}
analysis:
  window: 10s
  min_requests: 50
  max_error_rate: 5%
  warn_error_rate: 1%
  max_p99: 200ms
  warn_p99: 150ms
  max_error_ratio_vs_blue: 3
  warn_error_ratio_vs_blue: 1.5
  min_stalled: 5
  compare: {method: sequential, alpha: 0.01, latency: false, promote_early: true}
  metrics:
    - name: green_memory
      prometheus: http://127.0.0.1:9090
      query: 'sum(process_resident_memory_bytes{job="green"})'
      max: 2e9
      warn_max: 1.5e9
      interval: 15s
      timeout: 2s
      failure_limit: 6
    - name: pg_up
      prometheus: http://127.0.0.1:9090
      query: min(pg_up)
      min: 1
)";

TEST(Plan, ReadsTheJudgeKeys) {
  const v1::Plan plan = ParsePlan(kJudgePlan);
  const auto& a = plan.analysis();
  EXPECT_DOUBLE_EQ(a.warn_error_rate(), 0.01);
  EXPECT_EQ(a.warn_p99().nanos(), 150'000'000);
  EXPECT_DOUBLE_EQ(a.warn_error_ratio_vs_blue(), 1.5);
  EXPECT_EQ(a.min_stalled(), 5u);
  EXPECT_EQ(a.compare().method(), v1::COMPARE_METHOD_SEQUENTIAL);
  EXPECT_DOUBLE_EQ(a.compare().alpha(), 0.01);
  ASSERT_TRUE(a.compare().has_latency());
  EXPECT_FALSE(a.compare().latency());
  EXPECT_TRUE(a.compare().promote_early());
  ASSERT_EQ(a.metrics_size(), 2);
  const auto& m = a.metrics(0);
  EXPECT_EQ(m.name(), "green_memory");
  EXPECT_EQ(m.prometheus(), "http://127.0.0.1:9090");
  EXPECT_EQ(m.query(), "sum(process_resident_memory_bytes{job=\"green\"})");
  EXPECT_DOUBLE_EQ(m.max(), 2e9);
  EXPECT_DOUBLE_EQ(m.warn_max(), 1.5e9);
  EXPECT_FALSE(m.has_min());
  EXPECT_EQ(m.interval().seconds(), 15);
  EXPECT_EQ(m.timeout().seconds(), 2);
  EXPECT_EQ(m.failure_limit(), 6u);
  EXPECT_TRUE(a.metrics(1).has_min());
  EXPECT_FALSE(a.metrics(1).has_max());
  EXPECT_DOUBLE_EQ(a.metrics(1).min(), 1);
}

TEST(PlanErrors, EachBadJudgeKeyIsNamedWithItsLine) {
  struct Case {
    std::string text;
    int line;
    std::string field;
    std::string says;
  };
  const std::string head = "steps: [{percent: 50, hold: 1m}]\nanalysis:\n  window: 10s\n";
  const std::string metric = "  metrics:\n    - name: m\n      prometheus: http://p:9090\n";
  const std::vector<Case> cases = {
      {head + "  warn_error_rate: 0.01\n", 4, "analysis.warn_error_rate", "% sign"},
      {head + "  warn_p99: soon\n", 4, "analysis.warn_p99", "not a duration"},
      {head + "  min_stalled: -1\n", 4, "analysis.min_stalled", "whole number"},
      {head + "  compare: sequential\n", 4, "analysis.compare", "expected a mapping"},
      {head + "  compare: {method: bayes}\n", 4, "analysis.compare.method", "not sequential"},
      {head + "  compare: {alpha: 0.01}\n", 4, "analysis.compare.method", "is required"},
      {head + "  compare:\n    method: sequential\n    alpha: 2\n", 6, "analysis.compare.alpha",
       "at most 0.5"},
      {head + "  compare: {method: sequential, latncy: true}\n", 4, "analysis.compare.latncy",
       "unknown field"},
      {head + "  compare: {method: sequential, promote_early: yes}\n", 4,
       "analysis.compare.promote_early", "true or false"},
      {head + "  metrics: {name: m}\n", 4, "analysis.metrics", "must be a list"},
      {head + metric + "      query: up\n", 5, "analysis.metrics[0]", "needs a threshold"},
      {head + metric + "      max: 1\n", 5, "analysis.metrics[0].query", "is required"},
      {head + metric + "      query: up\n      max: lots\n", 8, "analysis.metrics[0].max",
       "not a number"},
      {head + metric + "      query: up\n      max: 1\n      interval: 0s\n", 9,
       "analysis.metrics[0].interval", "above zero"},
      {head + metric + "      query: up\n      max: 1\n      thresold: 2\n", 9,
       "analysis.metrics[0].thresold", "unknown field"},
      {head + metric +
           "      query: up\n      max: 1\n    - name: m\n      prometheus: x\n"
           "      query: up\n      max: 1\n",
       9, "analysis.metrics[1].name", "two metrics"},
  };
  for (const auto& c : cases) {
    const auto e = ErrorOf(c.text);
    EXPECT_EQ(e.line(), c.line) << c.text << "\n" << e.what();
    EXPECT_EQ(e.field(), c.field) << c.text << "\n" << e.what();
    EXPECT_NE(e.problem().find(c.says), std::string::npos) << c.text << "\n" << e.what();
  }
}

}  // namespace
}  // namespace cutover::cli
