// The units operators write: percentages ("20", "20.5", "1%") and durations
// ("10s", "5m", "24h", "200ms", "1h30m"). Parsed from the text as written, so
// "12.345" is refused rather than silently rounded.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace cutover::cli {

// A percentage 0..100 with at most two decimals; an optional trailing '%'.
// Returns nullopt (and an explanation in `why`) when the text is not one.
std::optional<double> ParsePercent(std::string_view text, std::string* why = nullptr);

// Same rules, but the '%' is required: for fields where a bare number would be
// ambiguous between a fraction and a percentage (max_error_rate).
std::optional<double> ParsePercentWithSign(std::string_view text, std::string* why = nullptr);

// A non-negative duration: one or more <number><unit> parts, units ms, s, m,
// h, d ("1h30m", "1.5s"); a bare "0" is zero. Nanosecond precision.
std::optional<std::chrono::nanoseconds> ParseDuration(std::string_view text,
                                                      std::string* why = nullptr);

// "1h30m", "5m", "10s", "200ms", "0s": for people (sub-second parts rounded to 0.1s).
std::string FormatDuration(std::chrono::nanoseconds d);
// "20.00%"
std::string FormatPercent(double percent);

}  // namespace cutover::cli
