// Anytime-valid tests on the counts the module keeps: valid at every tick,
// however often they are looked at, so a rollout can be judged continuously
// without the false alarms of re-checking a fixed-sample test (docs/agent.md,
// "The sequential comparison", has the mathematics and the references).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace cutover::agent {

// Evidence that the new slot's events (errors, or slow requests) come at a
// higher rate per attempt than the old slot's.
//
// Lindon & Malek (2022), time-inhomogeneous Poisson processes: whatever the
// common rate does over time, an event of an interval in which the new slot
// made a share rho of the attempts is the new slot's with probability
//     theta(r) = rho r / (rho r + 1 - rho),
// r being the ratio of the new slot's event rate to the old one's; under
// H0 (r <= 1) theta <= rho. Conditional on the interval's attempts the new
// slot's share of its events is hypergeometric, dominated in convex order by
// the binomial(rho) this uses, so the likelihood ratio of any r' > 1 against
// r = 1,
//     LR(r') = prod over intervals  r'^x / (1 + rho (r' - 1))^(x + y)
// (x, y the new and old slot's events), is a nonnegative supermartingale
// starting at 1 under H0, and so is a mixture of them. The statistic is the
// mixture over a fixed grid of ratios with equal weights, taken with rho
// recomputed every interval, so a change of the split between intervals
// changes nothing in its validity. Ville's inequality: under H0 it ever
// reaches 1/alpha with probability at most alpha.
class RateRatioTest {
 public:
  // r = 2^(j/2), j = 1..14: 1.41 to 128.
  static constexpr std::size_t kRatios = 14;
  static double Ratio(std::size_t j);

  // One interval: attempts and events of each slot in it.
  void Add(std::uint64_t new_tried, std::uint64_t new_events, std::uint64_t old_tried,
           std::uint64_t old_events);
  double LogStatistic() const;  // log of the mixture; 0 before any evidence
  double Statistic() const;
  std::uint64_t new_events() const { return new_events_; }
  std::uint64_t old_events() const { return old_events_; }
  // The new slot's events if it were exactly as good: sum of rho (x + y).
  double expected_new_events() const { return expected_new_; }

 private:
  std::array<double, kRatios> log_lr_{};
  std::uint64_t new_events_ = 0, old_events_ = 0;
  double expected_new_ = 0;
};

// Evidence that a slot's error rate per attempt is below p0: H0 p >= p0
// against a mixture of p0 / 2^(j/2), j = 1..12, each likelihood ratio
//     (p / p0)^e ((1 - p) / (1 - p0))^(n - e)
// a nonnegative supermartingale under H0 (any p(t) >= p0, changing or not).
class BelowRateTest {
 public:
  static constexpr std::size_t kRates = 12;

  explicit BelowRateTest(double p0) : p0_(p0) {}
  void Add(std::uint64_t tried, std::uint64_t errors);
  double LogStatistic() const;
  double Statistic() const;
  double p0() const { return p0_; }

 private:
  double p0_;
  std::array<double, kRates> log_lr_{};
};

// A RateRatioTest for every step of a rollout, each started when its step
// begins, averaged with fixed weights (a step not begun yet counts as 1):
// one test martingale for the whole rollout, so one alpha. The first
// component, carried through every step, weighs 1/2: a regression present
// from the start (a bad release) is caught on all the evidence at the cost
// of log 2. Each later step's own component weighs 1/(2 (steps - 1)), so a
// slot that was better than the old one early on, or that breaks mid-way,
// does not have to climb back from earlier evidence.
class StepMixture {
 public:
  explicit StepMixture(int steps) : steps_(steps < 1 ? 1 : steps) {}
  void BeginStep();  // the next step's component starts with the next interval
  void Add(std::uint64_t new_tried, std::uint64_t new_events, std::uint64_t old_tried,
           std::uint64_t old_events);
  double Statistic() const;
  double Weight(std::size_t component) const;
  // The counts since the rollout's first step (the first component).
  const RateRatioTest* whole() const { return components_.empty() ? nullptr : &components_[0]; }

 private:
  int steps_;
  std::vector<RateRatioTest> components_;
};

}  // namespace cutover::agent
