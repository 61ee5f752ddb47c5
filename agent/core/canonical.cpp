#include "agent/core/canonical.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>

namespace cutover::agent {

namespace {

// Reads exactly `digits` digits at `pos`.
bool Number(std::string_view text, std::size_t& pos, int digits, int& value) {
  if (pos + static_cast<std::size_t>(digits) > text.size()) return false;
  value = 0;
  for (int i = 0; i < digits; ++i) {
    const char c = text[pos + static_cast<std::size_t>(i)];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    value = value * 10 + (c - '0');
  }
  pos += static_cast<std::size_t>(digits);
  return true;
}

bool Expect(std::string_view text, std::size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant).
std::int64_t DaysFromCivil(std::int64_t y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(std::int64_t z, std::int64_t& y, int& m, int& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = yoe + era * 400 + (m <= 2);
}

}  // namespace

std::optional<std::string> CanonicalTimestamp(std::string_view text, bool in_utc) {
  std::size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!Number(text, pos, 4, year) || !Expect(text, pos, '-') || !Number(text, pos, 2, month) ||
      !Expect(text, pos, '-') || !Number(text, pos, 2, day))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  std::string fraction;
  int offset_minutes = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != ' ') return std::nullopt;
    ++pos;
    if (!Number(text, pos, 2, hour) || !Expect(text, pos, ':') || !Number(text, pos, 2, minute))
      return std::nullopt;
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!Number(text, pos, 2, second)) return std::nullopt;
      if (pos < text.size() && text[pos] == '.') {
        ++pos;
        while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])))
          fraction += text[pos++];
        if (fraction.empty()) return std::nullopt;
      }
    }
    if (hour > 24 || minute > 59 || second > 60) return std::nullopt;
    if (pos < text.size() && text[pos] == ' ') ++pos;
    if (pos < text.size()) {
      if (text[pos] == 'Z' || text[pos] == 'z') {
        ++pos;
      } else if (text[pos] == '+' || text[pos] == '-') {
        const int sign = text[pos++] == '-' ? -1 : 1;
        int zone_hours = 0, zone_minutes = 0;
        if (!Number(text, pos, 2, zone_hours)) return std::nullopt;
        if (pos < text.size() && text[pos] == ':') ++pos;
        if (pos < text.size() && !Number(text, pos, 2, zone_minutes)) return std::nullopt;
        offset_minutes = sign * (zone_hours * 60 + zone_minutes);
      }
      if (pos != text.size()) return std::nullopt;
    }
  }
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();

  std::int64_t y = year;
  if (in_utc && offset_minutes != 0) {
    std::int64_t minutes = DaysFromCivil(year, month, day) * 1440 + hour * 60 + minute;
    minutes -= offset_minutes;
    std::int64_t days = minutes >= 0 ? minutes / 1440 : (minutes - 1439) / 1440;
    const std::int64_t in_day = minutes - days * 1440;
    CivilFromDays(days, y, month, day);
    hour = static_cast<int>(in_day / 60);
    minute = static_cast<int>(in_day % 60);
    // A zone can carry an instant out of the years a spelling has four
    // digits for ("0000-01-01 00:30+01" is in the year -1): no canonical
    // spelling, like a BC date.
    if (y < 0 || y > 9999) return std::nullopt;
  }
  char rendered[96];
  std::snprintf(rendered, sizeof rendered, "%04lld-%02d-%02d %02d:%02d:%02d",
                static_cast<long long>(y), month, day, hour, minute, second);
  std::string canonical = rendered;
  if (!fraction.empty()) canonical += "." + fraction;
  if (in_utc) canonical += "Z";
  return canonical;
}

std::string Rfc3339FromCanonical(std::string canonical) {
  // "YYYY-MM-DD HH:MM:SS...Z": the blank is at 10 in every canonical timestamptz.
  if (canonical.size() > 19 && canonical[10] == ' ' && canonical.back() == 'Z') canonical[10] = 'T';
  return canonical;
}

std::string CanonicalNumber(double value) {
  // 2^63 is exact as a double; anything integral below it fits an int64.
  constexpr double kTwo63 = 9223372036854775808.0;
  char text[40];
  if (std::isfinite(value) && value == std::trunc(value) && value >= -kTwo63 && value < kTwo63) {
    const auto end = std::to_chars(text, text + sizeof text, static_cast<std::int64_t>(value)).ptr;
    return std::string(text, end);
  }
  if (std::isnan(value)) return "nan";
  const auto end = std::to_chars(text, text + sizeof text, value).ptr;
  return std::string(text, end);
}

std::optional<std::int64_t> ExactInteger(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

PgValueClass ClassifyPgType(std::uint32_t type_oid) {
  // Type oids from pg_type.dat; stable across PostgreSQL versions.
  switch (type_oid) {
    case 20:  // int8
    case 21:  // int2
    case 23:  // int4
    case 26:  // oid
      return PgValueClass::kInteger;
    case 700:   // float4
    case 701:   // float8
    case 1700:  // numeric
      return PgValueClass::kNumber;
    case 16:  // bool
      return PgValueClass::kBool;
    case 17:  // bytea
      return PgValueClass::kBytes;
    case 1042:  // bpchar
      return PgValueClass::kPaddedText;
    case 1114:  // timestamp
      return PgValueClass::kTimestamp;
    case 1184:  // timestamptz
      return PgValueClass::kTimestampTz;
    default:
      return PgValueClass::kText;
  }
}

std::string_view WithoutPadding(std::string_view text) {
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

std::string QuoteIdentifier(const std::string& name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string QuoteQualifiedName(const std::string& name) {
  const auto dot = name.find('.');
  if (dot == std::string::npos) return QuoteIdentifier(name);
  return QuoteIdentifier(name.substr(0, dot)) + "." + QuoteIdentifier(name.substr(dot + 1));
}

}  // namespace cutover::agent
