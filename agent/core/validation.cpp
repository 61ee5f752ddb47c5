#include "agent/core/validation.hpp"

#include <charconv>
#include <cmath>

#include "agent/core/units.hpp"
#include "agent/core/url.hpp"
#include "cutover/percent.hpp"
#include "cutover/state_layout.hpp"

namespace cutover::agent {

namespace {

// The shortest text that reads back as exactly `v`: a refusal quotes what
// was sent ("10.0000001"), not a rounding of it ("10").
std::string Number(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "?";
}

void ValidateDuration(const std::string& field, const google::protobuf::Duration& d,
                      bool must_be_positive) {
  const bool mixed_signs = (d.seconds() > 0 && d.nanos() < 0) || (d.seconds() < 0 && d.nanos() > 0);
  if (mixed_signs || d.nanos() <= -1'000'000'000 || d.nanos() >= 1'000'000'000)
    throw InvalidArgument(field, "is not a valid duration");
  const bool negative = d.seconds() < 0 || d.nanos() < 0;
  if (negative) throw InvalidArgument(field, "must not be negative");
  if (must_be_positive && d.seconds() == 0 && d.nanos() == 0)
    throw InvalidArgument(field, "must be positive");
  if (FromProto(d) > kMaxDuration)
    throw InvalidArgument(field, "is longer than " + FormatDuration(kMaxDuration));
}

}  // namespace

void ValidatePercent(const std::string& field, double percent) {
  switch (PercentFromDouble(percent).problem) {
    case PercentProblem::kNone:
      return;
    case PercentProblem::kTooManyDecimals:
      throw InvalidArgument(field, "at most two decimals, got " + Number(percent));
    case PercentProblem::kNotFinite:
      throw InvalidArgument(field, "must be a number");
    default:
      throw InvalidArgument(field, "must be between 0 and 100, got " + Number(percent));
  }
}

void ValidateCutoverName(const std::string& field, const std::string& name) {
  if (name.empty()) throw InvalidArgument(field, "must not be empty");
  if (name.size() >= state::kNameSize)
    throw InvalidArgument(field, "longer than " + std::to_string(state::kNameSize - 1) + " bytes");
}

void ValidatePlan(const v1::Plan& plan, const std::string& prefix) {
  if (plan.steps().empty()) throw InvalidArgument(prefix + ".steps", "must not be empty");
  double previous = 0.0;
  for (int i = 0; i < plan.steps_size(); ++i) {
    const v1::Step& step = plan.steps(i);
    const std::string field = prefix + ".steps[" + std::to_string(i) + "]";
    ValidatePercent(field + ".percent", step.percent());
    if (step.percent() <= 0.0) throw InvalidArgument(field + ".percent", "must be above 0");
    if (i > 0 && step.percent() <= previous)
      throw InvalidArgument(field + ".percent", "steps must rise: " + Number(step.percent()) +
                                                    " is not above the previous step's " +
                                                    Number(previous));
    ValidateDuration(field + ".hold", step.hold(), false);
    previous = step.percent();
  }
  const std::string a = prefix + ".analysis";
  if (!plan.has_analysis()) throw InvalidArgument(a, "is required (at least a window)");
  const v1::Analysis& analysis = plan.analysis();
  ValidateDuration(a + ".window", analysis.window(), true);
  if (!std::isfinite(analysis.max_error_rate()) || analysis.max_error_rate() < 0.0 ||
      analysis.max_error_rate() > 1.0)
    throw InvalidArgument(a + ".max_error_rate",
                          "must be a fraction between 0 and 1 (0.01 is 1%), got " +
                              Number(analysis.max_error_rate()));
  ValidateDuration(a + ".max_p99", analysis.max_p99(), false);
  if (!std::isfinite(analysis.max_error_ratio_vs_blue()) ||
      analysis.max_error_ratio_vs_blue() < 0.0)
    throw InvalidArgument(
        a + ".max_error_ratio_vs_blue",
        "must be 0 (off) or positive, got " + Number(analysis.max_error_ratio_vs_blue()));
  if (analysis.failure_threshold() > kMaxFailureThreshold)
    throw InvalidArgument(a + ".failure_threshold",
                          "must be at most " + std::to_string(kMaxFailureThreshold));
  if (!v1::BreachAction_IsValid(plan.on_breach()))
    throw InvalidArgument(prefix + ".on_breach", "must be revert or pause");
  ValidateNotify(plan, prefix);
}

void ValidateNotify(const v1::Plan& plan, const std::string& prefix) {
  if (static_cast<std::size_t>(plan.notify_size()) > kMaxNotifyUrls)
    throw InvalidArgument(prefix + ".notify", "at most " + std::to_string(kMaxNotifyUrls) +
                                                  " URLs, got " +
                                                  std::to_string(plan.notify_size()));
  for (int i = 0; i < plan.notify_size(); ++i)
    if (auto problem = HttpUrlProblem(plan.notify(i)))  // never quotes the URL: it may be a secret
      throw InvalidArgument(prefix + ".notify[" + std::to_string(i) + "]", *problem);
}

}  // namespace cutover::agent
