#include "agent/engine/judge.hpp"

#include <algorithm>
#include <cstdio>

#include "agent/core/analysis_defaults.hpp"
#include "agent/core/units.hpp"

namespace cutover::agent {

namespace {
std::string Format(const char* fmt, double a, double b) {
  char buf[160];
  std::snprintf(buf, sizeof buf, fmt, a, b);
  return buf;
}

std::uint64_t Completed(const WindowStats& w) {
  std::uint64_t n = 0;
  for (std::uint64_t c : w.latency) n += c;
  return n;
}

// The new slot's error rate over the old slot's, a clean old slot counting as
// one error in its window.
double RatioToOld(const WindowStats& new_slot, const WindowStats& old_slot) {
  const double old_rate =
      std::max(old_slot.error_rate(),
               1.0 / static_cast<double>(std::max<std::uint64_t>(old_slot.tried(), 1)));
  return new_slot.error_rate() / old_rate;
}

void AddWarnings(const v1::Analysis& a, const WindowStats& new_slot, const WindowStats& old_slot,
                 double p99_ms, std::uint64_t min_requests, Verdict* v) {
  if (a.warn_error_rate() > 0) {
    const double rate = new_slot.error_rate();
    v->warnings.push_back({"error_rate", rate > a.warn_error_rate(),
                           Format("error rate %.2f%% above the warning level %.2f%%", rate * 100,
                                  a.warn_error_rate() * 100) +
                               " (" + std::to_string(new_slot.errors()) + " errors in " +
                               std::to_string(new_slot.tried()) + " requests)"});
  }
  const double warn_p99_ms = ToMillis(FromProto(a.warn_p99()));
  if (warn_p99_ms > 0)
    v->warnings.push_back(
        {"p99", p99_ms > warn_p99_ms,
         Format("P99 %.1fms above the warning level %.1fms", p99_ms, warn_p99_ms)});
  if (a.warn_error_ratio_vs_blue() > 0 && old_slot.tried() >= min_requests) {
    const double ratio = new_slot.errors() > 0 ? RatioToOld(new_slot, old_slot) : 0.0;
    v->warnings.push_back(
        {"error_ratio_vs_blue", ratio > a.warn_error_ratio_vs_blue(),
         Format("error rate %.2f times the old slot's, above the warning level %.2f", ratio,
                a.warn_error_ratio_vs_blue())});
  }
}
// "1 request", "3 requests".
std::string Requests(std::uint64_t n) {
  return std::to_string(n) + (n == 1 ? " request" : " requests");
}

}  // namespace

double P99WithStalledMs(const WindowStats& w, double limit_ms) {
  if (w.stalled == 0 || limit_ms <= 0) return w.p99_ms;
  std::array<std::uint64_t, state::kLatencyBuckets> counts = w.latency;
  // The first bucket whose lower bound is at least the limit.
  const std::size_t limit_bucket =
      state::LatencyBucket(static_cast<std::uint64_t>(limit_ms * 1000.0));
  counts[std::min(limit_bucket + 1, state::kLatencyBuckets - 1)] += w.stalled;
  return state::LatencyQuantileUs(counts.data(), 0.99) / 1000.0;
}

Verdict JudgeWindow(const v1::Analysis& analysis, const WindowStats& new_slot,
                    const WindowStats& old_slot) {
  Verdict v;
  const std::uint64_t min_requests = std::max<std::uint64_t>(analysis.min_requests(), 1);
  const std::uint64_t min_stalled = MinStalled(analysis);
  const double max_p99_ms = ToMillis(FromProto(analysis.max_p99()));
  const std::uint64_t stalled = max_p99_ms > 0 ? new_slot.stalled : 0;
  const double p99_ms = max_p99_ms > 0 ? P99WithStalledMs(new_slot, max_p99_ms) : new_slot.p99_ms;
  v1::Measurement& m = v.measurement;
  *m.mutable_window() = analysis.window();
  m.set_requests(new_slot.requests);
  m.set_errors(new_slot.errors());
  m.set_error_rate(new_slot.error_rate());
  m.set_p99_ms(p99_ms);
  m.set_blue_error_rate(old_slot.error_rate());
  m.set_max_error_rate(analysis.max_error_rate());
  m.set_max_p99_ms(max_p99_ms);
  m.set_max_error_ratio_vs_blue(analysis.max_error_ratio_vs_blue());
  m.set_min_requests(analysis.min_requests());
  m.set_stalled(stalled);
  m.set_waiting(new_slot.waiting);
  m.set_abandoned(new_slot.abandoned);
  m.set_min_stalled(static_cast<std::uint32_t>(min_stalled));
  m.set_warn_error_rate(analysis.warn_error_rate());
  m.set_warn_p99_ms(ToMillis(FromProto(analysis.warn_p99())));
  m.set_warn_error_ratio_vs_blue(analysis.warn_error_ratio_vs_blue());

  // 1. A stall is conclusive on its own: these requests are already slower
  // than the limit, and more than 1% of what the window saw.
  const std::uint64_t seen = Completed(new_slot) + stalled;
  if (stalled >= min_stalled && stalled * 100 > seen) {
    v.kind = Verdict::Kind::kFailing;
    m.set_signal("stall");
    m.set_p99_ms(std::max(p99_ms, max_p99_ms));
    v.reason = Requests(stalled) + (stalled == 1 ? " has" : " have") + " waited longer than " +
               FormatDuration(FromProto(analysis.max_p99())) +
               " without a response: P99 at least the maximum (" + std::to_string(stalled) +
               " of " + std::to_string(seen) + " requests in the window)";
    return v;
  }
  // 2. Failed attempts count as tried even when nothing was served.
  if (new_slot.tried() < min_requests) {
    v.kind = Verdict::Kind::kInconclusive;
    v.reason = "inconclusive: " + std::to_string(new_slot.tried()) +
               " requests in the window, fewer than " + std::to_string(min_requests);
    return v;
  }
  AddWarnings(analysis, new_slot, old_slot, p99_ms, min_requests, &v);
  // 3. The thresholds.
  const double rate = new_slot.error_rate();
  if (rate > analysis.max_error_rate()) {
    v.kind = Verdict::Kind::kFailing;
    m.set_signal("error_rate");
    v.reason = Format("error rate %.2f%% above the maximum %.2f%%", rate * 100.0,
                      analysis.max_error_rate() * 100.0) +
               " (" + std::to_string(new_slot.errors()) + " errors in " +
               std::to_string(new_slot.tried()) + " requests)";
    return v;
  }
  if (max_p99_ms > 0 && p99_ms > max_p99_ms) {
    v.kind = Verdict::Kind::kFailing;
    m.set_signal("p99");
    v.reason = Format("P99 %.1fms above the maximum %.1fms", p99_ms, max_p99_ms);
    if (stalled > 0)
      v.reason += " (" + Requests(stalled) + (stalled == 1 ? " is" : " are") + " still waiting)";
    return v;
  }
  const double max_ratio = analysis.max_error_ratio_vs_blue();
  if (max_ratio > 0 && old_slot.tried() >= min_requests && new_slot.errors() > 0) {
    const double ratio = RatioToOld(new_slot, old_slot);
    if (ratio > max_ratio) {
      v.kind = Verdict::Kind::kFailing;
      m.set_signal("error_ratio_vs_blue");
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
