// One field of a row on its way between SQLite and PostgreSQL, and the
// conversions both ways by the canonical rules (agent/core/canonical.hpp):
// what parity compares equal is what the sync writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent/core/canonical.hpp"

namespace cutover::sync {

// A value as SQLite stores it: one of its five storage classes.
struct Value {
  enum class Type { kNull, kInteger, kReal, kText, kBlob };
  Type type = Type::kNull;
  std::int64_t integer = 0;
  double real = 0;
  std::string bytes;  // text (UTF-8) or blob

  static Value Null() { return {}; }
  static Value Integer(std::int64_t v) { return {Type::kInteger, v, 0, {}}; }
  static Value Real(double v) { return {Type::kReal, 0, v, {}}; }
  static Value Text(std::string v) { return {Type::kText, 0, 0, std::move(v)}; }
  static Value Blob(std::string v) { return {Type::kBlob, 0, 0, std::move(v)}; }
  bool operator==(const Value&) const = default;
};

// For PostgreSQL, in text format, for a column of `target` class; nullopt for
// NULL. Integers and reals by the canonical number rule (5.0 is "5"), 0/1 as
// booleans "f"/"t", blobs and text for bytea as "\x" hex; anything else as
// its bytes, for PostgreSQL's own input function to judge.
std::optional<std::string> ToPostgresText(const Value& value, agent::PgValueClass target);

// From PostgreSQL's text output of a value of `source` class (bytea in hex,
// DateStyle ISO, TimeZone UTC): integers and exact numbers as INTEGER, other
// numbers as REAL, booleans as 1/0, bytea as a blob, char(n) without its
// padding, timestamps in the canonical spelling (timestamptz as RFC 3339 in
// UTC), everything else as text.
Value FromPostgresText(std::string_view text, agent::PgValueClass source);

// "42", "'eu'", "x'00ff'", "NULL", "1.5": a value as a person reads it (a
// conflict's key in the journal).
std::string Describe(const Value& value);

}  // namespace cutover::sync
