// One spelling per instant, so that a timestamp SQLite keeps as text
// ("2024-03-04T05:06:07Z", "2024-03-04 07:06:07.50+02:00") and the same
// timestamp PostgreSQL prints ("2024-03-04 05:06:07+00") compare equal.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cutover::gates {

// Parses YYYY-MM-DD[ T]HH:MM[:SS[.fraction]][zone], zone being Z, +HH, +HHMM or
// +HH:MM (or -), optionally after a blank. Renders "YYYY-MM-DD HH:MM:SS" with
// the fraction's trailing zeros dropped ("…:07.5"). With `in_utc` (timestamptz),
// the zone is applied and "Z" appended (no zone means UTC already); without, a
// zone is ignored, as PostgreSQL ignores it for timestamp without time zone.
// A bare date gets midnight. nullopt for anything else ("infinity", BC dates,
// a zone that moves the instant out of the years 0000..9999), so a canonical
// spelling always reads back as itself.
std::optional<std::string> CanonicalTimestamp(std::string_view text, bool in_utc);

}  // namespace cutover::gates
