#include "agent/core/validation.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "agent/core/units.hpp"

namespace cutover::agent {
namespace {

using namespace std::chrono_literals;

// The message of the InvalidArgument `f` throws, or "" when it does not throw.
template <typename F>
std::string ErrorOf(F f) {
  try {
    f();
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

v1::Plan GoodPlan() {
  v1::Plan plan;
  for (double p : {1.0, 5.0, 25.0, 100.0}) {
    auto* s = plan.add_steps();
    s->set_percent(p);
    *s->mutable_hold() = ToProtoDuration(1min);
  }
  *plan.mutable_analysis()->mutable_window() = ToProtoDuration(10s);
  plan.mutable_analysis()->set_max_error_rate(0.01);
  return plan;
}

TEST(ValidatePercent, AcceptsZeroToHundredWithTwoDecimals) {
  for (double p : {0.0, 0.01, 1.0, 12.34, 99.99, 100.0})
    EXPECT_EQ(ErrorOf([&] { ValidatePercent("percent", p); }), "") << p;
}

TEST(ValidatePercent, RejectsOutOfRangeTooPreciseAndNan) {
  EXPECT_EQ(ErrorOf([] { ValidatePercent("percent", -1); }),
            "percent: must be between 0 and 100, got -1");
  EXPECT_EQ(ErrorOf([] { ValidatePercent("percent", 100.5); }),
            "percent: must be between 0 and 100, got 100.5");
  EXPECT_EQ(ErrorOf([] { ValidatePercent("percent", 12.345); }),
            "percent: at most two decimals, got 12.345");
  EXPECT_EQ(ErrorOf([] { ValidatePercent("percent", std::nan("")); }), "percent: must be a number");
}

TEST(ValidateCutoverName, RejectsEmptyAndTooLong) {
  EXPECT_EQ(ErrorOf([] { ValidateCutoverName("cutover", ""); }), "cutover: must not be empty");
  EXPECT_NE(ErrorOf([] { ValidateCutoverName("cutover", std::string(64, 'a')); }), "");
  EXPECT_EQ(ErrorOf([] { ValidateCutoverName("cutover", "app"); }), "");
}

TEST(ValidatePlan, AcceptsAGoodPlan) {
  EXPECT_EQ(ErrorOf([] { ValidatePlan(GoodPlan()); }), "");
}

TEST(ValidatePlan, EmptyPlan) {
  v1::Plan plan = GoodPlan();
  plan.clear_steps();
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }), "plan.steps: must not be empty");
}

TEST(ValidatePlan, StepsNotRising) {
  v1::Plan plan = GoodPlan();
  plan.mutable_steps(2)->set_percent(5);
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }),
            "plan.steps[2].percent: steps must rise: 5 is not above the previous step's 5");
}

TEST(ValidatePlan, StepPercentOutOfRangeOrZeroOrTooPrecise) {
  v1::Plan plan = GoodPlan();
  plan.mutable_steps(3)->set_percent(101);
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }),
            "plan.steps[3].percent: must be between 0 and 100, got 101");
  plan = GoodPlan();
  plan.mutable_steps(0)->set_percent(0);
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }), "plan.steps[0].percent: must be above 0");
  plan = GoodPlan();
  plan.mutable_steps(0)->set_percent(0.125);
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }),
            "plan.steps[0].percent: at most two decimals, got 0.125");
}

TEST(ValidatePlan, NegativeHold) {
  v1::Plan plan = GoodPlan();
  plan.mutable_steps(1)->mutable_hold()->set_seconds(-5);
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }), "plan.steps[1].hold: must not be negative");
}

TEST(ValidatePlan, ZeroOrMissingWindow) {
  v1::Plan plan = GoodPlan();
  plan.mutable_analysis()->clear_window();
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }), "plan.analysis.window: must be positive");
  plan.clear_analysis();
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }), "plan.analysis: is required (at least a window)");
}

TEST(ValidatePlan, BadThresholds) {
  v1::Plan plan = GoodPlan();
  plan.mutable_analysis()->set_max_error_rate(1.5);
  EXPECT_NE(ErrorOf([&] { ValidatePlan(plan); }).find("plan.analysis.max_error_rate:"),
            std::string::npos);
  plan = GoodPlan();
  plan.mutable_analysis()->set_max_error_ratio_vs_blue(-1);
  EXPECT_NE(ErrorOf([&] { ValidatePlan(plan); }).find("plan.analysis.max_error_ratio_vs_blue:"),
            std::string::npos);
  plan = GoodPlan();
  plan.mutable_analysis()->mutable_max_p99()->set_nanos(-1);
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }), "plan.analysis.max_p99: must not be negative");
  plan = GoodPlan();
  plan.set_on_breach(static_cast<v1::BreachAction>(9));
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }), "plan.on_breach: must be revert or pause");
}

// Issue 15 #21: a window of 315576000000 s overflowed the conversion to
// nanoseconds (signed overflow) before it was compared with the limit.
TEST(ValidatePlan, DurationsTooLongToConvertAreRefusedNotConverted) {
  v1::Plan plan = GoodPlan();
  plan.mutable_analysis()->mutable_window()->set_seconds(315576000000);
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }), "plan.analysis.window: is longer than 3650d");
  plan = GoodPlan();
  plan.mutable_steps(0)->mutable_hold()->set_seconds(INT64_MAX);
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }), "plan.steps[0].hold: is longer than 3650d");
  plan = GoodPlan();
  plan.mutable_analysis()->mutable_max_p99()->set_seconds(9'300'000'000);
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }), "plan.analysis.max_p99: is longer than 3650d");
}

// Issue 15 #8: a step of 1e-11% is a valid percentage (within the
// tolerance of two decimals) that stores 0%: steps are judged in basis
// points, as the state file holds them.
TEST(ValidatePlan, AStepThatStoresZeroOrNoMoreThanThePreviousIsRefused) {
  v1::Plan plan = GoodPlan();
  plan.mutable_steps(0)->set_percent(1e-11);
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }), "plan.steps[0].percent: must be above 0");
  plan = GoodPlan();
  plan.mutable_steps(1)->set_percent(1.000000000001);
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }).rfind("plan.steps[1].percent: steps must rise", 0),
            0u);
  EXPECT_EQ(ErrorOf([] { ValidatePercent("percent", 10.0000001); }),
            "percent: at most two decimals, got 10.0000001");
}

TEST(ValidatePlan, BoundsTheNumberOfSteps) {
  v1::Plan plan = GoodPlan();
  plan.clear_steps();
  for (int i = 1; i <= kMaxSteps + 1; ++i) plan.add_steps()->set_percent(i * 0.5);
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }), "plan.steps: at most 100 steps");
}

// Issue 15 #5: a 3 MB reason was accepted, journaled and re-read.
TEST(ValidateReason, AtMostAKilobyte) {
  EXPECT_EQ(ErrorOf([] { ValidateReason("reason", std::string(kMaxReasonBytes, 'r')); }), "");
  EXPECT_EQ(ErrorOf([] { ValidateReason("reason", std::string(3 << 20, 'r')); }),
            "reason: at most 1024 bytes, got 3145728");
}

v1::Gate Sql(const std::string& dsn, const std::string& query) {
  v1::Gate g;
  g.mutable_sql()->set_dsn(dsn);
  g.mutable_sql()->set_query(query);
  return g;
}

TEST(ValidateGates, BoundsEveryFreeTextFieldAndTheTimeout) {
  google::protobuf::RepeatedPtrField<v1::Gate> gates;
  *gates.Add() = Sql("postgresql://db/app", std::string(kMaxQueryBytes + 1, 'x'));
  EXPECT_EQ(ErrorOf([&] { ValidateGates(gates, "plan.gates"); }),
            "plan.gates[0].sql.query: at most 16384 bytes, got 16385");
  gates.Clear();
  *gates.Add() =
      Sql("postgresql://db/app?application_name=" + std::string(kMaxDsnBytes, 'a'), "select true");
  EXPECT_NE(ErrorOf([&] { ValidateGates(gates); }).find("gates[0].sql.dsn: at most 4096 bytes"),
            std::string::npos);
  gates.Clear();
  v1::Gate slow = Sql("postgresql://db/app", "select true");
  slow.mutable_timeout()->set_seconds(24 * 3600);
  *gates.Add() = slow;
  EXPECT_EQ(ErrorOf([&] { ValidateGates(gates); }), "gates[0].timeout: must be at most 10m");
  gates.Clear();
  for (int i = 0; i <= kMaxGates; ++i) *gates.Add() = Sql("postgresql://db/app", "select true");
  EXPECT_EQ(ErrorOf([&] { ValidateGates(gates); }), "gates: at most 32 gates");
}

// ---------------------------------------------------------------- judge keys

v1::MetricCheck GoodMetric() {
  v1::MetricCheck m;
  m.set_name("green_memory");
  m.set_prometheus("http://127.0.0.1:9090");
  m.set_query("sum(process_resident_memory_bytes{job=\"green\"})");
  m.set_max(2e9);
  return m;
}

TEST(ValidatePlan, AcceptsTheJudgeKeys) {
  v1::Plan plan = GoodPlan();
  auto* a = plan.mutable_analysis();
  a->set_max_error_rate(0.05);
  a->set_warn_error_rate(0.01);
  *a->mutable_max_p99() = ToProtoDuration(200ms);
  *a->mutable_warn_p99() = ToProtoDuration(150ms);
  a->set_min_stalled(5);
  a->mutable_compare()->set_method(v1::COMPARE_METHOD_SEQUENTIAL);
  a->mutable_compare()->set_alpha(0.01);
  a->mutable_compare()->set_promote_early(true);
  *a->add_metrics() = GoodMetric();
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }), "");
}

TEST(ValidatePlan, AWarningLevelMustComeBeforeItsThreshold) {
  v1::Plan plan = GoodPlan();
  plan.mutable_analysis()->set_warn_error_rate(0.02);
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }),
            "plan.analysis.warn_error_rate: must be below max_error_rate (0.01): a warning comes "
            "before the action, got 0.02");
  plan = GoodPlan();
  *plan.mutable_analysis()->mutable_max_p99() = ToProtoDuration(200ms);
  *plan.mutable_analysis()->mutable_warn_p99() = ToProtoDuration(300ms);
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }),
            "plan.analysis.warn_p99: must be below max_p99 (200ms): a warning comes before the "
            "action, got 300ms");
  plan = GoodPlan();
  plan.mutable_analysis()->set_max_error_ratio_vs_blue(2);
  plan.mutable_analysis()->set_warn_error_ratio_vs_blue(3);
  EXPECT_NE(ErrorOf([&] { ValidatePlan(plan); }).find("plan.analysis.warn_error_ratio_vs_blue"),
            std::string::npos);
}

TEST(ValidatePlan, RefusesABadComparison) {
  v1::Plan plan = GoodPlan();
  plan.mutable_analysis()->mutable_compare()->set_alpha(0.01);
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }),
            "plan.analysis.compare.method: must be sequential");
  plan.mutable_analysis()->mutable_compare()->set_method(v1::COMPARE_METHOD_SEQUENTIAL);
  plan.mutable_analysis()->mutable_compare()->set_alpha(0.7);
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(plan); }),
            "plan.analysis.compare.alpha: must be above 0 and at most 0.5, got 0.7");
  plan.mutable_analysis()->mutable_compare()->set_alpha(0.01);
  plan.mutable_analysis()->set_max_error_rate(0);
  plan.mutable_analysis()->mutable_compare()->set_promote_early(true);
  EXPECT_NE(ErrorOf([&] { ValidatePlan(plan); }).find("plan.analysis.compare.promote_early: needs"),
            std::string::npos);
}

TEST(ValidatePlan, RefusesBadMetricChecksNamingTheField) {
  const auto with = [](const std::function<void(v1::MetricCheck*)>& change) {
    v1::Plan plan = GoodPlan();
    v1::MetricCheck* m = plan.mutable_analysis()->add_metrics();
    *m = GoodMetric();
    change(m);
    return ErrorOf([&] { ValidatePlan(plan); });
  };
  EXPECT_EQ(with([](v1::MetricCheck* m) { m->set_name("Green Memory"); }),
            "plan.analysis.metrics[0].name: may hold only a-z, 0-9 and _, got \"Green Memory\"");
  EXPECT_EQ(with([](v1::MetricCheck* m) { m->set_prometheus("ftp://x"); }),
            "plan.analysis.metrics[0].prometheus: must be an http:// or https:// URL");
  EXPECT_EQ(with([](v1::MetricCheck* m) { m->set_prometheus("http://admin:secret@prom:9090"); }),
            "plan.analysis.metrics[0].prometheus: must not hold credentials (user:password@)");
  EXPECT_EQ(with([](v1::MetricCheck* m) { m->set_prometheus("http://prom:9090/?x=1"); }),
            "plan.analysis.metrics[0].prometheus: must not have a query or fragment (it is the "
            "API's base URL)");
  EXPECT_EQ(with([](v1::MetricCheck* m) { m->clear_query(); }),
            "plan.analysis.metrics[0].query: must not be empty");
  EXPECT_EQ(with([](v1::MetricCheck* m) { m->clear_max(); }),
            "plan.analysis.metrics[0]: needs a threshold: max, min or both");
  EXPECT_EQ(with([](v1::MetricCheck* m) { m->set_warn_max(3e9); }),
            "plan.analysis.metrics[0].warn_max: must be below max (2e+09): a warning comes before "
            "the action, got 3e+09");
  EXPECT_EQ(with([](v1::MetricCheck* m) { m->set_min(5e9); }),
            "plan.analysis.metrics[0].min: must be below max (2e+09), got 5e+09");
  EXPECT_EQ(with([](v1::MetricCheck* m) { *m->mutable_interval() = ToProtoDuration(1ms); }),
            "plan.analysis.metrics[0].interval: must be at least 100ms");
  EXPECT_EQ(with([](v1::MetricCheck* m) { m->set_max(std::nan("")); }),
            "plan.analysis.metrics[0].max: must be a number");
  v1::Plan twice = GoodPlan();
  *twice.mutable_analysis()->add_metrics() = GoodMetric();
  *twice.mutable_analysis()->add_metrics() = GoodMetric();
  EXPECT_EQ(ErrorOf([&] { ValidatePlan(twice); }),
            "plan.analysis.metrics[1].name: \"green_memory\" is already metrics[0]'s name");
}

}  // namespace
}  // namespace cutover::agent
