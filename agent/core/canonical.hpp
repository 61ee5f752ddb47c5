// The canonical value rules SQLite and PostgreSQL share (docs/gates.md, "The
// canonical row"): one spelling per instant, one text per number, and what a
// PostgreSQL type is as far as SQLite is concerned. The parity gate hashes
// rows by these rules; the sync converts values by the same ones, so a row
// the sync copied is a row parity finds equal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cutover::agent {

// ---------------------------------------------------------------- instants

// Parses YYYY-MM-DD[ T]HH:MM[:SS[.fraction]][zone], zone being Z, +HH, +HHMM or
// +HH:MM (or -), optionally after a blank. Renders "YYYY-MM-DD HH:MM:SS" with
// the fraction's trailing zeros dropped ("…:07.5"). With `in_utc` (timestamptz),
// the zone is applied and "Z" appended (no zone means UTC already); without, a
// zone is ignored, as PostgreSQL ignores it for timestamp without time zone.
// A bare date gets midnight. nullopt for anything else ("infinity", BC dates,
// a zone that moves the instant out of the years 0000..9999), so a canonical
// spelling always reads back as itself.
std::optional<std::string> CanonicalTimestamp(std::string_view text, bool in_utc);

// A canonical timestamptz ("2024-03-04 05:06:07.5Z") as RFC 3339 spells it
// ("2024-03-04T05:06:07.5Z"): what the sync writes into SQLite, the form
// applications most often keep there. Anything else is returned unchanged.
std::string Rfc3339FromCanonical(std::string canonical);

// ---------------------------------------------------------------- numbers

// The text of a number: an exact integer as an integer ("5" for 5.0, so that
// 5.00 == 5 == 5.0), otherwise the shortest text that reads back as the same
// double ("0.1", "1e-07"), or "nan", "inf", "-inf".
std::string CanonicalNumber(double value);

// The integer a text holds exactly ("-42"), nullopt for anything else
// ("4.0", "1e3", beyond int64).
std::optional<std::int64_t> ExactInteger(std::string_view text);

// ---------------------------------------------------------------- PostgreSQL types

// What a PostgreSQL column's values are to SQLite, by the type's oid (stable
// across versions, pg_type.dat).
enum class PgValueClass {
  kInteger,      // smallint, integer, bigint, oid
  kNumber,       // real, double precision, numeric: SQLite REAL (or INTEGER when exact)
  kBool,         // 1 or 0, as SQLite keeps booleans
  kBytes,        // bytea: a blob
  kPaddedText,   // char(n): text without the blanks PostgreSQL pads with
  kTimestamp,    // timestamp: canonical instant, zone ignored
  kTimestampTz,  // timestamptz: canonical instant in UTC
  kText,         // text, varchar and every other type by its text output
};

PgValueClass ClassifyPgType(std::uint32_t type_oid);

// char(n) text without the trailing blanks PostgreSQL pads it with.
std::string_view WithoutPadding(std::string_view text);

// ---------------------------------------------------------------- names

// Quotes an SQL identifier, as both SQLite and PostgreSQL read it ("a""b"); a
// qualified name "s.t" becomes "s"."t".
std::string QuoteIdentifier(const std::string& name);
std::string QuoteQualifiedName(const std::string& name);

}  // namespace cutover::agent
