#include "agent/cli/split_stats.hpp"

#include <algorithm>
#include <cmath>

#include "agent/core/units.hpp"

namespace cutover::cli {

Interval WilsonInterval(std::uint64_t hits, std::uint64_t n, double z) {
  if (n == 0) return {0, 100};
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(hits) / nn;
  const double z2 = z * z;
  const double denominator = 1 + z2 / nn;
  const double centre = (p + z2 / (2 * nn)) / denominator;
  const double spread = z * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / denominator;
  // At 0 and n the bound is exactly 0% or 100%; say so rather than 1e-17.
  const double low = hits == 0 ? 0.0 : std::max(0.0, centre - spread);
  const double high = hits == n ? 1.0 : std::min(1.0, centre + spread);
  return {low * 100, high * 100};
}

std::uint64_t RequestsForHalfWidth(double percent, double half_width) {
  if (half_width <= 0) return 0;
  const double p = std::clamp(percent / 100.0, 0.01, 0.99);
  const double w = half_width / 100.0;
  const double z = 1.959963984540054;
  return static_cast<std::uint64_t>(std::ceil(z * z * p * (1 - p) / (w * w)));
}

std::optional<Expectation> ParseExpectation(const std::string& text, std::string* why) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    *why = "\"" + text + "\" is not SLOT=PERCENT (e.g. green=20)";
    return std::nullopt;
  }
  Expectation e;
  e.slot = text.substr(0, eq);
  const auto p = agent::ParsePercent(text.substr(eq + 1), why);
  if (!p) return std::nullopt;
  e.percent = *p;
  return e;
}

SplitReport JudgeSplit(const std::map<std::string, std::uint64_t>& header_counts,
                       const std::vector<Expectation>& expectations, double tolerance) {
  SplitReport report;
  for (const auto& [value, count] : header_counts) report.answered += count;
  for (const auto& [value, count] : header_counts) {
    SlotShare share{value, count, 0, WilsonInterval(count, report.answered)};
    if (report.answered > 0) share.percent = 100.0 * count / report.answered;
    report.shares.push_back(share);
  }
  std::stable_sort(report.shares.begin(), report.shares.end(),
                   [](const SlotShare& a, const SlotShare& b) { return a.count > b.count; });
  report.passed = report.answered > 0 || expectations.empty();
  for (const auto& e : expectations) {
    ExpectationResult r;
    r.expected = e;
    r.tolerance = tolerance;
    const auto it = header_counts.find(e.slot);
    const std::uint64_t hits = it == header_counts.end() ? 0 : it->second;
    r.observed = report.answered > 0 ? 100.0 * hits / report.answered : 0;
    r.ci95 = WilsonInterval(hits, report.answered);
    // A hair of slack so 20 +/- 2 accepts an observed 22.000000000001.
    r.within_tolerance =
        report.answered > 0 && std::abs(r.observed - e.percent) <= tolerance + 1e-9;
    r.expected_in_ci = e.percent >= r.ci95.low - 1e-9 && e.percent <= r.ci95.high + 1e-9;
    const double half_width = (r.ci95.high - r.ci95.low) / 2;
    // With zero tolerance (all or nothing) no sample size is enough: no advice.
    r.sample_too_small = tolerance > 0 && half_width > tolerance;
    if (r.sample_too_small) r.suggested_requests = RequestsForHalfWidth(e.percent, tolerance);
    report.passed = report.passed && r.within_tolerance;
    report.expectations.push_back(r);
  }
  return report;
}

}  // namespace cutover::cli
