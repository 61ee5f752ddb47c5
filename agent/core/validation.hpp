// Input validation for the API. Every error names the field it is about, in
// the request's own terms ("plan.steps[2].percent: ..."), so a caller can
// fix the input without reading the agent's source.
#pragma once

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
      : std::invalid_argument(field + ": " + problem) {}
};

// Consecutive failing windows a plan may ask for before acting (and
// consecutive failed queries a metric check may allow).
inline constexpr std::uint32_t kMaxFailureThreshold = 1000;

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

// A release name (StartRolloutRequest.release): optional; at most
// kMaxReleaseSize printable ASCII characters, no blank at either end, so it
// fits a terminal column and a Prometheus label.
inline constexpr std::size_t kMaxReleaseSize = 64;
void ValidateRelease(const std::string& field, const std::string& release);

// A peer's address as a slot's upstream lists it (non-empty, printable).
void ValidatePeerAddress(const std::string& field, const std::string& address);

// Webhooks a plan may name in notify:.
inline constexpr std::size_t kMaxNotifyUrls = 8;

// Steps, analysis, breach action and notify URLs of a plan; gates are validated by the
// gate factory. Throws InvalidArgument naming the first bad field, prefixed
// with `prefix` ("plan").
void ValidatePlan(const v1::Plan& plan, const std::string& prefix = "plan");
// A plan's notify: at most kMaxNotifyUrls http(s) URLs (part of ValidatePlan).
void ValidateNotify(const v1::Plan& plan, const std::string& prefix = "plan");

}  // namespace cutover::agent
