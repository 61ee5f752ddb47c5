#include "agent/cli/units.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>

namespace cutover::cli {

namespace {

void Explain(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
}

bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// Digits with an optional fraction; returns the number of characters used (0: none).
std::size_t ScanDecimal(std::string_view text, std::size_t* fraction_digits) {
  std::size_t i = 0;
  while (i < text.size() && IsDigit(text[i])) ++i;
  if (i == 0) return 0;
  *fraction_digits = 0;
  if (i < text.size() && text[i] == '.') {
    std::size_t j = i + 1;
    while (j < text.size() && IsDigit(text[j])) ++j;
    if (j == i + 1) return 0;  // "5." is not a number
    *fraction_digits = j - i - 1;
    i = j;
  }
  return i;
}

std::optional<double> ParsePercentImpl(std::string_view text, bool sign_required,
                                       std::string* why) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  std::string_view number = text;
  const bool has_sign = !number.empty() && number.back() == '%';
  if (has_sign) number.remove_suffix(1);
  if (sign_required && !has_sign) {
    Explain(why, quoted + " is not a percentage: write it with a % sign, like 1%");
    return std::nullopt;
  }
  std::size_t decimals = 0;
  if (number.empty() || ScanDecimal(number, &decimals) != number.size()) {
    Explain(why, quoted + " is not a percentage (expected 0 to 100, like 20 or 12.5%)");
    return std::nullopt;
  }
  if (decimals > 2) {
    Explain(why, quoted + " has more than two decimals");
    return std::nullopt;
  }
  const double value = std::stod(std::string(number));
  if (value > 100.0) {
    Explain(why, quoted + " is above 100%");
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::optional<double> ParsePercent(std::string_view text, std::string* why) {
  return ParsePercentImpl(text, false, why);
}

std::optional<double> ParsePercentWithSign(std::string_view text, std::string* why) {
  return ParsePercentImpl(text, true, why);
}

std::optional<std::chrono::nanoseconds> ParseDuration(std::string_view text, std::string* why) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  if (text == "0") return std::chrono::nanoseconds{0};
  if (text.empty()) {
    Explain(why, "empty duration (expected e.g. 10s, 5m, 24h, 200ms)");
    return std::nullopt;
  }
  long double total_ns = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::size_t decimals = 0;
    const std::size_t used = ScanDecimal(rest, &decimals);
    if (used == 0) {
      Explain(why, quoted + " is not a duration (expected e.g. 10s, 5m, 24h, 200ms)");
      return std::nullopt;
    }
    const long double amount = std::stold(std::string(rest.substr(0, used)));
    rest.remove_prefix(used);
    std::size_t unit_len = 0;
    while (unit_len < rest.size() && std::isalpha(static_cast<unsigned char>(rest[unit_len])))
      ++unit_len;
    const std::string_view unit = rest.substr(0, unit_len);
    rest.remove_prefix(unit_len);
    long double scale = 0;
    if (unit == "ms")
      scale = 1e6L;
    else if (unit == "s")
      scale = 1e9L;
    else if (unit == "m")
      scale = 60e9L;
    else if (unit == "h")
      scale = 3600e9L;
    else if (unit == "d")
      scale = 86400e9L;
    else {
      Explain(why, quoted +
                       (unit.empty() ? " has no unit"
                                     : " has an unknown unit \"" + std::string(unit) + "\"") +
                       " (units: ms, s, m, h, d; e.g. 10s, 5m, 24h)");
      return std::nullopt;
    }
    total_ns += amount * scale;
  }
  if (total_ns > 1e18L) {
    Explain(why, quoted + " is too long");
    return std::nullopt;
  }
  return std::chrono::nanoseconds{static_cast<std::int64_t>(std::llround(total_ns))};
}

std::string FormatDuration(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  if (d < nanoseconds{0}) return "-" + FormatDuration(-d);
  if (d == nanoseconds{0}) return "0s";
  if (d < seconds{1}) {
    const auto ms = duration_cast<milliseconds>(d).count();
    return ms > 0 ? std::to_string(ms) + "ms" : std::to_string(d.count()) + "ns";
  }
  std::string out;
  const auto h = duration_cast<hours>(d);
  d -= h;
  const auto m = duration_cast<minutes>(d);
  d -= m;
  const auto ms = duration_cast<milliseconds>(d).count();
  if (h.count() > 0) out += std::to_string(h.count()) + "h";
  if (m.count() > 0) out += std::to_string(m.count()) + "m";
  if (ms > 0) {
    char buf[32];
    if (ms % 1000 == 0)
      std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(ms / 1000));
    else
      std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
    out += buf;
  }
  return out;
}

std::string FormatPercent(double percent) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", percent);
  return buf;
}

}  // namespace cutover::cli
