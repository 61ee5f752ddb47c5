#include "agent/engine/sequential.hpp"

#include <algorithm>
#include <cmath>

namespace cutover::agent {

namespace {

// log(sum_j exp(v_j) / n), without overflow.
template <std::size_t N>
double LogMeanExp(const std::array<double, N>& v) {
  const double top = *std::max_element(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += std::exp(x - top);
  return top + std::log(sum / static_cast<double>(N));
}

}  // namespace

double RateRatioTest::Ratio(std::size_t j) { return std::pow(2.0, static_cast<double>(j + 1) / 2); }

void RateRatioTest::Add(std::uint64_t new_tried, std::uint64_t new_events, std::uint64_t old_tried,
                        std::uint64_t old_events) {
  const std::uint64_t tried = new_tried + old_tried;
  if (tried == 0) return;
  const double rho = static_cast<double>(new_tried) / static_cast<double>(tried);
  const double x = static_cast<double>(new_events);
  const double n = static_cast<double>(new_events + old_events);
  new_events_ += new_events;
  old_events_ += old_events;
  expected_new_ += rho * n;
  for (std::size_t j = 0; j < kRatios; ++j) {
    const double r = Ratio(j);
    log_lr_[j] += x * std::log(r) - n * std::log1p(rho * (r - 1));
  }
}

double RateRatioTest::LogStatistic() const { return LogMeanExp(log_lr_); }
double RateRatioTest::Statistic() const { return std::exp(LogStatistic()); }

void BelowRateTest::Add(std::uint64_t tried, std::uint64_t errors) {
  if (p0_ <= 0 || p0_ >= 1 || tried == 0) return;
  const double e = static_cast<double>(std::min(errors, tried));
  const double ok = static_cast<double>(tried) - e;
  for (std::size_t j = 0; j < kRates; ++j) {
    const double p = p0_ / std::pow(2.0, static_cast<double>(j + 1) / 2);
    log_lr_[j] += e * std::log(p / p0_) + ok * (std::log1p(-p) - std::log1p(-p0_));
  }
}

double BelowRateTest::LogStatistic() const { return LogMeanExp(log_lr_); }
double BelowRateTest::Statistic() const { return std::exp(LogStatistic()); }

void StepMixture::BeginStep() {
  if (static_cast<int>(components_.size()) < steps_) components_.emplace_back();
}

void StepMixture::Add(std::uint64_t new_tried, std::uint64_t new_events, std::uint64_t old_tried,
                      std::uint64_t old_events) {
  for (auto& c : components_) c.Add(new_tried, new_events, old_tried, old_events);
}

double StepMixture::Weight(std::size_t component) const {
  if (steps_ == 1) return 1.0;
  return component == 0 ? 0.5 : 0.5 / (steps_ - 1);
}

double StepMixture::Statistic() const {
  double sum = 0;
  for (std::size_t k = 0; k < static_cast<std::size_t>(steps_); ++k)
    sum += Weight(k) * (k < components_.size() ? components_[k].Statistic() : 1.0);
  return sum;
}

}  // namespace cutover::agent
