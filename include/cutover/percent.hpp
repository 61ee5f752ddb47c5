// A share of traffic: the one rule for a percentage that the module's
// `weight=`, cutoverctl's arguments, the plan parser and the agent's API all
// apply. 0 to 100 with at most two decimals, stored as basis points (the
// state file's unit), so "12.34" is exactly 1234 and "12.345" is refused
// rather than rounded.
//
// C++17, constexpr, free of exceptions and allocation: the module uses it
// at configuration time inside nginx.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cutover/state_layout.hpp"

namespace cutover {

enum class PercentProblem : std::uint8_t {
  kNone,
  kEmpty,            // ""
  kNotANumber,       // "abc", "1e3", "5.", "-1"
  kTooManyDecimals,  // "12.345"
  kAboveHundred,     // "100.01"
  kSignMissing,      // "1" where the '%' is required
  kSignForbidden,    // "1%" where it is not allowed
  kNotFinite,        // NaN or infinity (from an API double)
};

// Completes a sentence about the value: "\"12.345\" has more than two decimals".
constexpr const char* Explain(PercentProblem problem) noexcept {
  switch (problem) {
    case PercentProblem::kNone:
      return "is a percentage";
    case PercentProblem::kEmpty:
      return "is empty (expected a percentage from 0 to 100, like 20 or 12.5)";
    case PercentProblem::kNotANumber:
      return "is not a percentage (expected 0 to 100, like 20 or 12.5)";
    case PercentProblem::kTooManyDecimals:
      return "has more than two decimals";
    case PercentProblem::kAboveHundred:
      return "is above 100";
    case PercentProblem::kSignMissing:
      return "is not a percentage: write it with a % sign, like 1%";
    case PercentProblem::kSignForbidden:
      return "must be written without a % sign";
    case PercentProblem::kNotFinite:
      return "must be a number";
  }
  return "is not a percentage";
}

struct PercentBp {
  std::uint32_t bp = 0;  // 0..state::kWeightScale
  PercentProblem problem = PercentProblem::kNone;

  constexpr bool ok() const noexcept { return problem == PercentProblem::kNone; }
};

// Whether a trailing '%' may, must or must not follow the number.
enum class PercentSign : std::uint8_t { kOptional, kRequired, kForbidden };

// "20", "12.5", "12.34", "100", and with the sign rule "12.5%".
constexpr PercentBp ParsePercentText(std::string_view text,
                                     PercentSign sign = PercentSign::kOptional) noexcept {
  PercentBp out;
  if (text.empty()) {
    out.problem = PercentProblem::kEmpty;
    return out;
  }
  const bool has_sign = text.back() == '%';
  if (has_sign) text.remove_suffix(1);
  if (sign == PercentSign::kRequired && !has_sign) {
    out.problem = PercentProblem::kSignMissing;
    return out;
  }
  if (sign == PercentSign::kForbidden && has_sign) {
    out.problem = PercentProblem::kSignForbidden;
    return out;
  }
  std::uint32_t whole = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    whole = whole * 10 + static_cast<std::uint32_t>(text[i] - '0');
    if (whole > 100) {
      // Keep scanning so "1000" is "above 100" but "1000x" is not a number.
      for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      }
      out.problem = PercentProblem::kAboveHundred;
      break;
    }
  }
  if (i == 0) {
    out.problem = PercentProblem::kNotANumber;
    return out;
  }
  std::uint32_t fraction = 0;
  std::size_t fraction_digits = 0;
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++fraction_digits)
      if (fraction_digits < 2) fraction = fraction * 10 + static_cast<std::uint32_t>(text[i] - '0');
    if (fraction_digits == 0) {
      out.problem = PercentProblem::kNotANumber;
      return out;
    }
  }
  if (i != text.size()) {
    out.problem = PercentProblem::kNotANumber;
    return out;
  }
  if (out.problem != PercentProblem::kNone) return out;
  if (fraction_digits > 2) {
    out.problem = PercentProblem::kTooManyDecimals;
    return out;
  }
  if (fraction_digits == 1) fraction *= 10;
  const std::uint32_t bp = whole * 100 + fraction;
  if (bp > state::kWeightScale) {
    out.problem = PercentProblem::kAboveHundred;
    return out;
  }
  out.bp = bp;
  return out;
}

// A percentage that arrived as a double (the API, JSON): the same rule. A
// value is accepted when it is within 1e-8 hundredths of a whole number of
// hundredths: every two-decimal literal from 0 to 100 is (a double holds
// them to ~1e-12), while 12.345, 10.0000001 and 1e-9 are not.
constexpr PercentBp PercentFromDouble(double percent) noexcept {
  PercentBp out;
  if (!(percent == percent) || percent > 1e300 || percent < -1e300) {
    out.problem = PercentProblem::kNotFinite;
    return out;
  }
  if (percent < 0.0) {
    out.problem = PercentProblem::kNotANumber;
    return out;
  }
  if (percent > 100.0) {
    out.problem = PercentProblem::kAboveHundred;
    return out;
  }
  const double hundredths = percent * 100.0;
  const auto nearest = static_cast<std::uint32_t>(hundredths + 0.5);
  const double off = hundredths - static_cast<double>(nearest);
  if (off > 1e-8 || off < -1e-8) {
    out.problem = PercentProblem::kTooManyDecimals;
    return out;
  }
  out.bp = nearest;
  return out;
}

constexpr double BpToPercent(std::uint32_t bp) noexcept { return static_cast<double>(bp) / 100.0; }

// The longest text FormatBp writes ("100.00"), without a terminating NUL.
inline constexpr std::size_t kPercentTextMax = 6;

enum class PercentStyle : std::uint8_t {
  kFixed,    // always two decimals: "12.50", "100.00" (tables, JSON, messages)
  kShortest  // no trailing zeros: "12.5", "100" ($cutover_weight)
};

// Writes `bp` (clamped to 100%) as a percentage without the sign into `out`
// (room for kPercentTextMax characters); returns how many were written.
constexpr std::size_t FormatBp(std::uint32_t bp, char* out,
                               PercentStyle style = PercentStyle::kFixed) noexcept {
  if (bp > state::kWeightScale) bp = state::kWeightScale;
  const std::uint32_t whole = bp / 100;
  const std::uint32_t fraction = bp % 100;
  std::size_t n = 0;
  if (whole >= 100) out[n++] = '1';
  if (whole >= 10) out[n++] = static_cast<char>('0' + (whole / 10) % 10);
  out[n++] = static_cast<char>('0' + whole % 10);
  if (style == PercentStyle::kShortest && fraction == 0) return n;
  out[n++] = '.';
  out[n++] = static_cast<char>('0' + fraction / 10);
  if (style == PercentStyle::kShortest && fraction % 10 == 0) return n;
  out[n++] = static_cast<char>('0' + fraction % 10);
  return n;
}

}  // namespace cutover
