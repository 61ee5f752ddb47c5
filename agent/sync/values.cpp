#include "agent/sync/values.hpp"

#include <cstdlib>

namespace cutover::sync {

namespace {

using agent::PgValueClass;

constexpr char kHex[] = "0123456789abcdef";

std::string HexBytea(std::string_view bytes) {
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// bytea's hex output ("\x00ff"); nullopt when the text is not that.
std::optional<std::string> UnhexBytea(std::string_view text) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0)
    return std::nullopt;
  std::string out;
  out.reserve((text.size() - 2) / 2);
  for (std::size_t i = 2; i < text.size(); i += 2) {
    const int high = HexDigit(text[i]), low = HexDigit(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
  }
  return out;
}

}  // namespace

std::optional<std::string> ToPostgresText(const Value& value, PgValueClass target) {
  switch (value.type) {
    case Value::Type::kNull:
      return std::nullopt;
    case Value::Type::kInteger:
      if (target == PgValueClass::kBool) return value.integer != 0 ? "t" : "f";
      return std::to_string(value.integer);
    case Value::Type::kReal: {
      const std::string text = agent::CanonicalNumber(value.real);
      // PostgreSQL spells the specials its own way (float8in takes these).
      if (text == "nan") return "NaN";
      if (text == "inf") return "Infinity";
      if (text == "-inf") return "-Infinity";
      if (target == PgValueClass::kBool) return value.real != 0 ? "t" : "f";
      return text;
    }
    case Value::Type::kText:
    case Value::Type::kBlob:
      if (target == PgValueClass::kBytes) return HexBytea(value.bytes);
      return value.bytes;
  }
  return std::nullopt;
}

Value FromPostgresText(std::string_view text, PgValueClass source) {
  switch (source) {
    case PgValueClass::kInteger:
    case PgValueClass::kNumber:
      if (const auto integer = agent::ExactInteger(text)) return Value::Integer(*integer);
      if (source == PgValueClass::kNumber)
        return Value::Real(std::strtod(std::string(text).c_str(), nullptr));
      return Value::Text(std::string(text));  // beyond int64: kept exactly, as text
    case PgValueClass::kBool:
      return Value::Integer(text == "t" ? 1 : 0);
    case PgValueClass::kBytes:
      if (auto bytes = UnhexBytea(text)) return Value::Blob(std::move(*bytes));
      return Value::Text(std::string(text));
    case PgValueClass::kPaddedText:
      return Value::Text(std::string(agent::WithoutPadding(text)));
    case PgValueClass::kTimestamp:
      if (auto canonical = agent::CanonicalTimestamp(text, false))
        return Value::Text(std::move(*canonical));
      return Value::Text(std::string(text));  // infinity and the like, as PostgreSQL says them
    case PgValueClass::kTimestampTz:
      if (auto canonical = agent::CanonicalTimestamp(text, true))
        return Value::Text(agent::Rfc3339FromCanonical(std::move(*canonical)));
      return Value::Text(std::string(text));
    case PgValueClass::kText:
      return Value::Text(std::string(text));
  }
  return Value::Text(std::string(text));
}

std::string Describe(const Value& value) {
  switch (value.type) {
    case Value::Type::kNull:
      return "NULL";
    case Value::Type::kInteger:
      return std::to_string(value.integer);
    case Value::Type::kReal:
      return agent::CanonicalNumber(value.real);
    case Value::Type::kText: {
      std::string quoted = "'";
      for (char c : value.bytes) {
        if (c == '\'') quoted += '\'';
        quoted += c;
      }
      return quoted + "'";
    }
    case Value::Type::kBlob: {
      std::string hex = "x'";
      for (unsigned char c : value.bytes) {
        hex += kHex[c >> 4];
        hex += kHex[c & 0xf];
      }
      return hex + "'";
    }
  }
  return "?";
}

}  // namespace cutover::sync
