// Input validation, and the one set of limits it enforces: the agent's API
// and cutoverctl (plan files, flags) check the same rules with the same
// code, so a plan or an argument one accepts the other accepts too. Every
// error names the field it is about, in the request's own terms
// ("plan.steps[2].percent: ..."), so a caller can fix the input without
// reading the agent's source.
#pragma once

#include <google/protobuf/repeated_ptr_field.h>
#include <google/protobuf/timestamp.pb.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cutover/v1/cutover.pb.h"

namespace cutover::agent {

class InvalidArgument : public std::invalid_argument {
 public:
  InvalidArgument(const std::string& field, const std::string& problem)
      : std::invalid_argument(field.empty() ? problem : field + ": " + problem),
        field_(field),
        problem_(problem) {}
  const std::string& field() const { return field_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string field_;
  std::string problem_;
};

// ---------------------------------------------------------------- limits
// Free text (a reason, a query, a DSN) is bounded so that a request cannot
// make the agent hold, journal and re-read megabytes.
inline constexpr std::size_t kMaxReasonBytes = 1024;
inline constexpr int kMaxSteps = 100;
inline constexpr int kMaxGates = 32;
inline constexpr std::size_t kMaxDsnBytes = 4096;
inline constexpr std::size_t kMaxQueryBytes = 16384;
inline constexpr int kMaxParityTables = 1000;
// A schema-qualified name of two PostgreSQL identifiers (63 bytes each).
inline constexpr std::size_t kMaxTableNameBytes = 127;
// Consecutive failing windows a plan may ask for before acting (and
// consecutive failed queries a metric check may allow).
inline constexpr std::uint32_t kMaxFailureThreshold = 1000;
// A gate's timeout when its spec leaves it unset, and the range a spec may
// set: a gate holds the gate worker (and a Preflight call) that long.
inline constexpr std::chrono::milliseconds kDefaultGateTimeout{5000};
inline constexpr std::chrono::milliseconds kMinGateTimeout{1};
inline constexpr std::chrono::milliseconds kMaxGateTimeout = std::chrono::minutes(10);
// The largest replication_lag.max a gate may allow.
inline constexpr std::chrono::milliseconds kMaxReplicationLag = std::chrono::hours(24);
// GetHistory's limit when none is given, and the most it may ask for.
inline constexpr std::uint32_t kDefaultHistoryLimit = 100;
inline constexpr std::uint32_t kMaxHistoryLimit = 10000;

// analysis.compare.alpha: above 0, at most this (the CLI's plan parser says 0.5).
inline constexpr double kMaxCompareAlpha = 0.5;
// analysis.metrics: how many, and how big.
inline constexpr std::size_t kMaxMetricChecks = 16;
inline constexpr std::size_t kMaxMetricNameLength = 64;
inline constexpr std::size_t kMaxMetricQueryLength = 4096;
inline constexpr std::chrono::milliseconds kMinMetricInterval{100};

// A share of traffic: 0..100 with at most two decimals (the state file holds
// basis points). Throws InvalidArgument naming `field`.
void ValidatePercent(const std::string& field, double percent);

// A cutover name as the state file can hold it.
void ValidateCutoverName(const std::string& field, const std::string& name);

// A reason given with an action: at most kMaxReasonBytes.
void ValidateReason(const std::string& field, const std::string& reason);

// A point in time the agent may compute with: from 1970 to 2200 (a clock
// reading or a journaled time; the latest plus any duration a plan may
// hold fits the nanosecond clock, which ends in 2262).
inline constexpr std::int64_t kMaxTimestampSeconds = 7'258'118'400;  // 2200-01-01
void ValidateTimestamp(const std::string& field, const google::protobuf::Timestamp& t);

// A release name (StartRolloutRequest.release): optional; at most
// kMaxReleaseSize printable ASCII characters, no blank at either end, so it
// fits a terminal column and a Prometheus label.
inline constexpr std::size_t kMaxReleaseSize = 64;
void ValidateRelease(const std::string& field, const std::string& release);

// A peer's address as a slot's upstream lists it (non-empty, printable).
void ValidatePeerAddress(const std::string& field, const std::string& address);

// Webhooks a plan may name in notify:.
inline constexpr std::size_t kMaxNotifyUrls = 8;

// Steps, analysis, breach action and notify URLs of a plan (gates:
// ValidateGates). Throws InvalidArgument naming the first bad field, prefixed
// with `prefix` ("plan"; "" for none).
void ValidatePlan(const v1::Plan& plan, const std::string& prefix = "plan");
// A plan's notify: at most kMaxNotifyUrls http(s) URLs (part of ValidatePlan).
void ValidateNotify(const v1::Plan& plan, const std::string& prefix = "plan");

// A plan's gates, each by kind (a DSN libpq can read, table names, a
// timeout within kMinGateTimeout..kMaxGateTimeout...), fields named
// "PREFIX[i].kind.field" ("gates[1].sql.query: must not be empty").
void ValidateGates(const google::protobuf::RepeatedPtrField<v1::Gate>& gates,
                   const std::string& prefix = "gates");
void ValidateGate(const v1::Gate& gate, const std::string& field);

// A validated duration in milliseconds (gate timeouts and maximum lags).
std::chrono::milliseconds ToMilliseconds(const google::protobuf::Duration& d);
// A validated gate's timeout: its own, else kDefaultGateTimeout.
std::chrono::milliseconds GateTimeout(const v1::Gate& gate);

}  // namespace cutover::agent
