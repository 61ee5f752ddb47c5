// What `cutoverctl sample` concludes from what it counted: each slot's share
// with a Wilson score interval, and the verdict against --expect.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cutover::cli {

struct Interval {
  double low = 0;   // percent
  double high = 0;  // percent
};

// Wilson score interval for `hits` successes out of `n`, in percent; z = 1.96
// gives 95%. Chosen over the normal approximation because it stays inside
// 0..100 and behaves at 0% and 100%, which are exactly the interesting splits.
Interval WilsonInterval(std::uint64_t hits, std::uint64_t n, double z = 1.959963984540054);

// Requests needed so the 95% interval's half-width at `percent` is at most
// `half_width` points (normal approximation, good enough for advice).
std::uint64_t RequestsForHalfWidth(double percent, double half_width);

// The header values seen: a response without the header counts as
// kMissing, one with the header more than once as kRepeated.
inline constexpr const char* kMissing = "(missing)";
inline constexpr const char* kRepeated = "(repeated)";

struct Expectation {
  std::string slot;
  double percent = 0;
};

// Parses SLOT=PERCENT ("green=20", "blue=80%"). nullopt with `why` when bad.
std::optional<Expectation> ParseExpectation(const std::string& text, std::string* why);

struct SlotShare {
  std::string value;  // header value, or kMissing / kRepeated
  std::uint64_t count = 0;
  double percent = 0;
  Interval ci95;
};

struct ExpectationResult {
  Expectation expected;
  double tolerance = 0;
  double observed = 0;
  Interval ci95;
  bool within_tolerance = false;  // |observed - expected| <= tolerance: the verdict
  bool expected_in_ci = false;    // informational: is the expectation inside the 95% CI
  bool sample_too_small = false;  // CI half-width > tolerance: the verdict rests on luck
  std::uint64_t suggested_requests = 0;
};

struct SplitReport {
  std::uint64_t answered = 0;     // responses with an HTTP status (the split's denominator)
  std::vector<SlotShare> shares;  // most frequent first
  std::vector<ExpectationResult> expectations;
  bool passed = true;  // every expectation within tolerance, and something answered
};

// Builds the report from header-value counts (answered responses only).
SplitReport JudgeSplit(const std::map<std::string, std::uint64_t>& header_counts,
                       const std::vector<Expectation>& expectations, double tolerance);

}  // namespace cutover::cli
