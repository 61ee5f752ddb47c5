// Conversions between the API's units (percent, protobuf Duration and
// Timestamp) and the state file's (basis points) and the agent's own.
#pragma once

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent/core/clock.hpp"
#include "cutover/state_layout.hpp"
#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {

// Percent (0..100, at most two decimals, already validated) to basis points.
inline std::uint32_t PercentToBp(double percent) {
  return static_cast<std::uint32_t>(std::llround(percent * 100.0));
}
inline double BpToPercent(std::uint32_t bp) { return static_cast<double>(bp) / 100.0; }

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

inline v1::Slot ToProto(state::Slot s) {
  return s == state::Slot::kGreen ? v1::SLOT_GREEN : v1::SLOT_BLUE;
}
inline state::Slot FromProto(v1::Slot s) {
  return s == v1::SLOT_GREEN ? state::Slot::kGreen : state::Slot::kBlue;
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

// "100ms", "1.5s", "2m", "1h", "250us": a duration for flags and plan files;
// nullopt when the text is not one.
std::optional<Nanos> ParseDuration(std::string_view text);
// "1.5s", "200ms": for messages and logs.
std::string FormatDuration(Nanos d);
// "1.25%": a fraction as a percentage for messages.
std::string FormatPercent(double fraction);

}  // namespace cutover::agent
