// The units operators write and read, one grammar for the agent's flags, the
// CLI's arguments and plan files: percentages ("20", "12.5", "1%", by the
// contract's rule in cutover/percent.hpp) and durations ("250us", "200ms",
// "10s", "5m", "24h", "2d", "1h30m"). Also the conversions between the API's
// types (percent, protobuf Duration and Timestamp) and the state file's
// (basis points).
#pragma once

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent/core/clock.hpp"
#include "cutover/percent.hpp"
#include "cutover/state_layout.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {

// ---------------------------------------------------------------- text

// A percentage 0..100 with at most two decimals and an optional trailing
// '%'. nullopt, with the reason in `why` ("\"12.345\" has more than two
// decimals"), when the text is not one.
std::optional<double> ParsePercent(std::string_view text, std::string* why = nullptr);
// The same with the '%' required: for fields where a bare number would be
// ambiguous between a fraction and a percentage (max_error_rate).
std::optional<double> ParsePercentWithSign(std::string_view text, std::string* why = nullptr);

// The longest duration any field accepts: longer is a typo, not a plan.
inline constexpr Nanos kMaxDuration = std::chrono::hours(24 * 365 * 10);

// A non-negative duration: one or more <number><unit> parts with units ns,
// us, ms, s, m, h, d ("1h30m", "1.5s", "250us"); a bare "0" is zero. At most
// kMaxDuration. nullopt, with the reason in `why`, when the text is not one.
std::optional<Nanos> ParseDuration(std::string_view text, std::string* why = nullptr);

// For people, in the grammar ParseDuration reads back: to a tenth of the
// largest unit below a second ("250us", "12.3ms", "200ms"), above it in
// d/h/m/s with tenths of a second ("1h30m", "4m12s", "1.5s", "2d").
std::string FormatDuration(Nanos d);
// A measured duration in seconds (a replication lag), as FormatDuration.
std::string FormatSeconds(double seconds);
// "20.00%": a percentage (0..100).
std::string FormatPercent(double percent);
// "1.25%": a fraction (0..1) as a percentage, for rates.
std::string FormatFraction(double fraction);
// "25.00%": green's weight in basis points.
std::string FormatBpPercent(std::uint32_t bp);

// ---------------------------------------------------------------- weights

// A validated percentage (0..100, two decimals at most) to basis points.
inline std::uint32_t PercentToBp(double percent) { return PercentFromDouble(percent).bp; }
using cutover::BpToPercent;

// Green's weight in basis points for `slot` having `slot_bp` of the traffic:
// the file always holds green's share.
inline std::uint32_t GreenBpFor(state::Slot slot, std::uint32_t slot_bp) {
  return slot == state::Slot::kGreen ? slot_bp : state::kWeightScale - slot_bp;
}
inline std::uint32_t SlotBp(state::Slot slot, std::uint32_t green_bp) {
  return slot == state::Slot::kGreen ? green_bp : state::kWeightScale - green_bp;
}

// The slot that holds the traffic when no rollout runs: the majority (blue on a tie).
inline state::Slot LiveSlot(std::uint32_t green_bp) {
  return green_bp * 2 > state::kWeightScale ? state::Slot::kGreen : state::Slot::kBlue;
}

// ---------------------------------------------------------------- proto

inline v1::Slot ToProto(state::Slot s) {
  return s == state::Slot::kGreen ? v1::SLOT_GREEN : v1::SLOT_BLUE;
}
inline state::Slot FromProto(v1::Slot s) {
  return s == v1::SLOT_GREEN ? state::Slot::kGreen : state::Slot::kBlue;
}

inline v1::PeerState ToProto(state::PeerAdmin a) {
  switch (a) {
    case state::PeerAdmin::kDrain:
      return v1::PEER_STATE_DRAIN;
    case state::PeerAdmin::kDown:
      return v1::PEER_STATE_DOWN;
    default:
      return v1::PEER_STATE_UP;
  }
}
// nullopt for PEER_STATE_UNSPECIFIED (and values the proto does not know).
inline std::optional<state::PeerAdmin> FromProto(v1::PeerState s) {
  switch (s) {
    case v1::PEER_STATE_UP:
      return state::PeerAdmin::kUp;
    case v1::PEER_STATE_DRAIN:
      return state::PeerAdmin::kDrain;
    case v1::PEER_STATE_DOWN:
      return state::PeerAdmin::kDown;
    default:
      return std::nullopt;
  }
}

inline Nanos FromProto(const google::protobuf::Duration& d) {
  return std::chrono::seconds(d.seconds()) + Nanos(d.nanos());
}
inline google::protobuf::Duration ToProtoDuration(Nanos d) {
  google::protobuf::Duration out;
  out.set_seconds(std::chrono::duration_cast<std::chrono::seconds>(d).count());
  out.set_nanos(static_cast<std::int32_t>((d % std::chrono::seconds(1)).count()));
  return out;
}
inline WallTime FromProto(const google::protobuf::Timestamp& t) {
  return WallTime(std::chrono::duration_cast<WallClock::duration>(
      std::chrono::seconds(t.seconds()) + Nanos(t.nanos())));
}
inline google::protobuf::Timestamp ToProtoTimestamp(WallTime t) {
  const auto ns = std::chrono::duration_cast<Nanos>(t.time_since_epoch());
  google::protobuf::Timestamp out;
  out.set_seconds(std::chrono::duration_cast<std::chrono::seconds>(ns).count());
  out.set_nanos(static_cast<std::int32_t>((ns % std::chrono::seconds(1)).count()));
  return out;
}

inline double ToMillis(Nanos d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace cutover::agent
