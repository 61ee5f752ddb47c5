// The sequential statistics against values computed by hand (in the
// likelihood-ratio form theta/rho, independently of the code's closed form)
// and against their defining property: under the null hypothesis their
// expectation is exactly 1 (a martingale), below 1 when the new slot is
// better, whatever the traffic split does between intervals.
#include "agent/engine/sequential.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace cutover::agent {
namespace {

double Binomial(int n, int k, double p) {
  return std::exp(std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1)) *
         std::pow(p, k) * std::pow(1 - p, n - k);
}

// The mixture written the textbook way: mean over the grid of
// (theta/rho)^x ((1-theta)/(1-rho))^y, theta = rho r / (rho r + 1 - rho).
double TextbookMixture(const std::vector<std::array<double, 4>>& intervals) {
  double sum = 0;
  for (std::size_t j = 0; j < RateRatioTest::kRatios; ++j) {
    const double r = std::pow(2.0, (j + 1) / 2.0);
    double lr = 1;
    for (const auto& [nt, x, ot, y] : intervals) {
      const double rho = nt / (nt + ot);
      const double theta = rho * r / (rho * r + 1 - rho);
      lr *= std::pow(theta / rho, x) * std::pow((1 - theta) / (1 - rho), y);
    }
    sum += lr;
  }
  return sum / RateRatioTest::kRatios;
}

TEST(RateRatioTest, StartsAtOneAndStaysThereWithoutEvents) {
  RateRatioTest t;
  EXPECT_DOUBLE_EQ(t.Statistic(), 1.0);
  t.Add(100, 0, 100, 0);  // traffic, no errors: no evidence either way
  t.Add(0, 0, 0, 0);
  EXPECT_DOUBLE_EQ(t.Statistic(), 1.0);
}

TEST(RateRatioTest, MatchesHandComputedValues) {
  RateRatioTest t;
  t.Add(50, 3, 50, 1);  // an even split, 3 errors on the new slot, 1 on the old
  // Computed by hand (python, the theta/rho form): 0.9027316952577433.
  EXPECT_NEAR(t.Statistic(), 0.9027316952577433, 1e-12);
  EXPECT_NEAR(t.Statistic(), TextbookMixture({{50, 3, 50, 1}}), 1e-12);
  EXPECT_EQ(t.new_events(), 3u);
  EXPECT_EQ(t.old_events(), 1u);
  EXPECT_DOUBLE_EQ(t.expected_new_events(), 2.0);
}

TEST(RateRatioTest, TheSplitIsTakenPerInterval) {
  RateRatioTest t;
  t.Add(10, 2, 90, 0);  // 10% of the traffic made every error
  t.Add(50, 3, 50, 1);
  EXPECT_NEAR(t.Statistic(), 19.171256379453723, 1e-9);
  EXPECT_NEAR(t.Statistic(), TextbookMixture({{10, 2, 90, 0}, {50, 3, 50, 1}}), 1e-9);
  EXPECT_NEAR(t.expected_new_events(), 0.2 + 2.0, 1e-12);
}

TEST(RateRatioTest, OneSlotAloneIsNoEvidence) {
  RateRatioTest t;
  t.Add(100, 7, 0, 0);  // the old slot served nothing: the events say nothing about the ratio
  t.Add(0, 0, 100, 7);
  EXPECT_DOUBLE_EQ(t.Statistic(), 1.0);
}

// Under H0 the expected statistic after an interval with n events is exactly
// 1, for any split, and still 1 after a second interval with another split:
// a martingale, so Ville's inequality bounds P(ever >= 1/alpha) by alpha.
TEST(RateRatioTest, IsAMartingaleUnderTheNullAcrossSplitChanges) {
  const int n1 = 8, n2 = 6;
  const double rho1 = 0.05, rho2 = 0.5;
  double expectation = 0;
  for (int x1 = 0; x1 <= n1; ++x1)
    for (int x2 = 0; x2 <= n2; ++x2) {
      RateRatioTest t;
      t.Add(5, x1, 95, n1 - x1);
      t.Add(50, x2, 50, n2 - x2);
      expectation += Binomial(n1, x1, rho1) * Binomial(n2, x2, rho2) * t.Statistic();
    }
  EXPECT_NEAR(expectation, 1.0, 1e-9);
}

TEST(RateRatioTest, ABetterNewSlotIsASupermartingale) {
  const int n = 10;
  const double rho = 0.25, r = 0.5;  // the new slot makes half the old one's errors
  const double theta = rho * r / (rho * r + 1 - rho);
  double expectation = 0;
  for (int x = 0; x <= n; ++x) {
    RateRatioTest t;
    t.Add(25, x, 75, n - x);
    expectation += Binomial(n, x, theta) * t.Statistic();
  }
  EXPECT_LT(expectation, 1.0);
}

TEST(RateRatioTest, AWorseNewSlotGrowsTheEvidence) {
  RateRatioTest t;
  for (int i = 0; i < 20; ++i) t.Add(50, 2, 50, 0);  // 40 errors, all on the new slot
  EXPECT_GT(t.Statistic(), 1e6);
}

TEST(BelowRateTest, MatchesHandComputedValues) {
  BelowRateTest t(0.01);
  EXPECT_DOUBLE_EQ(t.Statistic(), 1.0);
  t.Add(500, 0);
  EXPECT_NEAR(t.Statistic(), 80.73930599460164, 1e-9);
  BelowRateTest u(0.01);
  u.Add(500, 1);
  u.Add(300, 0);
  EXPECT_NEAR(u.Statistic(), 83.08204538711664, 1e-9);
}

TEST(BelowRateTest, IsAMartingaleAtTheLimitAndShrinksAbove) {
  const int n = 40;
  double at_limit = 0, above = 0;
  for (int e = 0; e <= n; ++e) {
    BelowRateTest t(0.05);
    t.Add(n, e);
    at_limit += Binomial(n, e, 0.05) * t.Statistic();
    above += Binomial(n, e, 0.08) * t.Statistic();
  }
  EXPECT_NEAR(at_limit, 1.0, 1e-9);
  EXPECT_LT(above, 1.0);
}

TEST(StepMixture, WeighsTheCarriedComponentHalfAndEachLaterStepsAlike) {
  StepMixture m(4);
  EXPECT_DOUBLE_EQ(m.Weight(0), 0.5);
  EXPECT_DOUBLE_EQ(m.Weight(1) + m.Weight(2) + m.Weight(3), 0.5);
  EXPECT_DOUBLE_EQ(m.Statistic(), 1.0);
  m.BeginStep();
  m.Add(50, 3, 50, 1);
  EXPECT_NEAR(m.Statistic(), 0.5 * 0.9027316952577433 + 0.5, 1e-12);
  m.BeginStep();  // step 2's component starts here and sees only what follows
  m.Add(10, 2, 90, 0);
  RateRatioTest second;
  second.Add(10, 2, 90, 0);
  EXPECT_NEAR(m.Statistic(), 0.5 * 19.171256379453723 + (second.Statistic() + 2) / 6, 1e-9);
  ASSERT_NE(m.whole(), nullptr);
  EXPECT_EQ(m.whole()->new_events(), 5u);
}

TEST(StepMixture, OneStepIsOneComponent) {
  StepMixture one(1);
  one.BeginStep();
  one.Add(50, 3, 50, 1);
  EXPECT_NEAR(one.Statistic(), 0.9027316952577433, 1e-12);
}

TEST(StepMixture, NeverMoreComponentsThanSteps) {
  StepMixture m(2);
  for (int i = 0; i < 5; ++i) m.BeginStep();
  m.Add(50, 0, 50, 0);
  EXPECT_DOUBLE_EQ(m.Statistic(), 1.0);
}

}  // namespace
}  // namespace cutover::agent
