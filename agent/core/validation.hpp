// Input validation for the API. Every error names the field it is about, in
// the request's own terms ("plan.steps[2].percent: ..."), so a caller can
// fix the input without reading the agent's source.
#pragma once

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

// Consecutive failing windows a plan may ask for before acting.
inline constexpr std::uint32_t kMaxFailureThreshold = 1000;

// A share of traffic: 0..100 with at most two decimals (the state file holds
// basis points). Throws InvalidArgument naming `field`.
void ValidatePercent(const std::string& field, double percent);

// A cutover name as the state file can hold it.
void ValidateCutoverName(const std::string& field, const std::string& name);

// Webhooks a plan may name in notify:.
inline constexpr std::size_t kMaxNotifyUrls = 8;

// Steps, analysis, breach action and notify URLs of a plan; gates are validated by the
// gate factory. Throws InvalidArgument naming the first bad field, prefixed
// with `prefix` ("plan").
void ValidatePlan(const v1::Plan& plan, const std::string& prefix = "plan");
// A plan's notify: at most kMaxNotifyUrls http(s) URLs (part of ValidatePlan).
void ValidateNotify(const v1::Plan& plan, const std::string& prefix = "plan");

}  // namespace cutover::agent
