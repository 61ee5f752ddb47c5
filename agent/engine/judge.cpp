#include "agent/engine/judge.hpp"

#include <algorithm>
#include <cstdio>

#include "agent/core/units.hpp"

namespace cutover::agent {

namespace {
std::string Format(const char* fmt, double a, double b) {
  char buf[160];
  std::snprintf(buf, sizeof buf, fmt, a, b);
  return buf;
}
}  // namespace

Verdict JudgeWindow(const v1::Analysis& analysis, const WindowStats& new_slot,
                    const WindowStats& old_slot) {
  Verdict v;
  const std::uint64_t min_requests = std::max<std::uint64_t>(analysis.min_requests(), 1);
  v1::Measurement& m = v.measurement;
  *m.mutable_window() = analysis.window();
  m.set_requests(new_slot.requests);
  m.set_errors(new_slot.errors());
  m.set_error_rate(new_slot.error_rate());
  m.set_p99_ms(new_slot.p99_ms);
  m.set_blue_error_rate(old_slot.error_rate());
  m.set_max_error_rate(analysis.max_error_rate());
  m.set_max_p99_ms(ToMillis(FromProto(analysis.max_p99())));
  m.set_max_error_ratio_vs_blue(analysis.max_error_ratio_vs_blue());
  m.set_min_requests(analysis.min_requests());

  // Failed attempts count as tried even when nothing was served.
  if (new_slot.requests + new_slot.failures < min_requests) {
    v.kind = Verdict::Kind::kInconclusive;
    v.reason = "inconclusive: " + std::to_string(new_slot.requests + new_slot.failures) +
               " requests in the window, fewer than " + std::to_string(min_requests);
    return v;
  }
  const double rate = new_slot.error_rate();
  if (rate > analysis.max_error_rate()) {
    v.kind = Verdict::Kind::kFailing;
    v.reason = Format("error rate %.2f%% above the maximum %.2f%%", rate * 100.0,
                      analysis.max_error_rate() * 100.0) +
               " (" + std::to_string(new_slot.errors()) + " errors in " +
               std::to_string(new_slot.requests + new_slot.failures) + " requests)";
    return v;
  }
  const double max_p99_ms = m.max_p99_ms();
  if (max_p99_ms > 0 && new_slot.p99_ms > max_p99_ms) {
    v.kind = Verdict::Kind::kFailing;
    v.reason = Format("P99 %.1fms above the maximum %.1fms", new_slot.p99_ms, max_p99_ms);
    return v;
  }
  const double max_ratio = analysis.max_error_ratio_vs_blue();
  const std::uint64_t old_tried = old_slot.requests + old_slot.failures;
  if (max_ratio > 0 && old_tried >= min_requests && new_slot.errors() > 0) {
    const double old_rate = std::max(old_slot.error_rate(), 1.0 / static_cast<double>(old_tried));
    const double ratio = rate / old_rate;
    if (ratio > max_ratio) {
      v.kind = Verdict::Kind::kFailing;
      v.reason =
          Format("error rate %.2f times the old slot's, above the maximum %.2f", ratio, max_ratio) +
          Format(" (%.2f%% vs %.2f%%)", rate * 100.0, old_slot.error_rate() * 100.0);
      return v;
    }
  }
  v.kind = Verdict::Kind::kHealthy;
  return v;
}

}  // namespace cutover::agent
