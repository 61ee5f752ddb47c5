#include "agent/core/units.hpp"

#include <charconv>
#include <cstdio>

namespace cutover::agent {

std::optional<Nanos> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::size_t unit_at = 0;
  while (unit_at < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[unit_at])) || text[unit_at] == '.'))
    ++unit_at;
  if (unit_at == 0) return std::nullopt;
  const std::string number(text.substr(0, unit_at));
  const std::string_view unit = text.substr(unit_at);
  char* end = nullptr;
  const double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(value)) return std::nullopt;
  double scale = 0;
  if (unit == "ns")
    scale = 1;
  else if (unit == "us")
    scale = 1e3;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "s")
    scale = 1e9;
  else if (unit == "m")
    scale = 60e9;
  else if (unit == "h")
    scale = 3600e9;
  else
    return std::nullopt;
  const double ns = value * scale;
  if (ns > 1e18) return std::nullopt;
  return Nanos(static_cast<std::int64_t>(std::llround(ns)));
}

std::string FormatDuration(Nanos d) {
  char buf[64];
  const double ms = ToMillis(d);
  if (ms < 1000.0) {
    std::snprintf(buf, sizeof buf, "%gms", ms);
  } else {
    std::snprintf(buf, sizeof buf, "%gs", ms / 1000.0);
  }
  return buf;
}

std::string FormatPercent(double fraction) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f%%", fraction * 100.0);
  return buf;
}

}  // namespace cutover::agent
