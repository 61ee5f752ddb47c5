#include "agent/core/units.hpp"

#include <cstdio>

namespace cutover::agent {

namespace {

void Explain(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
}

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::optional<double> ParsePercentAs(std::string_view text, PercentSign sign, std::string* why) {
  const PercentBp parsed = ParsePercentText(text, sign);
  if (!parsed.ok()) {
    Explain(why, Quoted(text) + " " + Explain(parsed.problem));
    return std::nullopt;
  }
  return BpToPercent(parsed.bp);
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

struct UnitScale {
  std::string_view unit;
  long double ns;
};
constexpr UnitScale kUnits[] = {{"ns", 1.0L}, {"us", 1e3L},   {"ms", 1e6L},   {"s", 1e9L},
                                {"m", 60e9L}, {"h", 3600e9L}, {"d", 86400e9L}};

// `ns` in units of `unit` ns, to a tenth: "250", "12.3".
std::string Tenths(std::int64_t ns, std::int64_t unit) {
  const std::int64_t tenths = (ns * 10 + unit / 2) / unit;
  return std::to_string(tenths / 10) + (tenths % 10 ? "." + std::to_string(tenths % 10) : "");
}

}  // namespace

std::optional<double> ParsePercent(std::string_view text, std::string* why) {
  return ParsePercentAs(text, PercentSign::kOptional, why);
}

std::optional<double> ParsePercentWithSign(std::string_view text, std::string* why) {
  return ParsePercentAs(text, PercentSign::kRequired, why);
}

std::optional<Nanos> ParseDuration(std::string_view text, std::string* why) {
  const std::string examples = " (expected e.g. 10s, 5m, 24h, 200ms)";
  if (text == "0") return Nanos{0};
  if (text.empty()) {
    Explain(why, "empty duration" + examples);
    return std::nullopt;
  }
  const long double limit = static_cast<long double>(kMaxDuration.count());
  long double total_ns = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    // <digits>[.<digits>], read without a locale or an exception.
    long double amount = 0;
    std::size_t i = 0;
    for (; i < rest.size() && IsDigit(rest[i]); ++i) {
      amount = amount * 10 + (rest[i] - '0');
      if (amount > limit) break;
    }
    if (i == 0) {
      Explain(why, Quoted(text) + " is not a duration" + examples);
      return std::nullopt;
    }
    if (i < rest.size() && rest[i] == '.') {
      const std::size_t fraction_start = ++i;
      long double scale = 0.1L;
      for (; i < rest.size() && IsDigit(rest[i]); ++i, scale /= 10)
        amount += (rest[i] - '0') * scale;
      if (i == fraction_start) {
        Explain(why, Quoted(text) + " is not a duration" + examples);
        return std::nullopt;
      }
    }
    while (i < rest.size() && IsDigit(rest[i])) ++i;  // digits past the limit
    rest.remove_prefix(i);
    std::size_t unit_len = 0;
    while (unit_len < rest.size() && rest[unit_len] >= 'a' && rest[unit_len] <= 'z') ++unit_len;
    const std::string_view unit = rest.substr(0, unit_len);
    rest.remove_prefix(unit_len);
    const UnitScale* found = nullptr;
    for (const auto& u : kUnits)
      if (u.unit == unit) found = &u;
    if (found == nullptr) {
      Explain(why, Quoted(text) +
                       (unit.empty() ? " has no unit"
                                     : " has an unknown unit \"" + std::string(unit) + "\"") +
                       " (units: ns, us, ms, s, m, h, d; e.g. 10s, 5m, 24h)");
      return std::nullopt;
    }
    total_ns += amount * found->ns;
    if (total_ns > limit) {
      Explain(why, Quoted(text) + " is too long (at most " + FormatDuration(kMaxDuration) + ")");
      return std::nullopt;
    }
  }
  return Nanos{static_cast<std::int64_t>(total_ns + 0.5L)};
}

std::string FormatDuration(Nanos d) {
  using namespace std::chrono;
  if (d < Nanos{0}) return "-" + FormatDuration(-d);
  if (d == Nanos{0}) return "0s";
  if (d < microseconds{1}) return std::to_string(d.count()) + "ns";
  if (d < milliseconds{1}) return Tenths(d.count(), 1'000) + "us";
  if (d < seconds{1}) return Tenths(d.count(), 1'000'000) + "ms";
  // Whole tenths of a second, rounded, so 1.96s reads 2s and not 1m60s.
  std::int64_t tenths = (d.count() + 50'000'000) / 100'000'000;
  std::string out;
  const std::int64_t days = tenths / (864'000);
  if (days >= 2 && tenths % 36'000 == 0) {  // "2d", "3d12h": plans speak in days
    out += std::to_string(days) + "d";
    tenths -= days * 864'000;
  }
  const std::int64_t h = tenths / 36'000;
  tenths -= h * 36'000;
  const std::int64_t m = tenths / 600;
  tenths -= m * 600;
  if (h > 0) out += std::to_string(h) + "h";
  if (m > 0) out += std::to_string(m) + "m";
  if (tenths > 0) {
    out += std::to_string(tenths / 10);
    if (tenths % 10 != 0) out += "." + std::to_string(tenths % 10);
    out += "s";
  }
  return out;
}

std::string FormatSeconds(double seconds) {
  return FormatDuration(
      Nanos(static_cast<std::int64_t>(seconds * 1e9 + (seconds < 0 ? -0.5 : 0.5))));
}

std::string FormatPercent(double percent) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", percent);
  return buf;
}

std::string FormatFraction(double fraction) { return FormatPercent(fraction * 100.0); }

std::string FormatBpPercent(std::uint32_t bp) {
  char buf[kPercentTextMax + 1];
  const std::size_t n = FormatBp(bp, buf);
  buf[n] = '%';
  return std::string(buf, n + 1);
}

}  // namespace cutover::agent
