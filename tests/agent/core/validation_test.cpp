#include "agent/core/validation.hpp"

#include <gtest/gtest.h>

#include <cmath>

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

}  // namespace
}  // namespace cutover::agent
